package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newWorkspaceCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("workspace", "Manage workspaces")
	cols := []string{"name", "display_name", "kind", "description", "created_at"}

	var file, name, displayName, description string
	var tags []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a workspace (from -f workspace.yml and/or flags)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			w := &hangar.Workspace{}
			if file != "" {
				if err := readWorkspaceYAML(file, w); err != nil {
					return err
				}
			}
			if name != "" {
				w.Name = name
			}
			if displayName != "" {
				w.DisplayName = displayName
			}
			if description != "" {
				w.Description = description
			}
			if len(tags) > 0 {
				if w.Tags, err = parseTags(tags, w.Tags); err != nil {
					return err
				}
			}
			if w.Name == "" {
				return fmt.Errorf("workspace create needs --name/-n or a name in -f")
			}
			if err := c.CreateWorkspace(cmd.Context(), w); err != nil {
				return err
			}
			got, err := c.Workspace(cmd.Context(), w.Name)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), got, cols...)
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "workspace YAML (name, display_name, description, tags)")
	create.Flags().StringVarP(&name, "name", "n", "", "workspace name")
	create.Flags().StringVar(&displayName, "display-name", "", "display name")
	create.Flags().StringVarP(&description, "description", "d", "", "description")
	create.Flags().StringArrayVar(&tags, "tags", nil, "tags as key=value (repeatable)")

	list := newListCmd(cli, "list", "List workspaces", cols, func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Workspace], error) {
		return c.ListWorkspaces(ctx, opt)
	})

	var showName string
	show := &cobra.Command{
		Use:   "show",
		Short: "Show a workspace",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cli.client()
			if err != nil {
				return err
			}
			w, err := c.Workspace(cmd.Context(), firstNonEmpty(showName, cli.Workspace))
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), w, cols...)
		},
	}
	show.Flags().StringVarP(&showName, "name", "n", "", "workspace name (default the current workspace)")

	var delName string
	var yes bool
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a workspace and everything in it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if delName == "" {
				return fmt.Errorf("workspace delete needs --name/-n")
			}
			if !yes && !confirm(cmd, fmt.Sprintf("Delete workspace %q and everything in it?", delName)) {
				return fmt.Errorf("not deleted: confirm, or pass --yes")
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			return c.DeleteWorkspace(cmd.Context(), delName)
		},
	}
	del.Flags().StringVarP(&delName, "name", "n", "", "workspace name")
	del.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")

	cmd.AddCommand(create, list, show, del)
	return cmd
}

// readWorkspaceYAML reads an Azure-style workspace YAML ($schema accepted and ignored).
func readWorkspaceYAML(path string, w *hangar.Workspace) error {
	var doc struct {
		Schema      string            `yaml:"$schema"`
		Name        string            `yaml:"name"`
		DisplayName string            `yaml:"display_name"`
		Description string            `yaml:"description"`
		Tags        map[string]string `yaml:"tags"`
		Location    string            `yaml:"location"` // Azure's; accepted, meaningless here
	}
	if err := readYAMLFile(path, &doc, true); err != nil {
		return err
	}
	w.Name, w.DisplayName, w.Description, w.Tags = doc.Name, doc.DisplayName, doc.Description, doc.Tags
	return nil
}

// parseTags adds key=value pairs to tags.
func parseTags(kvs []string, tags map[string]string) (map[string]string, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("tag %q: want key=value", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

// confirm asks on a terminal; without one it answers no, so scripts must say --yes.
func confirm(cmd *cobra.Command, question string) bool {
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok {
		return false
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.EqualFold(strings.TrimSpace(line), "y") || strings.EqualFold(strings.TrimSpace(line), "yes")
}
