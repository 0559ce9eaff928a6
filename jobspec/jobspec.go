// Package jobspec reads Azure ML v2 YAML specs of jobs, components,
// environments and data assets: parsing, validation and ${{…}}
// expressions.
//
// The loader is strict, as Azure's is: an unknown key, a value of the
// wrong type or a binding to nothing is an error that names the file, the
// line and the key, and every problem of a file is reported at once (up to
// MaxErrors). `$schema` is accepted and ignored, except that a schema of
// another kind of spec is refused. Which kind a file is comes from the
// command that reads it: ParseJob, ParseComponent, ParseEnvironment,
// ParseData.
//
// A pipeline is checked as a whole by PlanPipeline, which resolves
// component references through a ComponentResolver the caller provides
// and returns its steps in dependency order. Template.Render turns a
// command into the text a step runs, quoting each value for the shell.
//
// The package reads no environment and touches no store; file references
// are read only by the Files resolver.
package jobspec
