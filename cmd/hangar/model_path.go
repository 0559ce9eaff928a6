package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/mlflow"
	"github.com/hangar-ml/hangar/mlmodel"
)

// Model types, as Azure ML's model YAML has them.
var modelTypes = []string{"custom_model", "mlflow_model", "triton_model"}

// modelSpec is Azure ML's model YAML (model.schema.json), the fields
// Hangar reads; others are refused by name.
type modelSpec struct {
	Schema      string            `yaml:"$schema"`
	Name        string            `yaml:"name"`
	Version     string            `yaml:"version"`
	Path        string            `yaml:"path"`
	Type        string            `yaml:"type"`
	Description string            `yaml:"description"`
	Tags        map[string]string `yaml:"tags"`
	Properties  map[string]string `yaml:"properties"`
	Stage       string            `yaml:"stage"`
}

// readModelSpec reads a model YAML; a relative path is made relative to
// the YAML's folder.
func readModelSpec(file string) (*modelSpec, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "read the model file: %v", err)
	}
	var m modelSpec
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: %v", file, err)
	}
	if m.Path != "" && isLocalModelPath(m.Path) && !filepath.IsAbs(m.Path) {
		m.Path = filepath.Join(filepath.Dir(file), filepath.FromSlash(m.Path))
	}
	return &m, nil
}

func isLocalModelPath(p string) bool {
	return !strings.Contains(p, ":/") && !strings.HasPrefix(p, "azureml:")
}

// modelFiles is what `model create --path` registers: the files in a
// local folder, and where they go.
type modelFiles struct {
	dir   string // the local folder holding the model's files
	clean func()
	// runID and artifactPath, when set, name the run whose artifacts the
	// files become (a job output: the job's run).
	runID, artifactPath string
}

// stagePath makes a --path ready to register: a job output is fetched
// from the blob store (to be logged to the job's run), a local file or
// folder is used as it is.
func stagePath(ctx context.Context, cli *clientConfig, p string) (*modelFiles, error) {
	switch {
	case strings.HasPrefix(p, "azureml://jobs/"):
		jobName, out, ok := strings.Cut(strings.TrimPrefix(p, "azureml://jobs/"), "/outputs/")
		out = strings.Trim(out, "/")
		if !ok || jobName == "" || out == "" {
			return nil, invalidf("--path %q: want azureml://jobs/<job>/outputs/<output>", p)
		}
		c, err := cli.client()
		if err != nil {
			return nil, err
		}
		j, err := c.Job(ctx, cli.Workspace, jobName)
		if err != nil {
			return nil, err
		}
		o, ok := j.Outputs[out]
		if !ok || o.Manifest == "" {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "job %s (%s) has no output %q", jobName, j.Status, out)
		}
		if j.RunID == "" {
			return nil, hangar.Errorf(hangar.EINVALID, "job %s has no MLflow run to register the model from", jobName)
		}
		tmp, err := os.MkdirTemp("", "hangar-model-")
		if err != nil {
			return nil, err
		}
		if err := artifact.GetDir(ctx, c.BlobStore(cli.Workspace), o.Manifest, tmp); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		return &modelFiles{dir: tmp, clean: func() { os.RemoveAll(tmp) }, runID: j.RunID, artifactPath: out}, nil
	case isLocalModelPath(p):
		fi, err := os.Stat(p)
		if err != nil {
			return nil, invalidf("--path %s: %v", p, err)
		}
		if fi.IsDir() {
			return &modelFiles{dir: p, clean: func() {}}, nil
		}
		// A single file is a folder of that one file.
		tmp, err := os.MkdirTemp("", "hangar-model-")
		if err != nil {
			return nil, err
		}
		if err := copyFile(p, filepath.Join(tmp, filepath.Base(p))); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		return &modelFiles{dir: tmp, clean: func() { os.RemoveAll(tmp) }}, nil
	}
	return nil, invalidf("--path %q: want a local file or folder, azureml://jobs/<job>/outputs/<output> or runs:/<run>/<path>", p)
}

// describeModel reads what a model folder says of itself: its type is
// checked (an mlflow_model has an MLmodel file), and its flavors, signature
// and size become tags of the version.
func describeModel(dir, typ string) (map[string]string, error) {
	var size int64
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			size += fi.Size()
			files++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if files == 0 {
		return nil, invalidf("the model folder %s holds no file", dir)
	}
	tags := map[string]string{"hangar.model_type": typ, "hangar.size_bytes": strconv.FormatInt(size, 10), "hangar.file_count": strconv.Itoa(files)}
	m, err := mlmodel.Read(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || hangar.ErrorCode(err) == hangar.ENOTFOUND:
		if typ == "mlflow_model" {
			return nil, invalidf("an mlflow_model folder has an MLmodel file at its root; %s has none (use --type custom_model)", dir)
		}
	case err != nil:
		return nil, invalidf("MLmodel: %v", err)
	default:
		var flavors []string
		for f := range m.Flavors {
			flavors = append(flavors, f)
		}
		sort.Strings(flavors)
		tags["hangar.flavors"] = strings.Join(flavors, ",")
		if m.Signature != nil {
			tags["hangar.signature"] = "inputs " + truncateValue(m.Signature.Inputs, 500)
		}
	}
	return tags, nil
}

func truncateValue(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// uploadModel logs the folder's files as artifacts of the job's run, or,
// for local files, to the artifact store under models/<name>/<id>, and
// returns the source to register.
func uploadModel(ctx context.Context, c *mlflow.Client, name string, mf *modelFiles) (source, runID string, err error) {
	if mf.runID != "" {
		run, err := c.GetRun(ctx, mf.runID)
		if err != nil {
			return "", "", err
		}
		root := strings.TrimRight(run.Info.ArtifactURI, "/")
		if err := c.LogArtifacts(ctx, root, mf.dir, mf.artifactPath); err != nil {
			return "", "", fmt.Errorf("log the model to run %s: %w", mf.runID, err)
		}
		return root + "/" + mf.artifactPath, mf.runID, nil
	}
	root := "mlflow-artifacts:/models/" + name + "/" + hangar.NewID()
	if err := c.LogArtifacts(ctx, root, mf.dir, ""); err != nil {
		return "", "", fmt.Errorf("upload the model: %w", err)
	}
	return root, "", nil
}
