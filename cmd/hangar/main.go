// Command hangar is the Hangar MLOps platform in one binary: `hangar server`
// runs the workspace server, `hangar quickstart` runs the whole loop on the
// embedded defaults, and every other verb (`hangar <noun> <verb>`, modelled on
// `az ml`) is a client of the server's HTTP API.
//
// This package only wires: flags and configuration, the choice of backends
// and the translation of CLI verbs to client calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hangar-ml/hangar"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// env reads the environment; tests pass their own.
type env func(string) string

// run executes the CLI and returns the process exit code. Errors are printed
// as one line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) int {
	root := newRootCmd(getenv)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", oneLine(err))
		var ee exitError
		if errors.As(err, &ee) {
			return int(ee)
		}
		return 1
	}
	return 0
}

// exitError asks for a specific exit code (for example `audit verify` on a broken chain).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// oneLine renders an error for the terminal: the domain message for domain
// errors, otherwise the wrapped chain, always on a single line.
func oneLine(err error) string {
	msg := err.Error()
	var he *hangar.Error
	if errors.As(err, &he) {
		msg = he.Message
		if he.Code == hangar.EINTERNAL && !strings.Contains(msg, "internal") {
			msg = "internal error: " + msg
		}
	}
	return strings.Join(strings.Fields(msg), " ")
}

func newRootCmd(getenv env) *cobra.Command {
	root := &cobra.Command{
		Use:           "hangar",
		Short:         "Hangar: the MLOps loop of Azure Machine Learning in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	cli := &clientConfig{getenv: getenv}
	cli.bindGlobal(root)
	runCmd := newRunCmd(cli)
	runCmd.AddCommand(newRunDownloadCmd(cli)) // artifacts.go
	root.AddCommand(
		newVersionCmd(),
		newServerCmd(getenv),
		newOwnerCmd(getenv),
		newQuickstartCmd(getenv),
		newWorkspaceCmd(cli),
		newIdentityCmd(cli),
		newTokenCmd(cli),
		newRoleCmd(cli),
		newAuditCmd(cli),
		newSecretCmd(cli),
		newExperimentCmd(cli),
		runCmd,
	)
	root.AddCommand(newBuiltinCmd(getenv), newLogCmd(getenv, newLogArtifactCmd), newModelCmd(cli), newJobCmd(cli, newJobCreateCmd(cli)), newRunStepCmd(getenv))
	root.AddCommand(newEnvironmentCmd(cli), newComponentCmd(cli)) // environment.go, component.go
	root.AddCommand(newRegistryCmd(cli))                          // registry.go
	root.AddCommand(newDataCmd(cli), newDatastoreCmd(cli))        // data.go, datastore.go
	root.AddCommand(newScheduleCmd(cli))                          // schedule.go
	root.AddCommand(newServeModelCmd(getenv))                     // serve_model.go
	root.AddCommand(newOnlineEndpointCmd(cli), newOnlineDeploymentCmd(cli))
	root.AddCommand(newBatchEndpointCmd(cli), newBatchDeploymentCmd(cli), newBatchRunCmd())
	return root
}

// newGroup returns a noun command ("workspace", "token", …) whose verbs are
// its subcommands: alone it prints help; an unknown verb is an error.
func newGroup(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
}
