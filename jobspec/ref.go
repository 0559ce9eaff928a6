package jobspec

import (
	"regexp"
	"strings"

	"github.com/hangar-ml/hangar"
)

// Ref is a reference to an asset (a component, environment or data asset)
// in one of the forms Azure ML's YAML accepts:
//
//	azureml:<name>:<version>          explicit version
//	azureml:<name>@latest             latest version (any label after @)
//	azureml:<name>                    the asset by name alone (no version)
//	<name>:<version>, <name>@latest   the same without the prefix (component: only)
//	azureml://registries/<r>/<kind>/<name>/versions/<v>   (or /labels/<l>)
//	azureml:/subscriptions/…/<kind>/<name>/versions/<v>   long-hand ARM id
//	./train.yml, file:./train.yml     a YAML file, relative to the referring file
//	hangar:<name>:<version>, hangar:<name>@<label>, hangar:<name>
//	                                  short for azureml://registries/hangar/components/…
//	                                  (component: only; no version means @latest)
type Ref struct {
	// Registry is set for azureml://registries/<registry>/… references,
	// with the kind of asset its path names ("components", "environments",
	// "models" or "data").
	Registry, Kind string
	// Name and Version (or Label, e.g. "latest") name a registered asset.
	Name, Version, Label string
	// File is the path of a YAML file (file references only), as written
	// minus any "file:" prefix.
	File string
}

// IsFile reports whether the reference names a local YAML file.
func (r Ref) IsFile() bool { return r.File != "" }

// String is the canonical form: the file path, azureml://registries/…,
// azureml:name:version or azureml:name@label.
func (r Ref) String() string {
	switch {
	case r.File != "":
		return r.File
	case r.Registry != "":
		tail := "/versions/" + r.Version
		if r.Label != "" {
			tail = "/labels/" + r.Label
		}
		return "azureml://registries/" + r.Registry + "/" + r.Kind + "/" + r.Name + tail
	case r.Label != "":
		return "azureml:" + r.Name + "@" + r.Label
	case r.Version != "":
		return "azureml:" + r.Name + ":" + r.Version
	}
	return "azureml:" + r.Name
}

// Curated reports whether the reference names one of Azure's curated
// environments: one of registry azureml
// (azureml://registries/azureml/environments/…), or an AzureML-… name,
// the workspace-scoped form of the same environments. Hangar has not
// their images; a workspace may still register an environment of such a
// name, so a caller looks the name up before standing in for it.
func (r Ref) Curated() bool {
	return r.File == "" && (r.Registry == "azureml" || (r.Registry == "" && strings.HasPrefix(r.Name, "AzureML-")))
}

// HangarRegistry is the registry of Hangar's built-in components:
// azureml://registries/hangar/components/<name>/versions/<v>, or
// hangar:<name>:<v> for short.
const HangarRegistry = "hangar"

var (
	assetName    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}$`)
	assetVersion = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$`)
	registryRef  = regexp.MustCompile(`^azureml://registries/([^/]+)/(components|environments|models|data)/([^/]+)/(versions|labels)/([^/]+)$`)
	armRef       = regexp.MustCompile(`^azureml:/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+/(components|environments|models|data)/([^/]+)/versions/([^/]+)$`)
)

// ParseRef parses an asset reference. With files true (the component: key
// of a pipeline step), unprefixed name:version and name@label forms, file
// paths and the hangar: short form of a built-in component are references
// too; elsewhere a string without "azureml:" is not a reference (ParseRef
// returns EINVALID).
func ParseRef(s string, files bool) (Ref, error) {
	switch {
	case strings.HasPrefix(s, "azureml://registries/"):
		m := registryRef.FindStringSubmatch(s)
		if m == nil {
			return Ref{}, hangar.Errorf(hangar.EINVALID, "registry reference %q: want azureml://registries/<registry>/<kind>/<name>/versions/<version> or …/labels/<label>", s)
		}
		r := Ref{Registry: m[1], Kind: m[2], Name: m[3]}
		if m[4] == "versions" {
			r.Version = m[5]
		} else {
			r.Label = m[5]
		}
		if err := checkRef(s, r); err != nil {
			return Ref{}, err
		}
		return r, nil
	case strings.HasPrefix(s, "azureml:/"):
		m := armRef.FindStringSubmatch(s)
		if m == nil {
			return Ref{}, hangar.Errorf(hangar.EINVALID, "reference %q: want azureml:<name>:<version>, azureml:<name>@latest or an azureml:/subscriptions/… resource id", s)
		}
		r := Ref{Name: m[2], Version: m[3]}
		if err := checkRef(s, r); err != nil {
			return Ref{}, err
		}
		return r, nil
	case strings.HasPrefix(s, "azureml:"):
		return nameRef(s, strings.TrimPrefix(s, "azureml:"))
	case !files:
		return Ref{}, hangar.Errorf(hangar.EINVALID, "%q is not a reference: want azureml:<name>:<version> or azureml:<name>@latest", s)
	case strings.HasPrefix(s, HangarRegistry+":"):
		return hangarRef(s)
	case strings.HasPrefix(s, "file:"):
		p := strings.TrimPrefix(s, "file:")
		if p == "" {
			return Ref{}, hangar.Errorf(hangar.EINVALID, "file reference %q names no file", s)
		}
		return Ref{File: p}, nil
	case isPath(s):
		return Ref{File: s}, nil
	}
	return nameRef(s, s)
}

// isPath reports whether an unprefixed component reference is a file:
// it has a slash or ends in .yml/.yaml.
func isPath(s string) bool {
	l := strings.ToLower(s)
	return strings.ContainsAny(s, `/\`) || strings.HasSuffix(l, ".yml") || strings.HasSuffix(l, ".yaml")
}

func nameRef(orig, s string) (Ref, error) {
	var r Ref
	if name, label, ok := strings.Cut(s, "@"); ok {
		if label == "" {
			return Ref{}, hangar.Errorf(hangar.EINVALID, "reference %q: no label after @ (e.g. @latest)", orig)
		}
		r = Ref{Name: name, Label: label}
	} else if name, version, ok := strings.Cut(s, ":"); ok {
		if version == "" {
			return Ref{}, hangar.Errorf(hangar.EINVALID, "reference %q: no version after the colon", orig)
		}
		r = Ref{Name: name, Version: version}
	} else {
		r = Ref{Name: s}
	}
	if err := checkRef(orig, r); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// hangarRef parses the short form of a built-in component reference,
// hangar:<name>[:<version>|@<label>], into the registry reference it
// stands for; a bare name means the latest version.
func hangarRef(s string) (Ref, error) {
	r, err := nameRef(s, strings.TrimPrefix(s, HangarRegistry+":"))
	if err != nil {
		return Ref{}, err
	}
	if r.Version == "" && r.Label == "" {
		r.Label = "latest"
	}
	r.Registry, r.Kind = HangarRegistry, "components"
	return r, nil
}

func checkRef(orig string, r Ref) error {
	switch {
	case !assetName.MatchString(r.Name):
		return hangar.Errorf(hangar.EINVALID, "reference %q: %q is not an asset name (letters, digits, _ . -)", orig, r.Name)
	case r.Version != "" && !assetVersion.MatchString(r.Version):
		return hangar.Errorf(hangar.EINVALID, "reference %q: %q is not a version", orig, r.Version)
	case r.Label != "" && !assetVersion.MatchString(r.Label):
		return hangar.Errorf(hangar.EINVALID, "reference %q: %q is not a label", orig, r.Label)
	}
	return nil
}
