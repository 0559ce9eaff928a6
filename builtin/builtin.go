// Package builtin declares Hangar's built-in components: train_gbdt,
// train_linear, predict, evaluate, split and validate, each a versioned
// command component whose command runs `hangar builtin <verb>` (the job
// runner puts the hangar binary on a step's PATH, so they need no Python).
// Their logic lives in packages train, batchscore and dataprep.
//
// A pipeline names one as
//
//	component: azureml://registries/hangar/components/train_gbdt/versions/1
//	component: azureml://registries/hangar/components/train_gbdt/labels/latest
//	component: hangar:train_gbdt:1        (or hangar:train_gbdt@latest, hangar:train_gbdt)
//
// and Resolver answers those references. The component YAML files are
// embedded; every call parses them afresh, so callers may change what
// they get.
package builtin

import (
	"context"
	"embed"
	"path"
	"slices"
	"strings"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
)

//go:embed components/*.yml
var files embed.FS

// Names returns the built-in components' names, sorted: the embedded
// files' names.
func Names() []string {
	ents, _ := files.ReadDir("components") // embedded: cannot fail
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yml"))
	}
	return out
}

// Latest is the version the label "latest" (and a reference without a
// version) names. Every built-in is at version 1 so far; a changed
// interface or behaviour gets a new version, and the old one stays.
const Latest = "1"

// Components returns the latest version of every built-in component,
// sorted by name (for `component list`).
func Components() []*jobspec.Component {
	var out []*jobspec.Component
	for _, n := range Names() {
		c, err := Component(n, Latest)
		if err != nil {
			panic(err) // the embedded files are checked by the tests
		}
		out = append(out, c)
	}
	return out
}

// Component returns the built-in component name at version ("" or
// "latest" for the latest). Its File is its canonical reference.
// Errors: ENOTFOUND for no such component or version.
func Component(name, version string) (*jobspec.Component, error) {
	if version == "" || version == "latest" {
		version = Latest
	}
	if names := Names(); !slices.Contains(names, name) {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "no built-in component %q (built-ins: %s)", name, strings.Join(names, ", "))
	}
	if version != Latest {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "built-in component %s has no version %q (versions: %s)", name, version, Latest)
	}
	b, err := files.ReadFile(path.Join("components", name+".yml"))
	if err != nil {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "no built-in component %q", name)
	}
	ref := jobspec.Ref{Registry: jobspec.HangarRegistry, Kind: "components", Name: name, Version: version}
	return jobspec.ParseComponent(ref.String(), b)
}

// Resolver is a jobspec.ComponentResolver that answers references to the
// built-in components (registry "hangar") and hands every other reference
// to Next.
type Resolver struct {
	// Next resolves other references; nil answers ENOTFOUND.
	Next jobspec.ComponentResolver
}

var _ jobspec.ComponentResolver = Resolver{}

// ResolveComponent implements jobspec.ComponentResolver. A built-in
// reference names a version or the label "latest".
// Errors: ENOTFOUND for an unknown built-in, version or label, and for
// any other reference when Next is nil; Next's errors.
func (r Resolver) ResolveComponent(ctx context.Context, from string, ref jobspec.Ref) (*jobspec.Component, error) {
	if ref.Registry != jobspec.HangarRegistry {
		if r.Next == nil {
			return nil, hangar.Errorf(hangar.ENOTFOUND, "component %s not found", ref)
		}
		return r.Next.ResolveComponent(ctx, from, ref)
	}
	if ref.Kind != "components" {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "registry %s holds components only, not %s: %s", jobspec.HangarRegistry, ref.Kind, ref)
	}
	if ref.Label != "" && ref.Label != "latest" {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "built-in component %s has no label %q (labels: latest)", ref.Name, ref.Label)
	}
	return Component(ref.Name, ref.Version)
}
