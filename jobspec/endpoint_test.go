package jobspec

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readSpec(t *testing.T, name string) (string, []byte) {
	t.Helper()
	file := filepath.Join("testdata", "endpoints", name)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return file, b
}

func TestParseEndpointFiles(t *testing.T) {
	file, b := readSpec(t, "endpoint.yml")
	e, err := ParseOnlineEndpoint(file, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "my-endpoint" || e.AuthMode != AuthKey || e.Traffic != nil {
		t.Errorf("endpoint: got %+v", e)
	}
	e, err = ParseOnlineEndpoint(file, b, []string{"auth_mode=aml_token", "traffic.blue=100"})
	if err != nil {
		t.Fatal(err)
	}
	if e.AuthMode != AuthAMLToken || !maps.Equal(e.Traffic, map[string]int{"blue": 100}) {
		t.Errorf("endpoint with --set: got %+v", e)
	}

	file, b = readSpec(t, "blue-deployment.yml")
	d, err := ParseOnlineDeployment(file, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "blue" || d.EndpointName != "my-endpoint" || d.Model == nil || d.Model.Path != "../../model-1/model/" ||
		d.Code == nil || d.Code.ScoringScript != "score.py" || d.Environment == nil || d.InstanceCount != 1 ||
		d.Request.RequestTimeoutMS != DefaultRequestTimeoutMS || d.Request.MaxConcurrentRequestsPerInstance != 1 ||
		d.Liveness != DefaultProbe || d.Readiness != DefaultProbe {
		t.Errorf("blue deployment: got %+v", d)
	}

	file, b = readSpec(t, "mlflow-deployment.yml")
	d, err = ParseOnlineDeployment(file, b, []string{"instance_count=3"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Model.Ref == nil || d.Model.Ref.Name != "chicago-ridership" || d.Model.Ref.Label != "latest" || d.Code != nil ||
		d.InstanceCount != 3 || d.Request.RequestTimeoutMS != 3000 || d.Request.MaxConcurrentRequestsPerInstance != 8 ||
		d.Liveness.Period != 5 || d.Liveness.InitialDelay != 5 || d.Liveness.Timeout != 2 || d.Readiness.FailureThreshold != 3 ||
		d.EnvironmentVariables["WORKER_COUNT"] != "4" || d.DataCollector == nil || d.DataCollector.SamplingRate != 0.5 ||
		!d.DataCollector.Collections["model_inputs"].Enabled || d.DataCollector.RollingRate != "Hour" {
		t.Errorf("mlflow deployment: got %+v", d)
	}

	file, b = readSpec(t, "batch-endpoint.yml")
	be, err := ParseBatchEndpoint(file, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if be.Name != "chicago-batch" || be.DefaultDeployment != "gbdt" || be.AuthMode != AuthAADToken {
		t.Errorf("batch endpoint: got %+v", be)
	}

	file, b = readSpec(t, "batch-deployment.yml")
	bd, err := ParseBatchDeployment(file, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bd.Name != "gbdt" || bd.Compute != "local" || bd.MaxConcurrencyPerInstance != 2 || bd.MiniBatchSize != 10 ||
		bd.RetryTimeoutSeconds != 300 || bd.MaxRetries != 3 || bd.ErrorThreshold != -1 || bd.OutputAction != AppendRow ||
		bd.OutputFileName != "predictions.csv" || bd.Model.Ref == nil || bd.Model.Ref.Version != "1" {
		t.Errorf("batch deployment: got %+v", bd)
	}
	file, b = readSpec(t, "batch-deployment-legacy.yml")
	bd, err = ParseBatchDeployment(file, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bd.MiniBatchSize != 5 || bd.OutputAction != SummaryOnly || bd.Code == nil || bd.Environment == nil || bd.Environment.Ref == nil {
		t.Errorf("legacy batch deployment: got %+v", bd)
	}
}

func TestParseEndpointErrors(t *testing.T) {
	const dep = "name: blue\nendpoint_name: my-endpoint\nmodel: azureml:m:1\n"
	for _, tc := range []struct {
		name  string
		parse func(string, []byte, []string) error
		yaml  string
		want  string
	}{
		{"endpoint without a name", online, "auth_mode: key\n", "name is required"},
		{"a bad name", online, "name: 1abc\n", `f.yml:1: name: "1abc" is not a valid name`},
		{"a name too short", online, "name: ab\n", "is not a valid name"},
		{"a name ending in a hyphen", online, "name: abc-\n", "is not a valid name"},
		{"aad_token", online, "name: ep1\nauth_mode: aad_token\n", "f.yml:2: auth_mode aad_token: Microsoft Entra ID tokens do not score online endpoints here"},
		{"an unknown auth mode", online, "name: ep1\nauth_mode: magic\n", `auth_mode "magic" is not one of key, aml_token`},
		{"traffic not summing to 100", online, "name: ep1\ntraffic:\n  blue: 90\n  green: 20\n", "traffic sums to 110% (blue=90 green=20): it must be 0 or 100"},
		{"a percent over 100", online, "name: ep1\ntraffic:\n  blue: 101\n", "traffic.blue 101 is out of range: 0 to 100"},
		{"two mirrored", online, "name: ep1\nmirror_traffic:\n  blue: 10\n  green: 10\n", "at most one may be mirrored to"},
		{"mirror over 50", online, "name: ep1\nmirror_traffic:\n  green: 60\n", "at most 50% may be mirrored"},
		{"live and mirrored", online, "name: ep1\ntraffic:\n  blue: 100\nmirror_traffic:\n  blue: 10\n", "takes live traffic (100%) and mirrored traffic (10%)"},
		{"an unknown key", online, "name: ep1\nauht_mode: key\n", `f.yml:2: unknown key "auht_mode"`},
		{"Kubernetes compute", online, "name: ep1\ncompute: azureml:k8s\n", "Kubernetes online endpoints are not supported"},
		{"a deployment schema given to endpoint create", online, "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\nname: ep1\n", "is not a managedOnlineEndpoint spec"},
		{"a deployment without a model", onlineDep, "name: blue\nendpoint_name: my-endpoint\n", "model is required"},
		{"a deployment without an endpoint", onlineDep, "name: blue\nmodel: azureml:m:1\n", "endpoint_name is required"},
		{"a model that is no reference", onlineDep, "name: blue\nendpoint_name: ep1\nmodel: https://example.com/m\n", "is neither a registered model"},
		{"a model of a registry's components", onlineDep, "name: blue\nendpoint_name: ep1\nmodel: azureml://registries/r/components/c/versions/1\n", "names components, not a model"},
		{"an inline model without a path", onlineDep, "name: blue\nendpoint_name: ep1\nmodel:\n  type: mlflow_model\n", "model needs a path"},
		{"an unknown model type", onlineDep, "name: blue\nendpoint_name: ep1\nmodel:\n  path: ./m\n  type: onnx\n", `model.type "onnx" is not one of`},
		{"code without an environment", onlineDep, dep + "code_configuration:\n  code: ./src\n  scoring_script: score.py\n", "code_configuration needs an environment"},
		{"a script outside its code", onlineDep, dep + "environment: azureml:e:1\ncode_configuration:\n  code: ./src\n  scoring_script: ../score.py\n", "must be a path inside code"},
		{"code without a script", onlineDep, dep + "environment: azureml:e:1\ncode_configuration:\n  code: ./src\n", "scoring_script is required"},
		{"zero instances", onlineDep, dep + "instance_count: 0\n", "instance_count 0 is out of range: 1 to 64"},
		{"a timeout over 180 s", onlineDep, dep + "request_settings:\n  request_timeout_ms: 180001\n", "request_timeout_ms 180001 is out of range"},
		{"no concurrency", onlineDep, dep + "request_settings:\n  max_concurrent_requests_per_instance: 0\n", "max_concurrent_requests_per_instance 0 is out of range"},
		{"a liveness success threshold", onlineDep, dep + "liveness_probe:\n  success_threshold: 2\n", "success_threshold must be 1 for a liveness probe"},
		{"a sampling rate over 1", onlineDep, dep + "data_collector:\n  sampling_rate: 1.5\n", "sampling_rate 1.5 is out of range: 0 to 1"},
		{"a bad rolling rate", onlineDep, dep + "data_collector:\n  rolling_rate: Weekly\n", `rolling_rate "Weekly" is not one of`},
		{"a bad environment variable", onlineDep, dep + "environment_variables:\n  '1BAD': x\n", "environment_variables"},
		{"a string count", onlineDep, dep + "instance_count: two\n", "instance_count must be an integer"},
		{"a custom container mount", onlineDep, dep + "model_mount_path: /models\n", "custom containers are not supported"},
		{"a Kubernetes deployment", onlineDep, dep + "type: kubernetes\n", "only managed online deployments are supported"},
		{"a bad --set", onlineDep, dep, "want key=value"},
		{"batch aml_token", batch, "name: be1\nauth_mode: aml_token\n", `auth_mode "aml_token" is not one of aad_token`},
		{"a batch deployment on a cluster's preview form", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\ncompute:\n  target: azureml:cpu-cluster\n", "f.yml:5: compute: a mapping (target, instance_count) is Azure's preview schema"},
		{"a compute that is no name", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\ncompute: 'a b'\n", `compute "a b": want a compute cluster's name`},
		{"an unknown scale type", onlineDep, dep + "scale_settings:\n  type: manual\n", `scale_settings.type "manual" is not one of default, target_utilization`},
		{"an inline model with a bad name", onlineDep, "name: blue\nendpoint_name: ep1\nmodel:\n  name: 'a b'\n  path: ./m\n", `model.name "a b": use letters`},
		{"pipeline settings without a type", batchDep, "name: dep1\nendpoint_name: be1\ncomponent: azureml:c@latest\n", "f.yml:3: component: pipeline component batch deployments are not supported"},
		{"a pipeline batch deployment", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\ntype: pipeline\n", "pipeline component batch deployments are not supported"},
		{"a bad output action", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\nsettings:\n  output_action: upload\n", `settings.output_action "upload" is not one of append_row, summary_only`},
		{"summary_only without a script", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\nsettings:\n  output_action: summary_only\n", "summary_only needs a scoring script"},
		{"an output file that is a path", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\nsettings:\n  output_file_name: ../x.csv\n", "must be a file name, not a path"},
		{"a mini batch of 0", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\nsettings:\n  mini_batch_size: 0\n", "mini_batch_size 0 is out of range"},
		{"an error threshold below -1", batchDep, "name: dep1\nendpoint_name: be1\nmodel: azureml:m:1\nerror_threshold: -2\n", "error_threshold -2 is out of range"},
		{"two documents", online, "name: ep1\n---\nname: ep2\n", "a second YAML document"},
		{"empty", online, "", "the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sets []string
			if tc.name == "a bad --set" {
				sets = []string{"instance_count"}
			}
			err := tc.parse("f.yml", []byte(tc.yaml), sets)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func online(file string, b []byte, sets []string) error {
	_, err := ParseOnlineEndpoint(file, b, sets)
	return err
}

func onlineDep(file string, b []byte, sets []string) error {
	_, err := ParseOnlineDeployment(file, b, sets)
	return err
}

func batch(file string, b []byte, sets []string) error {
	_, err := ParseBatchEndpoint(file, b, sets)
	return err
}

func batchDep(file string, b []byte, sets []string) error {
	_, err := ParseBatchDeployment(file, b, sets)
	return err
}

func TestParseTraffic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]int
		err  string
	}{
		{"blue=90 green=10", map[string]int{"blue": 90, "green": 10}, ""},
		{"blue=100,green=0", map[string]int{"blue": 100, "green": 0}, ""},
		{"  green=10%  ", map[string]int{"green": 10}, ""},
		{"", map[string]int{}, ""},
		{"blue", nil, "want <deployment>=<percent> pairs"},
		{"blue=101", nil, "not a whole percent from 0 to 100"},
		{"blue=-1", nil, "not a whole percent"},
		{"blue=1.5", nil, "not a whole percent"},
		{"blue=50 blue=50", nil, "names blue twice"},
		{"b=100", nil, "is not a valid name"},
	} {
		got, err := ParseTraffic(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTraffic(%q): got %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("ParseTraffic(%q): got %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if back, err := ParseTraffic(FormatTraffic(got)); err != nil || !maps.Equal(back, got) {
			t.Errorf("ParseTraffic(FormatTraffic(%v)): got %v, %v", got, back, err)
		}
	}
}

// FuzzParseTraffic: whatever the flag parser accepts is valid traffic
// (names, percents) and reads back from its canonical form.
func FuzzParseTraffic(f *testing.F) {
	for _, s := range []string{"blue=90 green=10", "blue=100,green=0", "", "x=1", "blue=50 blue=50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTraffic(s)
		if err != nil {
			return
		}
		for name, p := range got {
			if ValidateResourceName(name) != nil || p < 0 || p > 100 {
				t.Fatalf("ParseTraffic(%q) accepted %s=%d", s, name, p)
			}
		}
		back, err := ParseTraffic(FormatTraffic(got))
		if err != nil || !maps.Equal(back, got) {
			t.Fatalf("ParseTraffic(FormatTraffic(%v)) = %v, %v", got, back, err)
		}
	})
}

// FuzzParseEndpointSpecs: the four spec parsers never panic, and what
// they accept is consistent (names valid, traffic checked, counts in
// range, no custom container or Triton model, a batch compute recorded
// as azureml:<name> or local). The seed corpus holds the Azure-shaped
// fixtures of testdata/endpoints/azure-*.
func FuzzParseEndpointSpecs(f *testing.F) {
	for _, name := range []string{"endpoint.yml", "blue-deployment.yml", "mlflow-deployment.yml", "batch-endpoint.yml", "batch-deployment.yml", "batch-deployment-legacy.yml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "endpoints", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := ParseOnlineEndpoint("f.yml", b, nil); err == nil {
			if ValidateResourceName(e.Name) != nil || CheckTraffic(e.Traffic, e.MirrorTraffic) != nil {
				t.Fatalf("accepted endpoint %+v", e)
			}
		}
		if d, err := ParseOnlineDeployment("f.yml", b, nil); err == nil {
			if ValidateResourceName(d.Name) != nil || ValidateResourceName(d.EndpointName) != nil || d.Model == nil ||
				d.InstanceCount < 1 || d.InstanceCount > MaxInstances || d.Request.RequestTimeoutMS < 1 || d.Request.RequestTimeoutMS > MaxRequestTimeoutMS ||
				d.Model.Type == "triton_model" || (d.Environment != nil && len(d.Environment.InferenceConfig) > 0) {
				t.Fatalf("accepted deployment %+v", d)
			}
		}
		if e, err := ParseBatchEndpoint("f.yml", b, nil); err == nil && ValidateResourceName(e.Name) != nil {
			t.Fatalf("accepted batch endpoint %+v", e)
		}
		if d, err := ParseBatchDeployment("f.yml", b, nil); err == nil {
			if ValidateResourceName(d.Name) != nil || d.Model == nil || d.MiniBatchSize < 1 || d.ErrorThreshold < -1 ||
				(d.Compute != "" && d.Compute != "local" && !strings.HasPrefix(d.Compute, "azureml:")) {
				t.Fatalf("accepted batch deployment %+v", d)
			}
		}
	})
}
