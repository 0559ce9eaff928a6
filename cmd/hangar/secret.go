package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

func newSecretCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("secret", "Manage a workspace's encrypted secrets (the Key Vault of the workspace)")
	cols := []string{"name", "version", "created_at", "updated_at", "grants"}

	var name, value, file string
	var fromStdin bool
	set := &cobra.Command{
		Use:   "set",
		Short: "Create or replace a secret value (from --value, --file or --value-stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return fmt.Errorf("secret set needs --name/-n")
			}
			val, err := secretValue(cmd, value, file, fromStdin)
			if err != nil {
				return err
			}
			c, err := cli.client()
			if err != nil {
				return err
			}
			s, err := c.SetSecret(cmd.Context(), cli.Workspace, name, val)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), s, cols...)
		},
	}
	set.Flags().StringVarP(&name, "name", "n", "", "secret name")
	set.Flags().StringVar(&value, "value", "", "the value (visible in the process list: prefer --file or --value-stdin)")
	set.Flags().StringVar(&file, "file", "", "read the value from this file")
	set.Flags().BoolVar(&fromStdin, "value-stdin", false, "read the value from standard input")

	list := newListCmd(cli, "list", "List secrets (names and metadata, never values)", cols,
		func(ctx context.Context, c *httpapi.Client, opt hangar.ListOptions) (*hangar.Page[*hangar.Secret], error) {
			return c.ListSecrets(ctx, cli.Workspace, opt)
		})

	one := func(use, short string, run func(cmd *cobra.Command, c *httpapi.Client, name string) error) *cobra.Command {
		var n string
		sub := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if n == "" {
					return fmt.Errorf("secret %s needs --name/-n", use)
				}
				c, err := cli.client()
				if err != nil {
					return err
				}
				return run(cmd, c, n)
			},
		}
		sub.Flags().StringVarP(&n, "name", "n", "", "secret name")
		return sub
	}
	show := one("show", "Show a secret's metadata (never its value)", func(cmd *cobra.Command, c *httpapi.Client, n string) error {
		s, err := c.Secret(cmd.Context(), cli.Workspace, n)
		if err != nil {
			return err
		}
		return cli.printResult(cmd.OutOrStdout(), s, cols...)
	})
	del := one("delete", "Delete a secret", func(cmd *cobra.Command, c *httpapi.Client, n string) error {
		return c.DeleteSecret(cmd.Context(), cli.Workspace, n)
	})
	reveal := one("reveal", "Print a secret's value (Owner, or an identity the secret is granted to)", func(cmd *cobra.Command, c *httpapi.Client, n string) error {
		v, err := c.RevealSecret(cmd.Context(), cli.Workspace, n)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", v)
		return err
	})
	var identity string
	grant := one("grant", "Let an identity (a workload or service principal) reveal the secret", func(cmd *cobra.Command, c *httpapi.Client, n string) error {
		if identity == "" {
			return fmt.Errorf("secret grant needs --identity")
		}
		return c.GrantSecret(cmd.Context(), cli.Workspace, n, identity)
	})
	grant.Flags().StringVar(&identity, "identity", "", "identity name")
	var revokeIdentity string
	revoke := one("revoke", "Withdraw an identity's grant on the secret", func(cmd *cobra.Command, c *httpapi.Client, n string) error {
		if revokeIdentity == "" {
			return fmt.Errorf("secret revoke needs --identity")
		}
		return c.RevokeSecretGrant(cmd.Context(), cli.Workspace, n, revokeIdentity)
	})
	revoke.Flags().StringVar(&revokeIdentity, "identity", "", "identity name")

	cmd.AddCommand(set, list, show, del, reveal, grant, revoke)
	return cmd
}

// secretValue takes the value from exactly one of its three sources.
func secretValue(cmd *cobra.Command, value, file string, fromStdin bool) ([]byte, error) {
	n := 0
	for _, given := range []bool{value != "", file != "", fromStdin} {
		if given {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("give the value with exactly one of --value, --file or --value-stdin")
	}
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read secret file: %w", err)
		}
		return b, nil
	case fromStdin:
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), hangar.MaxSecretSize+1))
		if err != nil {
			return nil, fmt.Errorf("read secret from stdin: %w", err)
		}
		return b, nil
	}
	return []byte(value), nil
}
