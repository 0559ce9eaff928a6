package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
)

// newModelVersionCmds are `model update`, `model archive` and `model
// restore` on one version (NAME:VERSION or NAME@ALIAS). A version is
// archived as MLflow archives one: its stage becomes Archived (and
// restore puts it back to None), so MLflow clients see the same.
func newModelVersionCmds(cli *clientConfig) []*cobra.Command {
	var description string
	update := &cobra.Command{
		Use:     "update NAME:VERSION --description D",
		Short:   "Change a model version's description",
		Example: "  hangar model update churn:3 --description 'retrained on March data'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("description") {
				return invalidf("model update needs --description")
			}
			if err := hangar.ValidateModelDescription(description); err != nil {
				return err
			}
			return withModelVersion(cmd, cli, args[0], func(c modelVersionClient, v *hangar.ModelVersion) (*hangar.ModelVersion, error) {
				return c.UpdateModelVersion(cmd.Context(), v.Name, v.Version, description)
			})
		},
	}
	update.Flags().StringVarP(&description, "description", "d", "", "the version's new description")
	stage := func(use, short, to string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME:VERSION",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withModelVersion(cmd, cli, args[0], func(c modelVersionClient, v *hangar.ModelVersion) (*hangar.ModelVersion, error) {
					return c.TransitionModelVersionStage(cmd.Context(), v.Name, v.Version, to)
				})
			},
		}
	}
	return []*cobra.Command{update,
		stage("archive", "Archive a model version (its MLflow stage becomes Archived)", hangar.StageArchived),
		stage("restore", "Restore an archived model version (its MLflow stage becomes None)", hangar.StageNone)}
}

// modelVersionClient is what the version verbs need of the MLflow client.
type modelVersionClient interface {
	UpdateModelVersion(ctx context.Context, name, version, description string) (*hangar.ModelVersion, error)
	TransitionModelVersionStage(ctx context.Context, name, version, stage string) (*hangar.ModelVersion, error)
}

// withModelVersion resolves a version reference, applies change and
// prints the version as changed.
func withModelVersion(cmd *cobra.Command, cli *clientConfig, arg string, change func(modelVersionClient, *hangar.ModelVersion) (*hangar.ModelVersion, error)) error {
	ref, err := parseModelRef(arg)
	if err != nil {
		return err
	}
	if ref.model() {
		return invalidf("name a version: %s:VERSION or %s@ALIAS", arg, arg)
	}
	c, err := cli.mlflowClient()
	if err != nil {
		return err
	}
	v, err := resolveModelRef(cmd.Context(), c, ref)
	if err != nil {
		return err
	}
	out, err := change(c, v)
	if err != nil {
		return err
	}
	out.Workspace = cli.Workspace
	return cli.printResult(cmd.OutOrStdout(), out, "name", "version", "current_stage", "aliases", "source")
}
