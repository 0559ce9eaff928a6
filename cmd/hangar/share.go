package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
)

// shareFlags are the flags of every share command, after `az ml model
// share`: the source (-n, -v, in the workspace of -w) and the target.
type shareFlags struct {
	name, version string
	req           hangar.ShareRequest
}

func (f *shareFlags) add(cmd *cobra.Command, noun string) {
	fl := cmd.Flags()
	fl.StringVarP(&f.name, "name", "n", "", "the "+noun+" to share")
	fl.StringVarP(&f.version, "version", "v", "", "its version")
	fl.StringVar(&f.req.Registry, "registry-name", "", "share into this registry")
	fl.StringVar(&f.req.ToWorkspace, "to-workspace", "", "share into this workspace")
	fl.StringVar(&f.req.Name, "share-with-name", "", "the name in the target (default: the same)")
	fl.StringVar(&f.req.Version, "share-with-version", "", "the version in the target (default: the next number, or the earlier copy of the same content)")
}

func (f *shareFlags) check(noun string) error {
	switch {
	case f.name == "":
		return invalidf("%s share needs --name/-n", noun)
	case f.version == "":
		return invalidf("%s share needs --version/-v", noun)
	}
	_, err := f.req.Target()
	return err
}

const shareLong = `Copy a version into a registry (--registry-name) or another workspace
(--to-workspace), as 'az ml %[1]s share' does: the same bytes (the target comes
to own the files' blobs), under --share-with-name and --share-with-version.
The copy records where it came from in its tags (hangar.shared_from.*).
Sharing takes read on the source workspace (-w) and %[1]ss/write on the
target. Without --share-with-version, sharing the same version again returns
the earlier copy (status existing) and creates nothing; an explicit version
that exists is a conflict.`

// newModelShareCmd is `hangar model share`.
func newModelShareCmd(cli *clientConfig) *cobra.Command {
	var f shareFlags
	cmd := &cobra.Command{
		Use:   "share",
		Short: "Copy a model version into a registry or another workspace (the same bytes, with its lineage)",
		Long: fmt.Sprintf(shareLong, "model") + `

A model's copy also records the run and job that made the original, the
approvals it was promoted under where they were decided, and the digest of
its files (hangar.content_digest, equal in every copy); 'model show --lineage'
in the target traces back through the source. Approvals, aliases and stages
do not travel: protect and approve in the target.`,
		Example: "  hangar model share -w dev -n churn -v 3 --registry-name shared\n" +
			"  hangar model share -w shared -n churn -v 1 --to-workspace prod --share-with-version 1",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check("model"); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			out, err := c.ShareModelVersion(cmd.Context(), cli.Workspace, f.name, f.version, f.req)
			if err != nil {
				return err
			}
			v := out.Version
			return cli.printResult(cmd.OutOrStdout(), shareView{
				Workspace: v.Workspace, Name: v.Name, Version: v.Version, Source: v.Source,
				ContentDigest: string(out.ContentDigest), Status: shareStatus(out.Existing),
				SharedFrom: cli.Workspace + "/" + f.name + ":" + f.version, Tags: v.Tags,
			}, "workspace", "name", "version", "status", "content_digest", "shared_from")
		},
	}
	f.add(cmd, "model")
	return cmd
}

// shareView is what a share prints.
type shareView struct {
	Workspace     string            `json:"workspace"`
	Name          string            `json:"name"`
	Version       string            `json:"version"`
	Status        string            `json:"status"` // created or existing
	SharedFrom    string            `json:"shared_from"`
	ContentDigest string            `json:"content_digest,omitempty"`
	Source        string            `json:"source,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
}

func shareStatus(existing bool) string {
	if existing {
		return "existing"
	}
	return "created"
}

// newComponentShareCmd is `hangar component share`.
func newComponentShareCmd(cli *clientConfig) *cobra.Command {
	var f shareFlags
	cmd := &cobra.Command{
		Use:     "share",
		Short:   "Copy a component version into a registry or another workspace (the same spec and code)",
		Long:    fmt.Sprintf(shareLong, "component"),
		Example: "  hangar component share -w dev -n train -v 1 --registry-name shared --share-with-version 1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check("component"); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			out, err := c.ShareComponent(cmd.Context(), cli.Workspace, f.name, f.version, f.req)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), shareView{
				Workspace: out.Workspace, Name: out.Name, Version: out.Version, Status: shareStatus(out.Existing),
				SharedFrom: cli.Workspace + "/" + f.name + ":" + f.version, ContentDigest: string(out.Code), Tags: out.Tags,
			}, "workspace", "name", "version", "status", "shared_from")
		},
	}
	f.add(cmd, "component")
	return cmd
}

// newEnvironmentShareCmd is `hangar environment share`.
func newEnvironmentShareCmd(cli *clientConfig) *cobra.Command {
	var f shareFlags
	cmd := &cobra.Command{
		Use:     "share",
		Short:   "Copy an environment version into a registry or another workspace",
		Long:    fmt.Sprintf(shareLong, "environment"),
		Example: "  hangar environment share -w dev -n py -v 1 --registry-name shared",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check("environment"); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			out, err := c.ShareEnvironment(cmd.Context(), cli.Workspace, f.name, f.version, f.req)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), shareView{
				Workspace: out.Workspace, Name: out.Name, Version: out.Version, Status: shareStatus(out.Existing),
				SharedFrom: cli.Workspace + "/" + f.name + ":" + f.version, ContentDigest: string(out.BuildContext), Tags: out.Tags,
			}, "workspace", "name", "version", "status", "shared_from")
		},
	}
	f.add(cmd, "environment")
	return cmd
}
