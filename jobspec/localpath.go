package jobspec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// LocalPath is a path in a spec that names something on the submitter's
// disk: a code folder, a conda file, a build context, a local input path.
type LocalPath struct {
	// Key says where the path is written: "code",
	// "jobs.train.environment.conda_file", "inputs.raw.path".
	Key string
	// Path is as written, relative to the spec's file unless absolute.
	Path string
	Line int
}

var uriScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)

// IsLocal reports whether a path names a local file or folder: it is not
// empty, not an azureml: reference and has no URI scheme (https:,
// wasbs:, runs:, …). A Windows drive letter (C:\…) is local.
func IsLocal(p string) bool {
	if p == "" || strings.HasPrefix(p, "azureml:") || strings.HasPrefix(p, "${{") {
		return false
	}
	if len(p) >= 2 && p[1] == ':' && (len(p) == 2 || p[2] == '\\' || p[2] == '/') {
		return true
	}
	return !uriScheme.MatchString(p)
}

// LocalPaths lists the local paths of a job and of its steps (those of
// components loaded from files are the components' own: see
// Component.LocalPaths), in file order.
func (j *Job) LocalPaths() []LocalPath {
	var out []LocalPath
	j.localPaths("", &out)
	return out
}

func (j *Job) localPaths(prefix string, out *[]LocalPath) {
	if IsLocal(j.Code) {
		*out = append(*out, LocalPath{prefix + "code", j.Code, j.codeLine})
	}
	j.Environment.localPaths(prefix+"environment.", out)
	if prefix == "" {
		j.Settings.DefaultEnvironment.localPaths("settings.environment.", out)
	}
	for _, name := range j.InputOrder {
		if in := j.Inputs[name]; IsLocal(in.Path) {
			*out = append(*out, LocalPath{prefix + "inputs." + name + ".path", in.Path, in.Line})
		}
	}
	if j.Component != nil {
		for _, p := range j.Component.LocalPaths() {
			p.Key = prefix + "component." + p.Key
			*out = append(*out, p)
		}
	}
	for _, name := range j.JobOrder {
		j.Jobs[name].localPaths("jobs."+name+".", out)
	}
}

// LocalPaths lists the local paths of a component, relative to its File.
func (c *Component) LocalPaths() []LocalPath {
	var out []LocalPath
	if IsLocal(c.Code) {
		out = append(out, LocalPath{"code", c.Code, c.codeLine})
	}
	for _, p := range c.AdditionalIncludes {
		if IsLocal(p) {
			out = append(out, LocalPath{"additional_includes", p, c.Line})
		}
	}
	c.Environment.localPaths("environment.", &out)
	return out
}

// LocalPaths lists the local paths of an environment: its conda file and
// build context.
func (e *Environment) LocalPaths() []LocalPath {
	var out []LocalPath
	e.localPaths("", &out)
	return out
}

func (e *Environment) localPaths(prefix string, out *[]LocalPath) {
	if e == nil {
		return
	}
	if IsLocal(e.CondaFile) {
		*out = append(*out, LocalPath{prefix + "conda_file", e.CondaFile, e.condaLine})
	}
	if e.Build != nil && IsLocal(e.Build.Path) {
		*out = append(*out, LocalPath{prefix + "build.path", e.Build.Path, e.buildLine})
	}
}

// CheckLocalPaths reports every path that does not exist, relative to the
// folder of file (the spec they come from), each with the file and line.
// Errors: EINVALID listing the missing paths.
func CheckLocalPaths(file string, paths []LocalPath) error {
	d := newDecoder(file)
	for _, p := range paths {
		full := filepath.FromSlash(p.Path)
		if !filepath.IsAbs(full) {
			full = filepath.Join(filepath.Dir(file), full)
		}
		if _, err := os.Stat(full); errors.Is(err, fs.ErrNotExist) {
			d.errorAt(d.posLine(p.Line), p.Key+": "+p.Path+" does not exist")
		} else if err != nil {
			d.errorAt(d.posLine(p.Line), p.Key+": "+p.Path+": "+err.Error())
		}
	}
	return d.err()
}
