package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
)

// endpointColumns are the table columns of an endpoint.
var endpointColumns = []string{"name", "auth_mode", "provisioning_state", "traffic", "mirror_traffic", "scoring_uri"}

// endpointView is an endpoint as the verbs print it: with the full
// scoring URI, as Azure's scoring_uri, for curl and other clients.
type endpointView struct {
	*hangar.OnlineEndpoint
	ScoringURI string `json:"scoring_uri"`
}

func (c *clientConfig) endpointView(e *hangar.OnlineEndpoint) endpointView {
	return endpointView{OnlineEndpoint: e, ScoringURI: strings.TrimRight(c.URL, "/") + e.ScoringPath}
}

func newOnlineEndpointCmd(cli *clientConfig) *cobra.Command {
	cmd := newGroup("online-endpoint", "Create, update, invoke and delete online endpoints")
	cmd.Long = `Online endpoints, as 'az ml online-endpoint': a stable scoring address
(scoring_uri: POST a /score request with 'Authorization: Bearer <key or token>')
with its keys and its traffic — which deployments take what percent of live
requests (--traffic "blue=90 green=10") and which one gets a mirrored copy
(--mirror-traffic "green=10"). Shifting traffic back is the rollback.
Deployments are made with 'hangar online-deployment'.`
	cmd.AddCommand(newEndpointCreateCmd(cli), newEndpointUpdateCmd(cli), newEndpointShowCmd(cli), newEndpointListCmd(cli),
		newEndpointDeleteCmd(cli), newEndpointCredentialsCmd(cli), newEndpointRegenerateCmd(cli), newEndpointInvokeCmd(cli))
	return cmd
}

func newEndpointCreateCmd(cli *clientConfig) *cobra.Command {
	var file, name, authMode string
	var sets []string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create an online endpoint from its YAML (managedOnlineEndpoint)",
		Example: "  hangar online-endpoint create -f endpoint.yml\n" +
			"  hangar online-endpoint create -n churn --auth-mode aml_token",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var all []string
			if name != "" {
				all = append(all, "name="+name)
			}
			if authMode != "" {
				all = append(all, "auth_mode="+authMode)
			}
			b := []byte("{}") // no file: the flags are the whole spec
			src := "command line"
			if file != "" {
				var err error
				if b, err = readSpecFile(file); err != nil {
					return err
				}
				src = file
			} else if name == "" {
				return invalidf("online-endpoint create needs the endpoint's YAML (-f) or its name (-n)")
			}
			spec, err := jobspec.ParseOnlineEndpoint(src, b, append(all, sets...))
			if err != nil {
				return err
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			for _, note := range endpointUnapplied(spec) {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", src, note)
			}
			e := &hangar.OnlineEndpoint{Workspace: cli.Workspace, Name: spec.Name, Description: spec.Description, Tags: spec.Tags,
				AuthMode: spec.AuthMode, Traffic: spec.Traffic, MirrorTraffic: spec.MirrorTraffic}
			if err := api.CreateOnlineEndpoint(cmd.Context(), cli.Workspace, e); err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), cli.endpointView(e), endpointColumns...)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "managedOnlineEndpoint YAML")
	f.StringVarP(&name, "name", "n", "", "endpoint name (overrides the file's)")
	f.StringVar(&authMode, "auth-mode", "", "key (default) or aml_token (overrides the file's)")
	f.StringArrayVar(&sets, "set", nil, "override a field of the YAML as KEY=VALUE, e.g. tags.team=risk (repeatable)")
	f.Bool("no-wait", false, "accepted for Azure's CLI; an endpoint is ready when created")
	return cmd
}

func newEndpointUpdateCmd(cli *clientConfig) *cobra.Command {
	var file, name, traffic, mirror string
	var sets []string
	cmd := &cobra.Command{
		Use:   "update -n NAME [-f FILE] [--traffic ...] [--mirror-traffic ...] [--set KEY=VALUE]",
		Short: "Update an endpoint: its traffic (rollout and rollback), mirror traffic, description and tags",
		Long: `Update an endpoint. --traffic replaces its live traffic ("blue=90 green=10";
deployments it leaves out get 0%), --mirror-traffic its mirrored traffic
("green=10"; "green=0" stops mirroring). A traffic change is one
compare-and-set on the endpoint's version: when someone else changed the
endpoint since it was read, nothing changes and the update fails. A
deployment takes traffic only once it succeeded. Rollback is an update
that shifts traffic back.

-f reads the endpoint's YAML (its traffic, if it sets any, is applied
too); --set changes single fields of the file or, without one, of the
endpoint (e.g. --set tags.stage=prod, --set traffic.green=100).`,
		Example: "  hangar online-endpoint update -n churn --traffic \"blue=90 green=10\"\n" +
			"  hangar online-endpoint update -n churn --mirror-traffic \"green=10\"\n" +
			"  hangar online-endpoint update -n churn --traffic \"blue=100 green=0\"   # rollback",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			target := name
			var b []byte
			src := file
			if file != "" {
				if b, err = readSpecFile(file); err != nil {
					return err
				}
				if target == "" {
					spec, err := jobspec.ParseOnlineEndpoint(file, b, sets)
					if err != nil {
						return err
					}
					target = spec.Name
				}
			}
			if target == "" {
				return invalidf("give the endpoint with --name/-n (or its YAML with -f)")
			}
			cur, err := api.OnlineEndpoint(ctx, cli.Workspace, target)
			if err != nil {
				return err
			}
			if file == "" {
				if len(sets) == 0 && traffic == "" && mirror == "" && !cmd.Flags().Changed("traffic") && !cmd.Flags().Changed("mirror-traffic") {
					return invalidf("nothing to update: give --traffic, --mirror-traffic, --set or the endpoint's YAML (-f)")
				}
				// --set applies to the endpoint as it is: it is written
				// as its YAML and read back with the overrides.
				if b, err = endpointYAML(cur); err != nil {
					return err
				}
				src = "endpoint " + cur.Name
			}
			spec, err := jobspec.ParseOnlineEndpoint(src, b, append([]string{"name=" + target}, sets...))
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("traffic") {
				if spec.Traffic, err = jobspec.ParseTraffic(traffic); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("mirror-traffic") {
				if spec.MirrorTraffic, err = jobspec.ParseTraffic(mirror); err != nil {
					return err
				}
			}
			e, err := updateEndpoint(ctx, api, cli.Workspace, cur, spec)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), cli.endpointView(e), endpointColumns...)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&name, "name", "n", "", "endpoint name (default: the file's)")
	f.StringVarP(&file, "file", "f", "", "managedOnlineEndpoint YAML")
	f.StringVarP(&traffic, "traffic", "r", "", `live traffic by deployment, e.g. "blue=90 green=10"`)
	f.StringVar(&mirror, "mirror-traffic", "", `mirrored traffic, e.g. "green=10" (at most 50%, one deployment)`)
	f.StringArrayVar(&sets, "set", nil, "change a field as KEY=VALUE, e.g. tags.stage=prod or traffic.green=10 (repeatable)")
	return cmd
}

// endpointYAML writes an endpoint as its managedOnlineEndpoint YAML.
func endpointYAML(e *hangar.OnlineEndpoint) ([]byte, error) {
	doc := map[string]any{"name": e.Name, "auth_mode": e.AuthMode, "traffic": orEmpty(e.Traffic), "mirror_traffic": orEmpty(e.MirrorTraffic)}
	if e.Description != "" {
		doc["description"] = e.Description
	}
	if len(e.Tags) > 0 {
		doc["tags"] = e.Tags
	}
	return yaml.Marshal(doc)
}

func orEmpty(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// updateEndpoint applies what spec changes of the endpoint cur: its
// description, tags and auth mode, then its traffic, each a
// compare-and-set on the version read.
func updateEndpoint(ctx context.Context, api endpointAPI, ws string, cur *hangar.OnlineEndpoint, spec *jobspec.OnlineEndpoint) (*hangar.OnlineEndpoint, error) {
	var u hangar.OnlineEndpointUpdate
	changed := false
	if spec.Description != cur.Description {
		d := spec.Description
		u.Description, changed = &d, true
	}
	if !maps.Equal(spec.Tags, cur.Tags) && (len(spec.Tags) > 0 || len(cur.Tags) > 0) {
		u.Tags, changed = spec.Tags, true
		if u.Tags == nil {
			u.Tags = map[string]string{}
		}
	}
	if spec.AuthMode != "" && spec.AuthMode != cur.AuthMode {
		u.AuthMode, changed = spec.AuthMode, true
	}
	e := cur
	if changed {
		var err error
		if e, err = api.UpdateOnlineEndpoint(ctx, ws, cur.Name, u, cur.Version); err != nil {
			return nil, err
		}
	}
	var live, mirror map[string]int
	if spec.Traffic != nil && !sameTraffic(spec.Traffic, e.Traffic) {
		live = spec.Traffic
	}
	if spec.MirrorTraffic != nil && !sameTraffic(spec.MirrorTraffic, e.MirrorTraffic) {
		mirror = spec.MirrorTraffic
	}
	if live == nil && mirror == nil {
		return e, nil
	}
	return api.SetTraffic(ctx, ws, cur.Name, live, mirror, e.Version)
}

// sameTraffic compares traffic maps by their positive shares: a
// deployment given 0% and one left out take the same traffic.
func sameTraffic(a, b map[string]int) bool {
	for k, v := range a {
		if v != b[k] {
			return false
		}
	}
	for k, v := range b {
		if v != a[k] {
			return false
		}
	}
	return true
}

// endpointNameFlag binds -n NAME, required.
func endpointNameFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "endpoint name")
}

func requireEndpoint(name string) error {
	if name == "" {
		return invalidf("give the endpoint with --name/-n")
	}
	return nil
}

func newEndpointShowCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "show -n NAME",
		Short:   "Show an endpoint: its traffic, auth mode and scoring URI",
		Example: "  hangar online-endpoint show -n churn\n  hangar online-endpoint show -n churn --query traffic",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			e, err := api.OnlineEndpoint(cmd.Context(), cli.Workspace, name)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), cli.endpointView(e), endpointColumns...)
		},
	}
	endpointNameFlag(cmd, &name)
	return cmd
}

func newEndpointListCmd(cli *clientConfig) *cobra.Command {
	var maxResults int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the workspace's online endpoints",
		Example: "  hangar online-endpoint list -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			es, err := collect(cmd.Context(), maxResults, func(ctx context.Context, opt hangar.ListOptions) (*hangar.Page[*hangar.OnlineEndpoint], error) {
				return api.ListOnlineEndpoints(ctx, cli.Workspace, opt)
			})
			if err != nil {
				return err
			}
			views := make([]endpointView, len(es))
			for i, e := range es {
				views[i] = cli.endpointView(e)
			}
			return cli.printResult(cmd.OutOrStdout(), views, endpointColumns...)
		},
	}
	cmd.Flags().IntVarP(&maxResults, "max-results", "r", 0, "return at most this many endpoints (default all)")
	return cmd
}

func newEndpointDeleteCmd(cli *clientConfig) *cobra.Command {
	var name string
	var yes bool
	cmd := &cobra.Command{
		Use:     "delete -n NAME",
		Short:   "Delete an endpoint, its deployments and its keys",
		Example: "  hangar online-endpoint delete -n churn --yes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			if !yes && !confirm(cmd, fmt.Sprintf("Delete online endpoint %s with its deployments?", name)) {
				return invalidf("not deleted: confirm, or pass --yes")
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			if err := api.DeleteOnlineEndpoint(cmd.Context(), cli.Workspace, name); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "online-endpoint %s deleted from workspace %s\n", name, cli.Workspace)
			return err
		},
	}
	endpointNameFlag(cmd, &name)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().Bool("no-wait", false, "accepted for Azure's CLI; the deletion is done when the command returns")
	return cmd
}

// endpointToken is an aml_token as Azure's get-credentials prints it.
type endpointToken struct {
	AccessToken string `json:"accessToken"`
	TokenType   string `json:"tokenType"`
	Expiry      int64  `json:"expiryTimeUtc"`
	RefreshAt   int64  `json:"refreshAfterTimeUtc"`
}

// credential returns what authenticates a caller of the endpoint: its
// primary key, or a fresh aml_token.
func credential(ctx context.Context, api endpointAPI, ws string, e *hangar.OnlineEndpoint) (any, string, error) {
	if e.AuthMode == hangar.EndpointAuthToken {
		tok, exp, err := api.Token(ctx, ws, e.Name)
		if err != nil {
			return nil, "", err
		}
		now := time.Now()
		// Refresh once half its life has passed, as Azure suggests.
		return endpointToken{AccessToken: tok, TokenType: "Bearer", Expiry: exp.Unix(), RefreshAt: now.Add(exp.Sub(now) / 2).Unix()}, tok, nil
	}
	keys, err := api.EndpointKeys(ctx, ws, e.Name)
	if err != nil {
		return nil, "", err
	}
	return keys, keys.Primary, nil
}

func newEndpointCredentialsCmd(cli *clientConfig) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "get-credentials -n NAME",
		Short: "Print the endpoint's keys (auth_mode key) or a fresh token (aml_token)",
		Example: "  hangar online-endpoint get-credentials -n churn\n" +
			"  KEY=$(hangar online-endpoint get-credentials -n churn --query primaryKey -o tsv)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			e, err := api.OnlineEndpoint(cmd.Context(), cli.Workspace, name)
			if err != nil {
				return err
			}
			creds, _, err := credential(cmd.Context(), api, cli.Workspace, e)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), creds)
		},
	}
	endpointNameFlag(cmd, &name)
	return cmd
}

func newEndpointRegenerateCmd(cli *clientConfig) *cobra.Command {
	var name, keyType string
	cmd := &cobra.Command{
		Use:   "regenerate-keys -n NAME --key-type primary|secondary",
		Short: "Replace one of the endpoint's keys; the other keeps working meanwhile",
		Long: `Replace the primary or the secondary key of an endpoint with a fresh one: the
old key stops working at once, the other key keeps working, so clients can
move to it first. Prints both keys. An aml_token endpoint is refused, as in
Azure: its callers hold tokens, which expire on their own, not keys.`,
		Example: "  hangar online-endpoint regenerate-keys -n churn --key-type secondary",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			if keyType != hangar.KeyPrimary && keyType != hangar.KeySecondary {
				return invalidf("--key-type %q: want primary or secondary", keyType)
			}
			api, _, err := cli.endpointClient()
			if err != nil {
				return err
			}
			keys, err := api.RegenerateKey(cmd.Context(), cli.Workspace, name, keyType)
			if err != nil {
				return err
			}
			return cli.printResult(cmd.OutOrStdout(), keys)
		},
	}
	endpointNameFlag(cmd, &name)
	cmd.Flags().StringVar(&keyType, "key-type", hangar.KeyPrimary, "the key to replace: primary or secondary")
	return cmd
}

// maxScoreResponse bounds the answer invoke reads and prints.
const maxScoreResponse = 64 << 20

func newEndpointInvokeCmd(cli *clientConfig) *cobra.Command {
	var name, requestFile, deployment string
	cmd := &cobra.Command{
		Use:   "invoke -n NAME --request-file FILE",
		Short: "Score a request with the endpoint and print the answer",
		Long: `POST the request file to the endpoint's scoring URI with the endpoint's
credential (its primary key, or a fresh aml_token) and print the answer.
--deployment-name sends it to that deployment (the azureml-model-deployment
header), whatever the traffic says — how a deployment taking no traffic is
tried before it gets any. --request-file - reads the request from stdin.`,
		Example: "  hangar online-endpoint invoke -n churn --request-file sample.json\n" +
			"  hangar online-endpoint invoke -n churn --request-file sample.json --deployment-name green",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireEndpoint(name); err != nil {
				return err
			}
			if requestFile == "" {
				return invalidf("give the request with --request-file/-r (a JSON file, or - for stdin)")
			}
			var body []byte
			var err error
			if requestFile == "-" {
				body, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxSpecFileSize+1))
			} else {
				body, err = readSpecFile(requestFile)
			}
			if err != nil {
				return err
			}
			if len(body) > maxSpecFileSize {
				return invalidf("the request is larger than %d bytes", maxSpecFileSize)
			}
			api, cl, err := cli.endpointClient()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			e, err := api.OnlineEndpoint(ctx, cli.Workspace, name)
			if err != nil {
				return err
			}
			_, secret, err := credential(ctx, api, cli.Workspace, e)
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(cli.URL, "/")+e.ScoringPath, bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+secret)
			if deployment != "" {
				req.Header.Set("azureml-model-deployment", deployment)
			}
			hc := cl.HTTPClient
			if hc == nil {
				hc = http.DefaultClient
			}
			resp, err := hc.Do(req)
			if err != nil {
				return fmt.Errorf("invoke endpoint %s: %w", name, err)
			}
			defer resp.Body.Close()
			answer, err := io.ReadAll(io.LimitReader(resp.Body, maxScoreResponse))
			if err != nil {
				return fmt.Errorf("invoke endpoint %s: read the answer: %w", name, err)
			}
			if resp.StatusCode/100 != 2 {
				return scoreError(name, resp, answer)
			}
			w := cmd.OutOrStdout()
			if _, err := w.Write(bytes.TrimRight(answer, "\n")); err != nil {
				return err
			}
			_, err = fmt.Fprintln(w)
			return err
		},
	}
	endpointNameFlag(cmd, &name)
	cmd.Flags().StringVarP(&requestFile, "request-file", "r", "", "the request body: a JSON file, or - for stdin")
	cmd.Flags().StringVarP(&deployment, "deployment-name", "d", "", "score with this deployment, bypassing the traffic split")
	return cmd
}

// scoreError is a scoring answer that is not a 2xx, with the code and
// message of its error body ({"error"|"message": …, "code": …}).
func scoreError(endpoint string, resp *http.Response, body []byte) error {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	msg := firstNonEmpty(e.Error, e.Message, strings.TrimSpace(string(body)), resp.Status)
	code := e.Code
	switch {
	case code == "" && resp.StatusCode == http.StatusUnauthorized:
		code = hangar.EUNAUTHORIZED
	case code == "" && resp.StatusCode == http.StatusNotFound:
		code = hangar.ENOTFOUND
	case code == "":
		code = hangar.EINVALID
	}
	return hangar.Errorf(code, "invoke endpoint %s: %s: %s (%s)", endpoint, resp.Status, msg, code)
}

// endpointUnapplied lists what an endpoint YAML sets that only matters on
// Azure, so that nobody believes it applied.
func endpointUnapplied(s *jobspec.OnlineEndpoint) []string {
	var notes []string
	if len(s.Identity) > 0 {
		notes = append(notes, "identity is not applied: workers run as the server's user, with its credentials")
	}
	if s.PublicNetworkAccess != "" {
		notes = append(notes, "public_network_access is not applied: the endpoint is on the server's scoring listener")
	}
	return notes
}
