package mlflow

// FileInfo is one entry of an artifact listing: MLflow's FileInfo. In the
// proxy's listing (GET mlflow-artifacts/artifacts?path=) Path is the
// basename; in artifacts/list it is relative to the run's artifact root.
// IsDir is always sent (the Python client reads f["is_dir"]); FileSize
// only for files.
type FileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *Int64 `json:"file_size,omitempty"`
}

// ListArtifactsResponse is the answer of both artifact listings: the proxy's
// has Files only ({} when there are none), artifacts/list also RootURI.
type ListArtifactsResponse struct {
	RootURI       string     `json:"root_uri,omitempty"`
	Files         []FileInfo `json:"files,omitempty"`
	NextPageToken string     `json:"next_page_token,omitempty"`
}

// UnsupportedMultipartMessage is MLflow's message for a multipart upload
// the artifact store cannot do (_UnsupportedMultipartUploadException): its
// client matches this prefix of a 501 NOT_IMPLEMENTED to fall back to one
// plain PUT.
const UnsupportedMultipartMessage = "Multipart upload is not supported for the current artifact repository"
