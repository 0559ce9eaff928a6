package jobspec

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/endpoints/azure-*")

// TestAzureEndpointShapes parses endpoint and deployment files in the
// shapes of Azure's documentation and public examples (written for these
// tests, with names and values of their own). The file's name says which
// parser reads it (endpoint-, deployment-, batch-endpoint-,
// batch-deployment-); its .golden file holds what it parses to, as JSON,
// or the exact error. azure-online and azure-batch hold the shapes Hangar
// accepts, azure-refused those it refuses with a message naming the
// field and what to write instead. go test -run TestAzureEndpointShapes
// -update rewrites the golden files.
func TestAzureEndpointShapes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "endpoints", "azure-*", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("got %d fixtures, want at least 25", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseAzureShape(file, b)
			refused := filepath.Base(filepath.Dir(file)) == "azure-refused"
			switch {
			case refused && err == nil:
				t.Fatalf("parsed to %s, want an error", got)
			case !refused && err != nil:
				t.Fatalf("got error %v, want it parsed", err)
			case err != nil:
				got = []byte("error: " + err.Error() + "\n")
			}
			golden := strings.TrimSuffix(file, ".yml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// parseAzureShape parses file with the parser its name says and returns
// the result as indented JSON.
func parseAzureShape(file string, b []byte) ([]byte, error) {
	var v any
	var err error
	switch name := filepath.Base(file); {
	case strings.HasPrefix(name, "batch-endpoint-"):
		v, err = ParseBatchEndpoint(file, b, nil)
	case strings.HasPrefix(name, "batch-deployment-"):
		v, err = ParseBatchDeployment(file, b, nil)
	case strings.HasPrefix(name, "endpoint-"):
		v, err = ParseOnlineEndpoint(file, b, nil)
	case strings.HasPrefix(name, "deployment-"):
		v, err = ParseOnlineDeployment(file, b, nil)
	default:
		panic("fixture " + name + ": the name says no parser")
	}
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// TestEndpointReviewFindings: what a review found the deployment parsers
// got wrong — an inference_config given with --set was placed at line 0,
// type Managed was refused though every other enum is read in any case,
// and an environment's build with both path and local_path let the
// second silently win; an environment with inference_config was
// registered, though a deployment using it is served by python3.
func TestEndpointReviewFindings(t *testing.T) {
	const dep = "name: blue\nendpoint_name: churn\nmodel: azureml:m:1\nenvironment:\n  image: python\n"
	tests := []struct {
		name, yaml string
		sets       []string
		want       string // a part of the error; "" for none
	}{
		{"inference_config by --set is at the environment's line", dep, []string{"environment.inference_config.liveness_route.port=5001"},
			"d.yml:5: environment.inference_config: custom serving containers are not supported"},
		{"inference_config and environment by --set are in the file", "name: blue\nendpoint_name: churn\nmodel: azureml:m:1\n",
			[]string{"environment.image=python", "environment.inference_config.a=1"},
			"d.yml: environment.inference_config: custom serving containers are not supported"},
		{"inference_config in the file is at its line", dep + "  inference_config:\n    scoring_route: {port: 5001, path: /score}\n", nil,
			"d.yml:7: environment.inference_config: custom serving containers are not supported"},
		{"type Managed", dep + "type: Managed\n", nil, ""},
		{"type kubernetes", dep + "type: kubernetes\n", nil, `d.yml:6: type "kubernetes": only managed online deployments are supported`},
		{"build.path and build.local_path", "name: blue\nendpoint_name: churn\nmodel: azureml:m:1\nenvironment:\n  build:\n    path: ./a\n    local_path: ./b\n", nil,
			"d.yml:7: give one of environment.build.path and environment.build.local_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOnlineDeployment("d.yml", []byte(tt.yaml), tt.sets)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			case strings.Contains(fmt.Sprint(err), "d.yml:0:"):
				t.Errorf("got error %v, want no line 0", err)
			}
		})
	}
	for _, tt := range []struct{ yaml, want string }{
		{"name: e\nbuild:\n  local_path: ./b\n  path: ./a\n", "e.yml:3: give one of build.path and build.local_path"},
		{"name: e\nimage: python\ninference_config:\n  scoring_route: {port: 5001, path: /score}\n",
			"e.yml:4: inference_config: custom serving containers are not supported"},
	} {
		_, err := ParseEnvironment("e.yml", []byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseEnvironment(%q): got error %v, want one containing %q", tt.yaml, err, tt.want)
		}
	}
}

// TestInlineModelDescriptionTags: an inline model's description and
// tags are read, for the version it is registered as.
func TestInlineModelDescriptionTags(t *testing.T) {
	const y = "name: blue\nendpoint_name: churn\nmodel:\n  name: churn-model\n  path: model\n  description: Churn by tenure.\n  tags:\n    owner: risk\n"
	dep, err := ParseOnlineDeployment("d.yml", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := dep.Model; m.Description != "Churn by tenure." || m.Tags["owner"] != "risk" || len(m.Tags) != 1 {
		t.Errorf("got model description %q tags %v, want %q and owner=risk", m.Description, m.Tags, "Churn by tenure.")
	}
}
