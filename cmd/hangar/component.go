package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/builtin"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/snapshot"
)

func newComponentCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("component", "Create, list, show, archive and restore command components")
	cmd.Long = `Command components are versioned, immutable steps with a typed interface, as
in Azure ML: a command with ${{inputs.x}} and ${{outputs.y}}, an environment,
inputs and outputs, and a code folder snapshotted with each version. Pipelines
name them (component: azureml:train@latest). A version is never changed once
created, only archived (hidden from lists and @latest) and restored.`
	cols := []string{"name", "version", "display_name", "is_deterministic", "created_at"}
	list := newVersionListCmd(cli, "components", cols,
		func(ctx context.Context, c *httpapi.Client, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.Component], error) {
			return c.ListComponents(ctx, ws, opt)
		},
		func(ctx context.Context, c *httpapi.Client, ws, name string, archived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.Component], error) {
			return c.ListComponentVersions(ctx, ws, name, archived, opt)
		})
	withRegistry(list, func(cmd *cobra.Command, comps []*hangar.Component) error {
		return cli.printResult(cmd.OutOrStdout(), comps, "name", "version", "display_name", "is_deterministic")
	})
	cmd.AddCommand(newComponentCreateCmd(cli, cols), list, newComponentShowCmd(cli),
		newArchiveCmd(cli, "component", true, setComponentArchived, cols), newArchiveCmd(cli, "component", false, setComponentArchived, cols))
	cmd.AddCommand(newComponentShareCmd(cli)) // share.go
	return cmd
}

// componentView is a component as the CLI prints it: its spec as an
// object rather than a string of JSON.
type componentView struct {
	*hangar.Component
	Spec json.RawMessage `json:"spec"`
}

func viewComponent(c *hangar.Component) componentView {
	spec := json.RawMessage(c.Spec)
	if !json.Valid(spec) {
		spec, _ = json.Marshal(c.Spec)
	}
	return componentView{Component: c, Spec: spec}
}

func newComponentCreateCmd(cli *clientConfig, cols []string) *cobra.Command {
	var file, name, version string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a component version from a YAML file",
		Long: `Create a version of a command component from its YAML, as 'az ml component
create' does; --name and --version override the file's. The code folder
(code:, relative to the YAML) is snapshotted with every additional_includes
entry copied in at its top, and uploaded content-addressed: files the workspace
already holds are not sent again, and the version stores the snapshot's
manifest digest. An inline environment's conda file is read and stored as text,
its build context uploaded the same way. Local paths must stay inside the
YAML's tree: its Git repository, or its folder outside one.

Without a version, the next number is given — unless the latest version has
the same definition and code, which is then returned and nothing is created
(the output says "existing": true). An explicit version that exists is
refused before anything is uploaded.`,
		Example: "  hangar component create -f train.yml\n  hangar component create -f train.yml --version 2",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if file == "" {
				return fmt.Errorf("give the component's YAML (-f)")
			}
			b, err := readSpecFile(file)
			if err != nil {
				return err
			}
			comp, err := jobspec.ParseComponent(file, b)
			if err != nil {
				return err
			}
			if name != "" {
				comp.Name = name
			}
			if version != "" {
				comp.Version = version
			}
			if err := jobspec.CheckLocalPaths(file, comp.LocalPaths()); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := refuseExistingVersion(ctx, "Component", comp.Name, comp.Version, cli.Workspace, func(ctx context.Context) error {
				_, err := c.Component(ctx, cli.Workspace, comp.Name, comp.Version)
				return err
			}); err != nil {
				return err
			}
			code, err := snapshot.Component(ctx, c.BlobStore(cli.Workspace), comp)
			if err != nil {
				return err
			}
			spec, err := jobspec.ComponentSpec(comp)
			if err != nil {
				return err
			}
			out, err := c.CreateComponent(ctx, &hangar.Component{Workspace: cli.Workspace, Name: comp.Name, Version: comp.Version,
				DisplayName: comp.DisplayName, Description: comp.Description, Tags: comp.Tags,
				Spec: string(spec), Code: code, IsDeterministic: comp.IsDeterministic})
			if err != nil {
				return err
			}
			if out.Existing {
				fmt.Fprintf(cmd.ErrOrStderr(), "component %s: the same definition is version %s already; nothing was created\n", out.Name, out.Version)
			}
			return cli.printResult(cmd.OutOrStdout(), viewComponent(out), cols...)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "command component YAML (commandComponent.schema.json)")
	cmd.Flags().StringVarP(&name, "name", "n", "", "name (overrides the file's)")
	cmd.Flags().StringVarP(&version, "version", "v", "", "version (overrides the file's; default: the next number)")
	return cmd
}

func newComponentShowCmd(cli *clientConfig) *cobra.Command {
	var v versionFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a component version (default: the latest) with its inputs and outputs",
		Long: `Show a component version. With -o table it prints the version, its command
and environment, and its inputs (type, default, optional, limits) and outputs
as tables; -o json prints everything, the spec as an object.`,
		Example: "  hangar component show -n train -v 1 -o table\n  hangar component show -n train -l latest",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			latest, err := v.latest()
			if err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			var comp *hangar.Component
			if latest {
				comp, err = c.LatestComponent(cmd.Context(), cli.Workspace, v.name)
			} else {
				comp, err = c.Component(cmd.Context(), cli.Workspace, v.name, v.version)
			}
			if err != nil {
				return err
			}
			if cli.output == "table" && cli.query == "" {
				return printComponent(cmd.OutOrStdout(), comp)
			}
			return cli.printResult(cmd.OutOrStdout(), viewComponent(comp), "name", "version", "display_name", "is_deterministic", "created_at")
		},
	}
	v.bind(cmd, true)
	withRegistry(cmd, func(cmd *cobra.Command, comps []*hangar.Component) error {
		for _, comp := range comps {
			if comp.Name == v.name && (v.version == "" || v.version == comp.Version) {
				if cli.output == "table" && cli.query == "" {
					return printComponent(cmd.OutOrStdout(), comp)
				}
				return cli.printResult(cmd.OutOrStdout(), viewComponent(comp), "name", "version", "display_name", "is_deterministic", "created_at")
			}
		}
		return hangar.Errorf(hangar.ENOTFOUND, "component %s not found in registry %s (it has %v)", v.name, jobspec.HangarRegistry, builtin.Names())
	})
	return cmd
}

// printComponent writes a component for people: its fields, then its
// inputs and outputs as tables.
func printComponent(w io.Writer, comp *hangar.Component) error {
	spec, err := jobspec.ComponentFromSpec(comp.Name, comp.Version, []byte(comp.Spec))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	field("name", comp.Name)
	field("version", comp.Version)
	field("display_name", comp.DisplayName)
	field("description", comp.Description)
	field("is_deterministic", strconv.FormatBool(comp.IsDeterministic))
	field("archived", strconv.FormatBool(comp.Archived))
	field("code", string(comp.Code))
	switch env := spec.Environment; {
	case env == nil:
	case env.Ref != nil:
		field("environment", env.Ref.String())
	case env.Build != nil:
		field("environment", "build context "+env.Build.Path)
	default:
		field("environment", "image "+env.Image)
	}
	field("command", spec.Command)
	field("hash", comp.Hash)
	field("created", comp.CreatedBy+" at "+comp.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "INPUT\tTYPE\tDEFAULT\tOPTIONAL\tLIMITS\tDESCRIPTION")
	for _, n := range spec.InputOrder {
		in := spec.Inputs[n]
		def := "-"
		if in.HasDefault {
			def = strconv.Quote(in.Default)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", n, in.Type, def, in.Optional, limits(in), in.Description)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "OUTPUT\tTYPE\tMODE\tDESCRIPTION")
	for _, n := range spec.OutputOrder {
		out := spec.Outputs[n]
		mode := string(out.Mode)
		if mode == "" {
			mode = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n, out.Type, mode, out.Description)
	}
	return tw.Flush()
}

// limits is an input's min, max and enum, or "-".
func limits(in *jobspec.Input) string {
	var parts []string
	if in.Min != nil {
		parts = append(parts, "min "+strconv.FormatFloat(*in.Min, 'g', -1, 64))
	}
	if in.Max != nil {
		parts = append(parts, "max "+strconv.FormatFloat(*in.Max, 'g', -1, 64))
	}
	if in.Enum != nil {
		parts = append(parts, "one of "+strings.Join(in.Enum, "|"))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func setComponentArchived(ctx context.Context, c *httpapi.Client, ws, name, version string, archived bool) (any, error) {
	comp, err := c.SetComponentArchived(ctx, ws, name, version, archived)
	if err != nil {
		return nil, err
	}
	return viewComponent(comp), nil
}
