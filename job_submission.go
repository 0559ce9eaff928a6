package hangar

// JobSubmission is a job as `hangar job create` sends it (TEMPORARY: the
// job store branch defines it in job.go; this file goes at the merge).
type JobSubmission struct {
	File    string            `json:"file"`
	YAML    string            `json:"yaml"`
	Sets    []string          `json:"sets,omitempty"`
	Files   map[string]string `json:"files,omitempty"`
	Uploads map[string]Digest `json:"uploads,omitempty"`
}
