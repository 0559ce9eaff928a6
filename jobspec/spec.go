package jobspec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
)

// The normalized spec of a component is what a registered version stores
// (hangar.Component.Spec) and what its hash covers: a canonical JSON
// object of the definition — command, determinism, environment, inputs,
// outputs, distribution and resources. It leaves out what the version
// holds in fields of its own (name, version, display name, description,
// tags, the code snapshot's digest), so that the same definition hashes
// alike under any name and version, and what only the submitter's disk
// gives meaning to: the code path and additional_includes (folded into the
// snapshot) and the file and lines. Inputs and outputs are objects keyed by
// name, so their order in the file does not make a new version; they read
// back in name order.
//
// The environment is a reference string (Ref.String) or an inline object
// whose conda file is the file's text and whose build context is the
// manifest digest of the uploaded context: the caller resolves local files
// before (ComponentSpec refuses an unread conda file or a local build
// path).

// componentSpec is the JSON form of a normalized spec. Field order is the
// encoding's; encoding/json writes map keys sorted.
type componentSpec struct {
	Type            string                `json:"type"`
	Command         string                `json:"command"`
	IsDeterministic bool                  `json:"is_deterministic"`
	Environment     json.RawMessage       `json:"environment,omitempty"`
	Inputs          map[string]inputSpec  `json:"inputs,omitempty"`
	Outputs         map[string]outputSpec `json:"outputs,omitempty"`
	Distribution    map[string]any        `json:"distribution,omitempty"`
	Resources       map[string]any        `json:"resources,omitempty"`
}

type inputSpec struct {
	Type        Type     `json:"type"`
	Description string   `json:"description,omitempty"`
	Default     *string  `json:"default,omitempty"`
	Optional    bool     `json:"optional,omitempty"`
	Min         *float64 `json:"min,omitempty"`
	Max         *float64 `json:"max,omitempty"`
	Enum        []string `json:"enum,omitempty"`
	Mode        Mode     `json:"mode,omitempty"`
}

type outputSpec struct {
	Type        Type   `json:"type"`
	Description string `json:"description,omitempty"`
	Mode        Mode   `json:"mode,omitempty"`
}

type environmentSpec struct {
	Name            string            `json:"name,omitempty"`
	Version         string            `json:"version,omitempty"`
	Description     string            `json:"description,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Image           string            `json:"image,omitempty"`
	CondaFile       string            `json:"conda_file,omitempty"` // the text
	Build           *buildSpec        `json:"build,omitempty"`
	OSType          string            `json:"os_type,omitempty"`
	InferenceConfig map[string]any    `json:"inference_config,omitempty"`
	Variables       map[string]string `json:"environment_variables,omitempty"`
}

type buildSpec struct {
	Context        hangar.Digest `json:"context"`
	DockerfilePath string        `json:"dockerfile_path,omitempty"`
}

// ComponentSpec returns the normalized spec of a parsed component (see
// above). Errors: EINVALID for an inline environment whose conda file was
// not read into CondaSpec, whose build path is not a manifest digest, or
// a spec larger than hangar.MaxComponentSpecSize.
func ComponentSpec(c *Component) ([]byte, error) {
	s := componentSpec{
		Type:            "command",
		Command:         c.Command,
		IsDeterministic: c.IsDeterministic,
		Distribution:    c.Distribution,
		Resources:       c.Resources,
	}
	if env := c.Environment; env != nil {
		var v any
		if env.Ref != nil {
			v = env.Ref.String()
		} else {
			es, err := inlineEnvironmentSpec(env)
			if err != nil {
				return nil, err
			}
			v = es
		}
		b, err := marshal(v)
		if err != nil {
			return nil, err
		}
		s.Environment = b
	}
	if len(c.Inputs) > 0 {
		s.Inputs = make(map[string]inputSpec, len(c.Inputs))
		for name, in := range c.Inputs {
			is := inputSpec{Type: in.Type, Description: in.Description, Optional: in.Optional,
				Min: in.Min, Max: in.Max, Enum: in.Enum, Mode: in.Mode}
			if in.HasDefault {
				def := in.Default
				is.Default = &def
			}
			s.Inputs[name] = is
		}
	}
	if len(c.Outputs) > 0 {
		s.Outputs = make(map[string]outputSpec, len(c.Outputs))
		for name, out := range c.Outputs {
			s.Outputs[name] = outputSpec{Type: out.Type, Description: out.Description, Mode: out.Mode}
		}
	}
	b, err := marshal(s)
	if err != nil {
		return nil, err
	}
	if len(b) > hangar.MaxComponentSpecSize {
		return nil, hangar.Errorf(hangar.EINVALID, "component %s: its spec is %d bytes; the limit is %d", c.Name, len(b), hangar.MaxComponentSpecSize)
	}
	return b, nil
}

func inlineEnvironmentSpec(env *Environment) (*environmentSpec, error) {
	if env.CondaFile != "" {
		return nil, hangar.Errorf(hangar.EINVALID, "environment.conda_file %s: read the file into the spec first", env.CondaFile)
	}
	es := &environmentSpec{Name: env.Name, Version: env.Version, Description: env.Description, Tags: env.Tags,
		Image: env.Image, CondaFile: env.CondaSpec, OSType: env.OSType, InferenceConfig: env.InferenceConfig,
		Variables: env.Variables}
	if env.Build != nil {
		d, err := hangar.ParseDigest(env.Build.Path)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "environment.build.path %s: upload the build context and give its manifest digest", env.Build.Path)
		}
		es.Build = &buildSpec{Context: d, DockerfilePath: env.Build.DockerfilePath}
	}
	return es, nil
}

// marshal is json.Marshal without HTML escapes (commands hold > and &).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "encode the component spec: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ComponentFromSpec reads a normalized spec back into a component named
// name and version, checked as ParseComponent checks a file: known types
// and modes, valid input and output names, defaults that fit their
// inputs, and a command that uses only declared inputs and outputs. Its
// Template is parsed; its inputs and outputs are in name order; Code,
// AdditionalIncludes, File and lines are empty. For a component c whose
// local files were resolved, ComponentFromSpec(ComponentSpec(c)) equals c
// but for those and the order (the round trip is tested and fuzzed).
// Errors: EINVALID naming what is wrong.
func ComponentFromSpec(name, version string, spec []byte) (*Component, error) {
	file := "component " + name
	if version != "" {
		file += ":" + version
	}
	if err := hangar.CheckJSONText(spec); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: spec: %s", file, msgOf(err))
	}
	var s componentSpec
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: spec: %v", file, err)
	}
	if dec.More() {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: spec: data after the object", file)
	}
	d := newDecoder(file)
	c := &Component{Name: name, Version: version, Command: s.Command, IsDeterministic: s.IsDeterministic,
		Distribution: s.Distribution, Resources: s.Resources,
		Inputs: map[string]*Input{}, Outputs: map[string]*Output{}}
	if s.Type != "command" {
		d.errorAt(file, "type "+strconv.Quote(s.Type)+" is not supported; Hangar runs command components")
	}
	if len(s.Environment) > 0 {
		c.Environment = d.specEnvironment(s.Environment)
	}
	for _, n := range slices.Sorted(maps.Keys(s.Inputs)) {
		is := s.Inputs[n]
		path := "inputs." + n
		in := &Input{Type: is.Type, Description: is.Description, Optional: is.Optional, Min: is.Min, Max: is.Max, Enum: is.Enum, Mode: is.Mode}
		if is.Default != nil {
			in.Default, in.HasDefault = *is.Default, true
		}
		switch {
		case !d.specName(path, n):
		case !listed(inputTypes, string(in.Type)):
			d.errorAt(file, path+".type "+strconv.Quote(string(in.Type))+" is not an input type ("+inputTypes+")")
		case in.Mode != "" && !listed(inputModes, string(in.Mode)):
			d.errorAt(file, path+".mode "+strconv.Quote(string(in.Mode))+" is not an input mode ("+inputModes+")")
		case (in.Min != nil || in.Max != nil) && in.Type != Integer && in.Type != Number:
			d.errorAt(file, path+": min and max are for integer and number inputs only")
		case in.Min != nil && in.Max != nil && *in.Min > *in.Max:
			d.errorAt(file, path+": min is above max")
		case in.Enum != nil && in.Type != String:
			d.errorAt(file, path+": enum is for string inputs only")
		case in.Type.IsLiteral() && in.Mode != "":
			d.errorAt(file, path+": a literal input has no mode")
		case (in.Mode == EvalMount || in.Mode == EvalDownload) && in.Type != MLTable:
			d.errorAt(file, path+".mode "+string(in.Mode)+" is for mltable inputs only")
		case in.HasDefault && in.check(in.Default) != "":
			d.errorAt(file, path+".default: "+in.check(in.Default))
		}
		c.Inputs[n], c.InputOrder = in, append(c.InputOrder, n)
	}
	for _, n := range slices.Sorted(maps.Keys(s.Outputs)) {
		os := s.Outputs[n]
		path := "outputs." + n
		switch {
		case !d.specName(path, n):
		case !listed(outputTypes, string(os.Type)):
			d.errorAt(file, path+".type "+strconv.Quote(string(os.Type))+" is not an output type ("+outputTypes+")")
		case os.Mode != "" && !listed(outputModes, string(os.Mode)):
			d.errorAt(file, path+".mode "+strconv.Quote(string(os.Mode))+" is not an output mode ("+outputModes+")")
		}
		c.Outputs[n] = &Output{Type: os.Type, Description: os.Description, Mode: os.Mode}
		c.OutputOrder = append(c.OutputOrder, n)
	}
	if c.Command == "" {
		d.errorAt(file, "command is required")
	} else {
		c.Template = d.command(&yaml.Node{Kind: yaml.ScalarNode, Value: c.Command}, "command", c.Inputs, c.Outputs, true)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// CheckComponent checks a component version before it is stored: its
// spec reads back (ComponentFromSpec) and says what the version's own
// is_deterministic says, which reuse decisions read. Errors: EINVALID.
func CheckComponent(v *hangar.Component) error {
	c, err := ComponentFromSpec(v.Name, v.Version, []byte(v.Spec))
	if err != nil {
		return err
	}
	if c.IsDeterministic != v.IsDeterministic {
		return hangar.Errorf(hangar.EINVALID, "component %s: is_deterministic is %t but its spec says %t", v.Name, v.IsDeterministic, c.IsDeterministic)
	}
	return nil
}

func (d *decoder) specName(path, name string) bool {
	switch {
	case !isIdent(name):
		d.errorAt(d.file, path+": not a valid name (a letter or _, then letters, digits, _ or -)")
	case listed(reservedIO, strings.ToLower(name)):
		d.errorAt(d.file, path+": a reserved name ("+reservedIO+")")
	default:
		return true
	}
	return false
}

// specEnvironment reads the environment of a normalized spec: a reference
// string or an inline object.
func (d *decoder) specEnvironment(raw json.RawMessage) *Environment {
	var ref string
	if err := json.Unmarshal(raw, &ref); err == nil {
		r, err := ParseRef(ref, false)
		if err != nil {
			d.errorAt(d.file, "environment: "+msgOf(err))
			return nil
		}
		return &Environment{Ref: &r}
	}
	var es environmentSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&es); err != nil {
		d.errorAt(d.file, "environment: "+err.Error())
		return nil
	}
	env := &Environment{Name: es.Name, Version: es.Version, Description: es.Description, Tags: es.Tags,
		Image: es.Image, CondaSpec: es.CondaFile, OSType: es.OSType, InferenceConfig: es.InferenceConfig,
		Variables: es.Variables}
	if es.Build != nil {
		if _, err := hangar.ParseDigest(string(es.Build.Context)); err != nil {
			d.errorAt(d.file, "environment.build.context: "+msgOf(err))
		}
		env.Build = &Build{Path: string(es.Build.Context), DockerfilePath: es.Build.DockerfilePath}
	}
	switch {
	case env.Image == "" && env.Build == nil:
		d.errorAt(d.file, "environment needs an image or a build context")
	case env.Image != "" && env.Build != nil:
		d.errorAt(d.file, "environment has both an image and a build context")
	case env.CondaSpec != "" && env.Image == "":
		d.errorAt(d.file, "environment.conda_file needs an image to build on")
	}
	if env.OSType != "" && env.OSType != "linux" && env.OSType != "windows" {
		d.errorAt(d.file, "environment.os_type "+strconv.Quote(env.OSType)+" is not linux or windows")
	}
	if err := hangar.ValidateEnvironmentVariables(env.Variables); err != nil {
		d.errorAt(d.file, "environment.environment_variables: "+msgOf(err))
	}
	return env
}

// ComponentStore is what Registered reads of registered components:
// hangar.ComponentService's reads (the HTTP client and the SQL store
// implement it).
type ComponentStore interface {
	Component(ctx context.Context, workspace, name, version string) (*hangar.Component, error)
	LatestComponent(ctx context.Context, workspace, name string) (*hangar.Component, error)
}

// Registered is a ComponentResolver of a workspace's registered
// components: azureml:<name>:<version>, azureml:<name>@latest and
// azureml:<name> (the latest version, as Azure resolves it), and their
// unprefixed forms. The component it returns is read from the stored spec
// (ComponentFromSpec) with the version's resolved Version, display name,
// description and tags; its Code is the code snapshot's manifest digest
// (not a local path: IsLocal is false for it) and File is the canonical
// reference, for messages. Registry references are not its (ENOTFOUND:
// put a resolver of them, e.g. the built-ins, in front).
type Registered struct {
	Store     ComponentStore
	Workspace string
}

var _ ComponentResolver = Registered{}

// ResolveComponent implements ComponentResolver. Errors: ENOTFOUND for no
// such component or version, EINVALID for a file reference or a label
// other than latest, and a stored spec that does not read back.
func (r Registered) ResolveComponent(ctx context.Context, _ string, ref Ref) (*Component, error) {
	switch {
	case ref.IsFile():
		return nil, hangar.Errorf(hangar.EINVALID, "component %s is a file, not a registered component", ref)
	case ref.Registry != "":
		return nil, hangar.Errorf(hangar.ENOTFOUND, "component %s not found: registry %s is not known here", ref, ref.Registry)
	case ref.Label != "" && ref.Label != hangar.LatestLabel:
		return nil, hangar.Errorf(hangar.EINVALID, "component %s: the only label is %s", ref, hangar.LatestLabel)
	}
	var v *hangar.Component
	var err error
	if ref.Version != "" {
		v, err = r.Store.Component(ctx, r.Workspace, ref.Name, ref.Version)
	} else {
		v, err = r.Store.LatestComponent(ctx, r.Workspace, ref.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve component %s: %w", ref, err)
	}
	c, err := ComponentFromSpec(v.Name, v.Version, []byte(v.Spec))
	if err != nil {
		return nil, err
	}
	c.DisplayName, c.Description, c.Tags = v.DisplayName, v.Description, v.Tags
	c.Code = string(v.Code)
	c.File = Ref{Name: v.Name, Version: v.Version}.String()
	return c, nil
}
