package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
	"github.com/hangar-ml/hangar/jobspec"
	"github.com/hangar-ml/hangar/snapshot"
)

// maxSpecFileSize bounds a YAML spec read by a create verb.
const maxSpecFileSize = 4 << 20

func newEnvironmentCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("environment", "Create, list, show, archive and restore environments")
	cmd.Long = `Environments are versioned, immutable definitions of where a step runs, as in
Azure ML: a Docker image, optionally with a conda file built on top, or a Docker
build context; and environment variables. A version is never changed once
created, only archived (hidden from lists and @latest) and restored.

Hangar's local compute runs steps as host processes: it records the image,
conda file and build context and says in the job's log when it did not apply
them.`
	cols := []string{"name", "version", "image", "build_context", "created_at"}
	list := newVersionListCmd(cli, "environments", cols,
		func(ctx context.Context, c *httpapi.Client, ws string, opt hangar.ListOptions) (*hangar.Page[*hangar.Environment], error) {
			return c.ListEnvironments(ctx, ws, opt)
		},
		func(ctx context.Context, c *httpapi.Client, ws, name string, archived bool, opt hangar.ListOptions) (*hangar.Page[*hangar.Environment], error) {
			return c.ListEnvironmentVersions(ctx, ws, name, archived, opt)
		})
	cmd.AddCommand(newEnvironmentCreateCmd(cli, cols), list, newEnvironmentShowCmd(cli, cols),
		newArchiveCmd(cli, "environment", true, setEnvironmentArchived, cols), newArchiveCmd(cli, "environment", false, setEnvironmentArchived, cols))
	cmd.AddCommand(newEnvironmentShareCmd(cli)) // share.go
	return cmd
}

func newEnvironmentCreateCmd(cli *clientConfig, cols []string) *cobra.Command {
	var file, name, version, image, condaFile, buildContext, dockerfile, description string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an environment version from a YAML file or from flags",
		Long: `Create a version of an environment, as 'az ml environment create' does: from
an environment YAML (-f; --name and --version override its own) or from flags.
A conda file is read relative to the YAML (or the current folder) and stored as
text; a build context folder is uploaded content-addressed (files the
workspace already holds are not sent again). environment_variables are stored
with the version and are part of its definition.

Without a version, the next number is given — unless the latest version has
the same definition, which is then returned and nothing is created (the output
says "existing": true). An explicit version that exists is refused.`,
		Example: "  hangar environment create -f env.yml\n" +
			"  hangar environment create --name sklearn --image python:3.12 --conda-file conda.yml\n" +
			"  hangar environment create --name gpu --build-context ./docker --dockerfile-path Dockerfile.gpu",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var env *jobspec.Environment
			specFile := "command line"
			if file != "" {
				if image != "" || condaFile != "" || buildContext != "" || dockerfile != "" {
					return fmt.Errorf("give the environment as a file (-f) or as flags (--image, --conda-file, --build-context), not both")
				}
				b, err := readSpecFile(file)
				if err != nil {
					return err
				}
				if env, err = jobspec.ParseEnvironment(file, b); err != nil {
					return err
				}
				if err := jobspec.CheckLocalPaths(file, env.LocalPaths()); err != nil {
					return err
				}
				specFile = file
				warnUnstored(cmd.ErrOrStderr(), file, env)
			} else {
				switch {
				case condaFile != "" && image == "":
					return fmt.Errorf("--conda-file needs --image to build on")
				case image == "" && buildContext == "":
					return fmt.Errorf("give --image or --build-context (or the environment's YAML with -f)")
				case image != "" && buildContext != "":
					return fmt.Errorf("give --image or --build-context, not both")
				}
				// Flags name paths relative to the current folder; check
				// them here to name the flag in a message.
				for flag, p := range map[string]string{"--conda-file": condaFile, "--build-context": buildContext} {
					if p != "" {
						if _, err := snapshot.Path(specFile, flag, p); err != nil {
							return err
						}
					}
				}
				env = &jobspec.Environment{Image: image, CondaFile: condaFile}
				if buildContext != "" {
					env.Build = &jobspec.Build{Path: buildContext, DockerfilePath: dockerfile}
				} else if dockerfile != "" {
					return fmt.Errorf("--dockerfile-path needs --build-context")
				}
			}
			if name != "" {
				env.Name = name
			}
			if version != "" {
				env.Version = version
			}
			if env.Name == "" {
				return fmt.Errorf("give the environment's name (--name, or name: in the file)")
			}
			if description != "" {
				env.Description = description
			}
			var err error
			if env.Tags, err = parseTags(tags, env.Tags); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := refuseExistingVersion(ctx, "Environment", env.Name, env.Version, cli.Workspace, func(ctx context.Context) error {
				_, err := c.Environment(ctx, cli.Workspace, env.Name, env.Version)
				return err
			}); err != nil {
				return err
			}
			if err := snapshot.Environment(ctx, c.BlobStore(cli.Workspace), specFile, "", env); err != nil {
				return err
			}
			in := &hangar.Environment{Workspace: cli.Workspace, Name: env.Name, Version: env.Version, Image: env.Image,
				CondaFile: env.CondaSpec, Variables: env.Variables, Description: env.Description, Tags: env.Tags}
			if env.Build != nil {
				in.BuildContext, in.DockerfilePath = hangar.Digest(env.Build.Path), env.Build.DockerfilePath
			}
			out, err := c.CreateEnvironment(ctx, in)
			if err != nil {
				return err
			}
			if out.Existing {
				fmt.Fprintf(cmd.ErrOrStderr(), "environment %s: the same definition is version %s already; nothing was created\n", out.Name, out.Version)
			}
			return cli.printResult(cmd.OutOrStdout(), out, cols...)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "environment YAML (environment.schema.json)")
	f.StringVarP(&name, "name", "n", "", "name (overrides the file's)")
	f.StringVarP(&version, "version", "v", "", "version (overrides the file's; default: the next number)")
	f.StringVarP(&image, "image", "i", "", "Docker image")
	f.StringVarP(&condaFile, "conda-file", "c", "", "conda environment file, built on top of --image")
	f.StringVarP(&buildContext, "build-context", "b", "", "Docker build context folder, uploaded")
	f.StringVarP(&dockerfile, "dockerfile-path", "d", "", "Dockerfile in the build context (default Dockerfile)")
	f.StringVar(&description, "description", "", "description (overrides the file's)")
	f.StringArrayVar(&tags, "tags", nil, "tag key=value (repeatable; added to the file's)")
	return cmd
}

// warnUnstored says which keys of an environment file a registered
// version does not keep.
func warnUnstored(w io.Writer, file string, env *jobspec.Environment) {
	if env.OSType != "" && env.OSType != "linux" {
		fmt.Fprintf(w, "%s: os_type %s is not stored: Hangar runs Linux environments\n", file, env.OSType)
	}
}

// readSpecFile reads a YAML spec of at most maxSpecFileSize bytes.
func readSpecFile(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: %v", file, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSpecFileSize+1))
	if err != nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: %v", file, err)
	}
	if len(b) > maxSpecFileSize {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: larger than %d bytes", file, maxSpecFileSize)
	}
	return b, nil
}

// refuseExistingVersion refuses an explicit version that exists before
// anything is uploaded, in the server's words; get looks it up.
func refuseExistingVersion(ctx context.Context, noun, name, version, workspace string, get func(context.Context) error) error {
	if version == "" {
		return nil
	}
	err := get(ctx)
	switch {
	case err == nil:
		return hangar.Errorf(hangar.ECONFLICT, "%s %s version %s already exists in workspace %q: versions are immutable; create a new version with a different version number, or omit the version to number it automatically", noun, name, version, workspace)
	case hangar.IsCode(err, hangar.ENOTFOUND), hangar.IsCode(err, hangar.EINVALID):
		return nil // the create answers an invalid version precisely
	}
	return err
}

// newVersionListCmd is the list verb of environments and components
// (what): the latest version of each name, or with --name the versions
// of one, newest first.
func newVersionListCmd[T any](cli *clientConfig, what string, cols []string,
	names func(ctx context.Context, c *httpapi.Client, ws string, opt hangar.ListOptions) (*hangar.Page[T], error),
	versions func(ctx context.Context, c *httpapi.Client, ws, name string, archived bool, opt hangar.ListOptions) (*hangar.Page[T], error),
) *cobra.Command {
	var name string
	var includeArchived bool
	var maxResults int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List " + what + " (the latest version of each), or the versions of one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if includeArchived && name == "" {
				return fmt.Errorf("--include-archived lists the versions of one name: give --name")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			items, err := collect(cmd.Context(), maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[T], error) {
				if name != "" {
					return versions(ctx, c, cli.Workspace, name, includeArchived, opt)
				}
				return names(ctx, c, cli.Workspace, opt)
			})
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), items, cols...)
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "list the versions of this name, newest first")
	cmd.Flags().BoolVar(&includeArchived, "include-archived", false, "with --name: list archived versions too")
	cmd.Flags().IntVarP(&maxResults, "max-results", "r", 0, "return at most this many items (default all)")
	return cmd
}

// versionFlags are the -n/-v/-l flags of show, archive and restore.
type versionFlags struct{ name, version, label string }

func (v *versionFlags) bind(cmd *cobra.Command, labels bool) {
	cmd.Flags().StringVarP(&v.name, "name", "n", "", "name (required)")
	cmd.Flags().StringVarP(&v.version, "version", "v", "", "version")
	if labels {
		cmd.Flags().StringVarP(&v.label, "label", "l", "", "label: latest (the default without --version)")
	}
	cmd.MarkFlagRequired("name")
}

// latest reports whether the flags ask for the latest version.
func (v *versionFlags) latest() (bool, error) {
	switch {
	case v.version != "" && v.label != "":
		return false, fmt.Errorf("give --version or --label, not both")
	case v.label != "" && v.label != "latest":
		return false, fmt.Errorf("unknown label %q: the only label is latest", v.label)
	}
	return v.version == "", nil
}

func newEnvironmentShowCmd(cli *clientConfig, cols []string) *cobra.Command {
	var v versionFlags
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show an environment version (default: the latest)",
		Example: "  hangar environment show -n sklearn -v 1\n  hangar environment show -n sklearn -l latest",
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
			var e *hangar.Environment
			if latest {
				e, err = c.LatestEnvironment(cmd.Context(), cli.Workspace, v.name)
			} else {
				e, err = c.Environment(cmd.Context(), cli.Workspace, v.name, v.version)
			}
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), e, cols...)
		},
	}
	v.bind(cmd, true)
	return cmd
}

func setEnvironmentArchived(ctx context.Context, c *httpapi.Client, ws, name, version string, archived bool) (any, error) {
	return c.SetEnvironmentArchived(ctx, ws, name, version, archived)
}

// newArchiveCmd is `<kind> archive` or `<kind> restore` of one version of
// an environment or a component: set archives or restores it and returns
// what to print.
func newArchiveCmd(cli *clientConfig, kind string, archive bool, set func(ctx context.Context, c *httpapi.Client, ws, name, version string, archived bool) (any, error), cols []string) *cobra.Command {
	var v versionFlags
	article := "a"
	if strings.IndexByte("aeiou", kind[0]) >= 0 {
		article = "an"
	}
	use, short := "archive", "Archive "+article+" "+kind+" version: hidden from lists and @latest, still usable by version"
	if !archive {
		use, short = "restore", "Restore an archived "+kind+" version"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v.version == "" {
				return fmt.Errorf("give the version to %s (--version)", use)
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			out, err := set(cmd.Context(), c, cli.Workspace, v.name, v.version, archive)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), out, cols...)
		},
	}
	v.bind(cmd, false)
	return cmd
}
