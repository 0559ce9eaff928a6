package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/builtin"
	"github.com/hangar-ml/hangar/jobspec"
)

// builtinComponents are the built-in components as registry versions of
// the registry "hangar", for `component list|show --registry-name hangar`.
func builtinComponents() ([]*hangar.Component, error) {
	var out []*hangar.Component
	for _, c := range builtin.Components() {
		spec, err := jobspec.ComponentSpec(c)
		if err != nil {
			return nil, fmt.Errorf("built-in component %s: %w", c.Name, err)
		}
		hc := &hangar.Component{Workspace: "", Name: c.Name, Version: c.Version, DisplayName: c.DisplayName,
			Description: c.Description, Tags: c.Tags, Spec: string(spec), IsDeterministic: c.IsDeterministic, CreatedBy: "hangar"}
		hc.Hash = hangar.ComponentHash(hc)
		out = append(out, hc)
	}
	return out, nil
}

// withRegistry adds Azure's --registry-name to a component verb: with
// "hangar" (the registry of built-in components) run answers from the
// components built into this binary instead of the workspace's.
func withRegistry(cmd *cobra.Command, run func(cmd *cobra.Command, comps []*hangar.Component) error) {
	var registry string
	cmd.Flags().StringVar(&registry, "registry-name", "", "a registry instead of the workspace: "+jobspec.HangarRegistry+" (the built-in components)")
	inner := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		switch registry {
		case "":
			return inner(c, args)
		case jobspec.HangarRegistry:
			comps, err := builtinComponents()
			if err != nil {
				return err
			}
			return run(c, comps)
		}
		return hangar.Errorf(hangar.ENOTFOUND, "registry %q not found: --registry-name names the built-in registry %q; a registry of this server is read as a workspace (-w %s)", registry, jobspec.HangarRegistry, registry)
	}
}
