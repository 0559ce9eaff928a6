package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// version is set at release time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// buildInfo returns the version and the commit the binary was built from.
// The commit comes from the VCS stamp in the build info (go build in a
// checkout); when the toolchain did not stamp one — `go run`, or
// -buildvcs=false — it is read from the git checkout the source was compiled
// from, if that is still there, and "unknown" otherwise.
func buildInfo() (ver, commit string) {
	ver, commit = version, ""
	dirty := false
	if info, ok := debug.ReadBuildInfo(); ok {
		if ver == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if commit == "" {
		commit, dirty = sourceCommit()
	}
	if commit == "" {
		return ver, "unknown"
	}
	if dirty {
		commit += "-dirty"
	}
	return ver, commit
}

// sourceCommit asks git for the commit of the checkout this file was
// compiled from. runtime.Caller names the source file as the compiler saw it;
// under -trimpath, or on another machine, there is no such directory and the
// answer is "".
func sourceCommit() (commit string, dirty bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", false
	}
	dir := filepath.Dir(file)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	status, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	return commit, err == nil && len(strings.TrimSpace(string(status))) > 0
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
