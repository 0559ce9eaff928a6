package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newDatastoreCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("datastore", "Create, list, show and delete datastores")
	cmd.Long = `Datastores name where a workspace's data lives, as az ml datastore.
Every workspace has workspaceblobstore, the artifact store (content by
digest; azureml://datastores/workspaceblobstore/paths/<p> is the artifact
path <p>). Named datastores are folders on the server's host (type local);
creating one takes datastores/write server-wide.`
	cols := []string{"name", "type", "root", "description", "created_at"}

	var file, name, typ, root, description string
	var tags []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a local datastore from a YAML file (-f) or --name, --type local and --root",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := &hangar.Datastore{}
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("datastore create: %w", err)
				}
				if d, err = parseDatastore(file, b); err != nil {
					return err
				}
			}
			if name != "" {
				d.Name = name
			}
			if typ != "" {
				d.Type = typ
			}
			if root != "" {
				abs, err := filepath.Abs(root)
				if err != nil {
					return err
				}
				d.Root = abs
			}
			if description != "" {
				d.Description = description
			}
			if len(tags) > 0 {
				var err error
				if d.Tags, err = parseTags(tags, d.Tags); err != nil {
					return err
				}
			}
			if d.Name == "" {
				return errors.New("datastore create needs -f FILE or --name/-n")
			}
			if d.Type == "" {
				d.Type = hangar.DatastoreLocal
			}
			if err := d.Validate(); err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			if err := c.CreateDatastore(cmd.Context(), cli.Workspace, d); err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), d, cols...)
		},
	}
	f := create.Flags()
	f.StringVarP(&file, "file", "f", "", "datastore YAML (name, type: local, root, description, tags); flags override it")
	f.StringVarP(&name, "name", "n", "", "datastore name")
	f.StringVar(&typ, "type", "", "datastore type: local (the default)")
	f.StringVar(&root, "root", "", "the folder on the server's host")
	f.StringVarP(&description, "description", "d", "", "description")
	f.StringArrayVar(&tags, "tags", nil, "tag key=value (repeatable)")

	list := newListCmd(cli, "list", "List datastores, the default one included", cols,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Datastore], error) {
			return c.ListDatastores(ctx, cli.Workspace, opt)
		})
	one := func(use, short string, run func(cmd *cobra.Command, c *httpapi.Client, name string) error) *cobra.Command {
		var n string
		sub := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if n == "" {
					return fmt.Errorf("datastore %s needs --name/-n", use)
				}
				c, err := cli.client()
				if err != nil {
					return err
				}
				return run(cmd, c, n)
			},
		}
		sub.Flags().StringVarP(&n, "name", "n", "", "datastore name")
		return sub
	}
	show := one("show", "Show a datastore", func(cmd *cobra.Command, c *httpapi.Client, n string) error {
		d, err := c.Datastore(cmd.Context(), cli.Workspace, n)
		if err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), d, cols...)
	})
	del := one("delete", "Delete a datastore no data version is on", func(cmd *cobra.Command, c *httpapi.Client, n string) error {
		return c.DeleteDatastore(cmd.Context(), cli.Workspace, n)
	})
	cmd.AddCommand(create, list, show, del)
	return cmd
}

// datastoreSpec is the YAML of `datastore create -f`.
type datastoreSpec struct {
	Schema      string            `yaml:"$schema"`
	Name        string            `yaml:"name"`
	Type        string            `yaml:"type"`
	Root        string            `yaml:"root"`
	Description string            `yaml:"description"`
	Tags        map[string]string `yaml:"tags"`
}

// parseDatastore reads a datastore YAML strictly: one document, known keys
// only (an unknown key is named with its line). A relative root is taken
// against the YAML file's folder. Errors: EINVALID naming the file.
func parseDatastore(file string, b []byte) (*hangar.Datastore, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s datastoreSpec
	if err := dec.Decode(&s); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if err.Error() == "EOF" {
			msg = "the file is empty"
		}
		return nil, hangar.Errorf(hangar.EINVALID, "%s: %s", file, strings.ReplaceAll(msg, "\n", "; "))
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: more than one YAML document", file)
	}
	if s.Type == "" {
		s.Type = hangar.DatastoreLocal
	}
	root := s.Root
	if root == "" {
		return nil, hangar.Errorf(hangar.EINVALID, "%s: root is required: the datastore's folder on the server's host", file)
	}
	if !filepath.IsAbs(root) {
		root = filepath.Join(filepath.Dir(file), root)
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, hangar.Errorf(hangar.EINVALID, "%s: root %q: %v", file, s.Root, err)
		}
		root = abs
	}
	return &hangar.Datastore{Name: s.Name, Type: s.Type, Root: filepath.Clean(root), Description: s.Description, Tags: s.Tags}, nil
}
