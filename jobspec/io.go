package jobspec

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Type is the type of an input or output (reference §2.2).
type Type string

// The types of inputs and outputs. The first six are data (a path); the
// last four are literals (a value).
const (
	URIFile     Type = "uri_file"
	URIFolder   Type = "uri_folder"
	MLTable     Type = "mltable"
	MLflowModel Type = "mlflow_model"
	CustomModel Type = "custom_model"
	TritonModel Type = "triton_model"
	Integer     Type = "integer"
	Number      Type = "number"
	String      Type = "string"
	Boolean     Type = "boolean"
)

// IsData reports whether the type is a data type, whose value is a path.
func (t Type) IsData() bool {
	switch t {
	case URIFile, URIFolder, MLTable, MLflowModel, CustomModel, TritonModel:
		return true
	}
	return false
}

// IsLiteral reports whether the type is a literal type.
func (t Type) IsLiteral() bool {
	switch t {
	case Integer, Number, String, Boolean:
		return true
	}
	return false
}

// The names of valid types and modes, for membership tests and messages.
const (
	inputTypes  = "uri_file, uri_folder, mltable, mlflow_model, custom_model, triton_model, integer, number, string, boolean"
	outputTypes = "uri_folder, uri_file, mltable, mlflow_model, custom_model, triton_model"
	inputModes  = "ro_mount, download, direct, eval_mount, eval_download, rw_mount"
	outputModes = "rw_mount, upload, direct"
	// reservedIO are names Azure refuses for inputs and outputs: they
	// would shadow environment variables of the step.
	reservedIO = "path, ld_library_path, user, logname, home, pwd, shell"
)

// listed reports whether s is one of the names of a ", "-separated list.
func listed(list, s string) bool {
	return s != "" && slices.Contains(strings.Split(list, ", "), s)
}

// Mode is how a data input or output reaches the step (reference §2.2).
//
// Hangar's local executor gives every data input as a local path: ro_mount
// (Azure's default) and download both become a read-only local copy,
// eval_mount and eval_download (MLTable only) are staged like download,
// and direct hands the step the URI itself, unstaged. Every output mode
// (rw_mount, the default; upload; direct) is a local folder the step
// writes and Hangar uploads when it ends; Azure's difference between
// writing through a mount and copying at the end does not exist locally.
type Mode string

// The input and output modes.
const (
	ROMount      Mode = "ro_mount"
	RWMount      Mode = "rw_mount"
	Download     Mode = "download"
	Upload       Mode = "upload"
	Direct       Mode = "direct"
	EvalMount    Mode = "eval_mount"
	EvalDownload Mode = "eval_download"
)

// Staged reports whether the local executor gives an input in this mode
// as a local path (every mode but direct).
func (m Mode) Staged() bool { return m != Direct }

// Input is one input: declared by a component (Type, Default, Optional,
// Min, Max, Enum) or given by a job (a literal Value, a data Path, or a
// Bind to the parent pipeline's inputs or another step's outputs).
type Input struct {
	// Type is the declared or given type; empty for a step's input given
	// a path without a type, which takes the type its component declares
	// (uri_folder for an inline step).
	Type        Type
	Description string
	// Value is a literal's value as written in the YAML (true/false for
	// booleans); HasValue tells an empty string from no value.
	Value    string
	HasValue bool
	// Path is a data input's path or asset reference (azureml:data:1,
	// azureml://datastores/…, https://…, or a local path).
	Path string
	Mode Mode
	// Default, when HasDefault, is the value used when none is given.
	Default    string
	HasDefault bool
	Optional   bool
	Min, Max   *float64
	Enum       []string
	// Bind is the ${{parent.…}} expression a pipeline step's input is
	// bound to, or nil.
	Bind Expr
	// Line is where the input is in its file.
	Line int
}

// Given reports whether the input has a value: a literal, a path, a
// binding or a default.
func (in *Input) Given() bool {
	return in.HasValue || in.Path != "" || in.Bind != nil || in.HasDefault
}

// Output is one output: declared by a component, or configured by a job
// (where to write, how, and whether to register it as a data asset).
type Output struct {
	Type        Type
	Description string
	// Path is where the output goes (azureml://datastores/…/paths/…, may
	// hold ${{name}} and ${{output_name}}); "" for the default place.
	Path string
	Mode Mode
	// Name and Version, when set, register the output as a data asset.
	Name, Version string
	// Bind is the ${{parent.outputs.…}} expression a pipeline step's
	// output is bound to, or nil.
	Bind Expr
	Line int
}

// ioContext says where an input or output is declared, which decides the
// keys it may have.
type ioContext int

const (
	inComponent ioContext = iota // a component's interface
	inJob                        // a command job or a pipeline's own inputs
	inStep                       // a step of a pipeline job
)

func (d *decoder) ioName(k *yaml.Node, path string) bool {
	switch {
	case !isIdent(k.Value):
		d.errorf(k, "%s: %q is not a valid name (a letter or _, then letters, digits, _ or -)", path, k.Value)
		return false
	case listed(reservedIO, strings.ToLower(k.Value)):
		d.errorf(k, "%s: %q is a reserved name (%s)", path, k.Value, reservedIO)
		return false
	}
	return true
}

// inputs decodes a map of inputs.
func (d *decoder) inputs(n *yaml.Node, path string, ctx ioContext, order *[]string) map[string]*Input {
	m := map[string]*Input{}
	d.entries(n, path, func(k, v *yaml.Node) {
		if !d.ioName(k, path) {
			return
		}
		if in := d.input(v, join(path, k.Value), ctx); in != nil {
			in.Line = k.Line
			m[k.Value] = in
			if order != nil {
				*order = append(*order, k.Value)
			}
		}
	})
	return m
}

// literalType is the type a YAML scalar's tag implies.
func literalType(n *yaml.Node) Type {
	switch n.Tag {
	case "!!int":
		return Integer
	case "!!float":
		return Number
	case "!!bool":
		return Boolean
	}
	return String
}

func (d *decoder) input(n *yaml.Node, path string, ctx ioContext) *Input {
	if n = d.deref(n); n == nil {
		return nil
	}
	in := &Input{}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		if ctx == inComponent {
			d.errorf(n, "%s must be a mapping with a type (e.g. {type: uri_folder}), not %s", path, describe(n))
			return nil
		}
		// A plain value: a binding (steps), or a literal.
		if d.searchSpaceInputs {
			if m := searchSpaceExpr.FindStringSubmatch(n.Value); m != nil && m[0] == strings.TrimSpace(n.Value) {
				in.Bind = Expr{"search_space", m[1]}
				return in
			}
		}
		if strings.Contains(n.Value, "${{") {
			if ctx != inStep {
				d.errorf(n, "%s: %s: ${{…}} bindings are for the inputs of a pipeline's steps", path, n.Value)
				// Kept as a value so the command's use of it is not
				// reported too.
				in.Type, in.Value, in.HasValue = String, n.Value, true
				return in
			}
			in.Bind = d.binding(n, path, false)
			return in
		}
		in.Type, in.Value, in.HasValue = literalType(n), n.Value, true
		return in
	}
	var typ, mode string
	var older Type // the type of an older {file: …} or {folder: …}
	var value, def *yaml.Node
	fs := map[string]func(*yaml.Node){
		"type":        func(v *yaml.Node) { d.str(v, join(path, "type"), &typ) },
		"description": func(v *yaml.Node) { d.str(v, join(path, "description"), &in.Description) },
		"optional":    func(v *yaml.Node) { d.boolean(v, join(path, "optional"), &in.Optional) },
		"default":     func(v *yaml.Node) { def = v },
		"mode":        func(v *yaml.Node) { d.str(v, join(path, "mode"), &mode) },
	}
	if ctx == inComponent {
		fs["min"] = func(v *yaml.Node) { in.Min = d.bound(v, join(path, "min")) }
		fs["max"] = func(v *yaml.Node) { in.Max = d.bound(v, join(path, "max")) }
		fs["enum"] = func(v *yaml.Node) { d.strList(v, join(path, "enum"), &in.Enum) }
	} else {
		fs["path"] = func(v *yaml.Node) {
			if ctx == inStep {
				if s, ok := d.scalar(v, join(path, "path"), "a string"); ok && strings.Contains(s, "${{") {
					in.Bind = d.binding(v, join(path, "path"), false)
					return
				}
			}
			if older != "" {
				d.errorf(v, "%s: give one of path, file and folder", path)
				return
			}
			d.str(v, join(path, "path"), &in.Path)
		}
		fs["value"] = func(v *yaml.Node) { value = v }
		// The older forms {file: …} and {folder: …} (Azure's early
		// examples still write them) are a path of that type.
		for key, t := range map[string]Type{"file": URIFile, "folder": URIFolder} {
			fs[key] = func(v *yaml.Node) {
				if older != "" || in.Path != "" {
					d.errorf(v, "%s: give one of path, file and folder", path)
					return
				}
				d.str(v, join(path, key), &in.Path)
				older = t
			}
		}
	}
	if !d.fields(n, path, fs) {
		return nil
	}
	if older != "" && typ == "" {
		typ = string(older)
	}
	if typ != "" {
		if !listed(inputTypes, typ) {
			d.errorf(n, "%s.type %q is not an input type (%s)", path, typ, inputTypes)
			return nil
		}
		in.Type = Type(typ)
	}
	if mode != "" {
		if !listed(inputModes, mode) {
			d.errorf(n, "%s.mode %q is not an input mode (%s)", path, mode, inputModes)
		}
		in.Mode = Mode(mode)
		if (in.Mode == EvalMount || in.Mode == EvalDownload) && in.Type != MLTable {
			d.errorf(n, "%s.mode %s is for mltable inputs only", path, mode)
		}
	}
	if in.Type == "" && ctx == inComponent {
		d.errorf(n, "%s has no type", path)
		return nil
	}
	if in.Type == "" {
		switch {
		case value != nil:
			in.Type = literalType(d.deref(value))
		case def != nil:
			in.Type = literalType(d.deref(def))
		case ctx == inStep:
			// The component's declared type applies; an inline step's
			// path is a uri_folder (Type left empty).
		default:
			in.Type = URIFolder // Azure's default input type
		}
	}
	if in.Type.IsLiteral() && (in.Path != "" || in.Mode != "") {
		d.errorf(n, "%s: %s input takes a value, not a path or mode", path, article(in.Type))
	}
	if value != nil {
		if s, ok := d.literal(value, join(path, "value"), in.Type); ok {
			in.Value, in.HasValue = s, true
		}
	}
	if def != nil {
		if s, ok := d.literal(def, join(path, "default"), in.Type); ok {
			in.Default, in.HasDefault = s, true
		}
	}
	if in.Type.IsData() && (in.HasValue || (in.HasDefault && ctx != inComponent)) {
		d.errorf(n, "%s: %s input takes a path, not a value", path, article(in.Type))
	}
	if in.Min != nil && in.Max != nil && *in.Min > *in.Max {
		d.errorf(n, "%s: min %v is above max %v", path, *in.Min, *in.Max)
	}
	if (in.Min != nil || in.Max != nil) && in.Type != Integer && in.Type != Number {
		d.errorf(n, "%s: min and max are for integer and number inputs only", path)
	}
	if in.Enum != nil && in.Type != String {
		d.errorf(n, "%s: enum is for string inputs only", path)
	}
	if in.HasDefault {
		if msg := in.check(in.Default); msg != "" {
			d.errorf(def, "%s.default: %s", path, msg)
		}
	}
	return in
}

func (d *decoder) bound(n *yaml.Node, path string) *float64 {
	if v, ok := d.number(n, path); ok {
		return &v
	}
	return nil
}

// literal decodes a scalar as a value of a literal type; for data types it
// returns the text unchecked (the caller refuses it).
func (d *decoder) literal(n *yaml.Node, path string, t Type) (string, bool) {
	if n = d.deref(n); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.typeErr(n, path, "a value")
		return "", false
	}
	if msg := checkLiteral(t, n.Value); msg != "" {
		d.errorf(n, "%s: %s", path, msg)
		return "", false
	}
	return n.Value, true
}

// checkLiteral says what is wrong with v as a value of type t, or "".
func checkLiteral(t Type, v string) string {
	switch t {
	case Integer:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return strconv.Quote(v) + " is not an integer"
		}
	case Number:
		if f, err := strconv.ParseFloat(v, 64); err != nil || math.IsNaN(f) {
			return strconv.Quote(v) + " is not a number"
		}
	case Boolean:
		if _, ok := parseBool(v); !ok {
			return strconv.Quote(v) + " is not true or false"
		}
	}
	return ""
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// check says what is wrong with v as a value of this declared input (its
// type, min, max and enum), or "".
func (in *Input) check(v string) string {
	if msg := checkLiteral(in.Type, v); msg != "" {
		return msg
	}
	if in.Type == Integer || in.Type == Number {
		f, _ := strconv.ParseFloat(v, 64)
		if in.Min != nil && f < *in.Min {
			return v + " is below the minimum " + strconv.FormatFloat(*in.Min, 'g', -1, 64)
		}
		if in.Max != nil && f > *in.Max {
			return v + " is above the maximum " + strconv.FormatFloat(*in.Max, 'g', -1, 64)
		}
	}
	if in.Enum != nil && !slices.Contains(in.Enum, v) {
		return strconv.Quote(v) + " is not one of " + strings.Join(in.Enum, ", ")
	}
	return ""
}

// RenderValue is a literal input's value as it is substituted into a
// command: booleans as Python writes them (True, False), as Azure's
// service does, everything else as written.
func RenderValue(t Type, v string) string {
	if t == Boolean {
		if b, ok := parseBool(v); ok {
			if b {
				return "True"
			}
			return "False"
		}
	}
	return v
}

// outputs decodes a map of outputs.
func (d *decoder) outputs(n *yaml.Node, path string, ctx ioContext, order *[]string) map[string]*Output {
	m := map[string]*Output{}
	d.entries(n, path, func(k, v *yaml.Node) {
		if !d.ioName(k, path) {
			return
		}
		if out := d.output(v, join(path, k.Value), ctx); out != nil {
			out.Line = k.Line
			m[k.Value] = out
			if order != nil {
				*order = append(*order, k.Value)
			}
		}
	})
	return m
}

func (d *decoder) output(n *yaml.Node, path string, ctx ioContext) *Output {
	if n = d.deref(n); n == nil {
		return nil
	}
	out := &Output{}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		if ctx == inStep && strings.Contains(n.Value, "${{") {
			out.Bind = d.binding(n, path, true)
			return out
		}
		d.errorf(n, "%s must be a mapping (e.g. {type: uri_folder}) or empty, not %s", path, describe(n))
		return nil
	}
	var typ, mode string
	fs := map[string]func(*yaml.Node){
		"type":        func(v *yaml.Node) { d.str(v, join(path, "type"), &typ) },
		"description": func(v *yaml.Node) { d.str(v, join(path, "description"), &out.Description) },
		"mode":        func(v *yaml.Node) { d.str(v, join(path, "mode"), &mode) },
	}
	if ctx != inComponent {
		fs["path"] = func(v *yaml.Node) { d.str(v, join(path, "path"), &out.Path) }
		fs["name"] = func(v *yaml.Node) { d.str(v, join(path, "name"), &out.Name) }
		fs["version"] = func(v *yaml.Node) { d.str(v, join(path, "version"), &out.Version) }
	}
	if !d.fields(n, path, fs) {
		return nil
	}
	out.Type = URIFolder
	if typ != "" {
		if !listed(outputTypes, typ) {
			d.errorf(n, "%s.type %q is not an output type (%s)", path, typ, outputTypes)
			return nil
		}
		out.Type = Type(typ)
	}
	if mode != "" {
		if !listed(outputModes, mode) {
			d.errorf(n, "%s.mode %q is not an output mode (%s)", path, mode, outputModes)
		}
		out.Mode = Mode(mode)
	}
	if out.Version != "" && out.Name == "" {
		d.errorf(n, "%s: version without name; name the data asset to register the output as", path)
	}
	if out.Path != "" {
		t, err := ParseTemplate(out.Path)
		if err != nil {
			d.errorf(n, "%s.path: %s", path, msgOf(err))
		}
		for _, e := range t.Exprs() {
			if len(e) != 1 || !listed("name, output_name, default_datastore", e[0]) {
				d.errorf(n, "%s.path: %s is not a path template; use ${{name}}, ${{output_name}} or ${{default_datastore}}", path, e)
			}
		}
	}
	return out
}

// binding parses a step's ${{parent.…}} binding: the whole value must be
// one expression, in the parent's context (inputs, outputs, jobs.<step>.
// outputs/inputs; outputs may bind parent outputs only).
func (d *decoder) binding(n *yaml.Node, path string, output bool) Expr {
	t, err := ParseTemplate(n.Value)
	if err != nil {
		d.errorf(n, "%s: %s", path, msgOf(err))
		return nil
	}
	if len(t) != 1 || t[0].Expr == nil {
		d.errorf(n, "%s: a binding must be a single ${{parent.…}} expression, not %q", path, n.Value)
		return nil
	}
	e := t[0].Expr
	want := "${{parent.inputs.<name>}}, ${{parent.outputs.<name>}} or ${{parent.jobs.<step>.outputs.<name>}}"
	if output {
		want = "${{parent.outputs.<name>}}"
	}
	ok := len(e) == 3 && e[0] == "parent" && e[1] == "outputs"
	if !output {
		ok = ok || len(e) == 3 && e[0] == "parent" && e[1] == "inputs" ||
			len(e) == 5 && e[0] == "parent" && e[1] == "jobs" && (e[3] == "outputs" || e[3] == "inputs")
	}
	if !ok && len(e) > 0 && (e[0] == "jobs" || e[0] == "inputs" || e[0] == "outputs") {
		// Azure's preview wrote bindings without parent. (its early
		// examples still do): say the one-word fix.
		d.errorf(n, "%s: %s is not a binding here; write ${{parent.%s}} (Azure's current form)", path, e, strings.Join(e, "."))
		return nil
	}
	if !ok {
		d.errorf(n, "%s: %s is not a binding here; want %s", path, e, want)
		return nil
	}
	return e
}
