package jobspec

import (
	"bytes"
	"encoding/json"
	"flag"
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
