package jobspec

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
)

// msgOf is an error's client-safe message.
func msgOf(err error) string { return hangar.ErrorMessage(err) }

// Environment is an environment: registered (environment.schema.json),
// inline in a job or component, or a reference to a registered one.
//
// Hangar's local compute runs steps as host processes: it records Image,
// CondaFile and Build and says in the job's log that it did not apply
// them.
type Environment struct {
	// Ref is set when the environment is a reference
	// (azureml:env:1, azureml:env@latest, azureml://registries/…); the
	// other fields are then empty.
	Ref *Ref

	Name, Version, Description string
	Tags                       map[string]string
	Image                      string
	// CondaFile is the path of a conda environment file, relative to the
	// YAML file; CondaSpec is an inline conda specification (YAML text).
	CondaFile, CondaSpec string
	// Build is a Docker build context.
	Build *Build
	// OSType is linux (the default) or windows.
	OSType string
	// InferenceConfig is a custom serving container's routes: parsed,
	// so that an environment or deployment that has one is refused (Hangar
	// does not start the image's server), and recorded in a job's inline
	// environment.
	InferenceConfig map[string]any
	// Variables are the environment_variables a step run in the
	// environment gets (a Hangar extension of the v2 schema, with the key
	// Azure's jobs and v1 environments use).
	Variables map[string]string
	Line      int

	condaLine, buildLine, inferenceLine int
}

// Build is a Docker build context of an environment.
type Build struct {
	Path           string
	DockerfilePath string // default "Dockerfile"
}

// ParseEnvironment reads an environment spec (`environment create -f`).
// Errors: EINVALID, listing every problem with its file and line.
func ParseEnvironment(file string, b []byte) (*Environment, error) {
	root, err := load(file, b)
	if err != nil {
		return nil, err
	}
	d := newDecoder(file)
	env := d.environment(root, "", true)
	if env != nil && env.Name == "" {
		d.errorf(root, "name is required")
	}
	d.servedBy(env, "")
	if err := d.err(); err != nil {
		return nil, err
	}
	return env, nil
}

// environment decodes an environment: a reference string, or a mapping.
func (d *decoder) environment(n *yaml.Node, path string, top bool) *Environment {
	if n = d.deref(n); n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		r, err := ParseRef(n.Value, false)
		if err != nil {
			d.errorf(n, "%s: %s", path, msgOf(err))
			return nil
		}
		return &Environment{Ref: &r, Line: n.Line}
	}
	env := &Environment{Line: n.Line}
	var conda, osType *yaml.Node
	preview := false // Azure's preview keys (docker, path)
	fs := map[string]func(*yaml.Node){
		"name":        func(v *yaml.Node) { d.str(v, join(path, "name"), &env.Name) },
		"version":     func(v *yaml.Node) { d.str(v, join(path, "version"), &env.Version) },
		"description": func(v *yaml.Node) { d.str(v, join(path, "description"), &env.Description) },
		"tags":        func(v *yaml.Node) { d.strMap(v, join(path, "tags"), &env.Tags) },
		"image":       func(v *yaml.Node) { d.str(v, join(path, "image"), &env.Image) },
		"conda_file":  func(v *yaml.Node) { conda, env.condaLine = v, v.Line },
		"os_type":     func(v *yaml.Node) { osType = v; d.str(v, join(path, "os_type"), &env.OSType) },
		"inference_config": func(v *yaml.Node) {
			env.inferenceLine = v.Line
			d.raw(v, join(path, "inference_config"), &env.InferenceConfig)
		},
		"environment_variables": func(v *yaml.Node) {
			d.strMap(v, join(path, "environment_variables"), &env.Variables)
			if err := hangar.ValidateEnvironmentVariables(env.Variables); err != nil {
				d.errorf(v, "%s: %s", join(path, "environment_variables"), msgOf(err))
			}
		},
		"docker": func(v *yaml.Node) {
			preview = true
			d.errorf(v, "%s is Azure's preview schema: write %s", join(path, "docker"), join(path, "image"))
		},
		"path": func(v *yaml.Node) {
			preview = true
			d.errorf(v, "%s is Azure's preview schema: write %s (or %s for a Docker build context)", join(path, "path"), join(path, "image"), join(path, "build.path"))
		},
		"build": func(v *yaml.Node) {
			env.Build, env.buildLine = &Build{}, v.Line
			var pathNode, localPath *yaml.Node
			d.fields(v, join(path, "build"), map[string]func(*yaml.Node){
				"path": func(v *yaml.Node) { pathNode = v; d.str(v, join(path, "build.path"), &env.Build.Path) },
				// The older form, as code: {local_path: …} is read.
				"local_path":      func(v *yaml.Node) { localPath = v; d.str(v, join(path, "build.local_path"), &env.Build.Path) },
				"dockerfile_path": func(v *yaml.Node) { d.str(v, join(path, "build.dockerfile_path"), &env.Build.DockerfilePath) },
			})
			if pathNode != nil && localPath != nil {
				// Either could be the one meant: neither silently wins.
				d.errorf(localPath, "give one of %s and %s", join(path, "build.path"), join(path, "build.local_path"))
			}
			if env.Build.Path == "" {
				d.errorf(v, "%s needs a path (the Docker build context)", join(path, "build"))
			}
		},
	}
	if top {
		fs["$schema"] = d.schema("environment")
	}
	if !d.fields(n, path, fs) {
		return nil
	}
	if conda = d.deref(conda); conda != nil {
		switch conda.Kind {
		case yaml.ScalarNode:
			env.CondaFile = conda.Value
		case yaml.MappingNode:
			b, err := yaml.Marshal(conda)
			if err != nil {
				d.errorf(conda, "%s: %v", join(path, "conda_file"), err)
			}
			env.CondaSpec = string(b)
		default:
			d.typeErr(conda, join(path, "conda_file"), "a file path or a conda specification")
		}
	}
	switch {
	case preview:
		// The preview keys' errors say what to write instead.
	case env.Image == "" && env.Build == nil:
		d.errorf(n, "%s needs an image or a build context", nameOr(path, "the environment"))
	case env.Image != "" && env.Build != nil:
		d.errorf(n, "%s has both an image and a build context; give one", nameOr(path, "the environment"))
	case conda != nil && env.Image == "":
		d.errorf(conda, "%s needs an image to build on", join(path, "conda_file"))
	}
	if env.OSType != "" && env.OSType != "linux" && env.OSType != "windows" {
		d.errorf(osType, "%s %q is not linux or windows", join(path, "os_type"), env.OSType)
	}
	return env
}

func nameOr(path, what string) string {
	if path == "" {
		return what
	}
	return path
}

// Data is a data asset spec (data.schema.json).
type Data struct {
	Name, Version, Description string
	Tags                       map[string]string
	// Type is uri_folder (the default), uri_file or mltable.
	Type Type
	// Path is a local path (relative to the YAML file), a datastore URI
	// (azureml://datastores/<ds>/paths/<p>), a job output or a URL.
	Path string
}

// ParseData reads a data asset spec (`data create -f`).
// Errors: EINVALID, listing every problem with its file and line.
func ParseData(file string, b []byte) (*Data, error) {
	root, err := load(file, b)
	if err != nil {
		return nil, err
	}
	d := newDecoder(file)
	data := &Data{Type: URIFolder}
	var typ string
	var pathNode, typeNode *yaml.Node
	d.fields(root, "", map[string]func(*yaml.Node){
		"$schema":     d.schema("data asset"),
		"name":        func(v *yaml.Node) { d.str(v, "name", &data.Name) },
		"version":     func(v *yaml.Node) { d.str(v, "version", &data.Version) },
		"description": func(v *yaml.Node) { d.str(v, "description", &data.Description) },
		"tags":        func(v *yaml.Node) { d.strMap(v, "tags", &data.Tags) },
		"type":        func(v *yaml.Node) { typeNode = v; d.str(v, "type", &typ) },
		"path":        func(v *yaml.Node) { pathNode = v; d.str(v, "path", &data.Path) },
	})
	if typ != "" {
		if !listed("uri_file, uri_folder, mltable", typ) {
			d.errorf(typeNode, "type %q is not a data asset type (uri_file, uri_folder, mltable)", typ)
		}
		data.Type = Type(typ)
	}
	if data.Name == "" {
		d.errorf(root, "name is required")
	} else if !assetName.MatchString(data.Name) {
		d.errorf(root, "name %q: use letters, digits, _ . and -", data.Name)
	}
	if data.Version != "" && !assetVersion.MatchString(data.Version) {
		d.errorf(root, "version %q: use letters, digits, _ . and -", data.Version)
	}
	if data.Path == "" {
		d.errorf(root, "path is required")
	} else if strings.HasPrefix(data.Path, "azureml:") && !strings.HasPrefix(data.Path, "azureml://") {
		d.errorf(pathNode, "path %q: a data asset's path is a location (a local path, azureml://datastores/…, a URL), not another asset", data.Path)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return data, nil
}
