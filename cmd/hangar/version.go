package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// buildInfo returns the version and the commit the binary was built from
// ("unknown" when the toolchain did not stamp it, as with `go run`).
func buildInfo() (ver, commit string) {
	ver, commit = version, "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ver, commit
	}
	if ver == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		ver = info.Main.Version
	}
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && commit != "unknown" {
		commit += "-dirty"
	}
	return ver, commit
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c := buildInfo()
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "hangar %s (commit %s)\n", v, c)
			return err
		},
	}
}
