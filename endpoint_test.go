package hangar_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
)

func TestValidateTraffic(t *testing.T) {
	tests := []struct {
		name         string
		live, mirror map[string]int
		want         string // a part of the message; "" for no error
	}{
		{"none", nil, nil, ""},
		{"all zero", map[string]int{"blue": 0, "green": 0}, nil, ""},
		{"one", map[string]int{"blue": 100}, nil, ""},
		{"canary", map[string]int{"blue": 90, "green": 10}, nil, ""},
		{"mirror", map[string]int{"blue": 100}, map[string]int{"green": 50}, ""},
		{"mirror zero on live", map[string]int{"blue": 100}, map[string]int{"blue": 0}, ""},
		{"sum", map[string]int{"blue": 90, "green": 20}, nil, "sums to 110% (blue=90 green=20)"},
		{"negative", map[string]int{"blue": -1}, nil, "a percent is 0 to 100"},
		{"over", map[string]int{"blue": 101}, nil, "a percent is 0 to 100"},
		{"mirror too much", map[string]int{"blue": 100}, map[string]int{"green": 51}, "at most 50% may be mirrored"},
		{"mirror live", map[string]int{"blue": 100}, map[string]int{"blue": 10}, "one or the other"},
		{"two mirrors", map[string]int{"blue": 100}, map[string]int{"green": 10, "red": 10}, "at most one may be mirrored to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hangar.ValidateTraffic(tt.live, tt.mirror)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want EINVALID with %q", err, tt.want)
			}
		})
	}
}

func TestValidateEndpointName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"abc", true}, {"blue-1", true}, {"A23456789012345678901234567890bc", true},
		{"", false}, {"ab", false}, {"1abc", false}, {"-abc", false}, {"abc-", false},
		{"a_bc", false}, {"a.bc", false}, {"A234567890123456789012345678901bc", false}, {"abc/d", false},
	}
	for _, tt := range tests {
		err := hangar.ValidateEndpointName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateEndpointName(%q): got %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("ValidateEndpointName(%q): got code %q, want EINVALID", tt.name, hangar.ErrorCode(err))
		}
	}
}

func TestDeploymentMoveAllowed(t *testing.T) {
	const (
		c = hangar.StateCreating
		s = hangar.StateSucceeded
		f = hangar.StateFailed
		u = hangar.StateUpdating
		d = hangar.StateDeleting
	)
	tests := []struct {
		from, to hangar.ProvisioningState
		ok       bool
	}{
		{c, s, true}, {c, f, true}, {c, d, true}, {c, u, false},
		{s, u, true}, {f, u, true}, {u, s, true}, {u, f, true}, {s, d, true}, {f, d, true}, {u, d, true},
		{s, c, false}, {f, c, false}, {s, f, false}, {f, s, false},
		{d, s, false}, {d, u, false}, {d, d, true}, {s, s, true},
	}
	for _, tt := range tests {
		why := hangar.DeploymentMoveAllowed(tt.from, tt.to)
		if (why == "") != tt.ok {
			t.Errorf("DeploymentMoveAllowed(%s, %s): got %q, want allowed %v", tt.from, tt.to, why, tt.ok)
		}
	}
}

// validSpec is a spec of a natively served model.
func validSpec() hangar.DeploymentSpec {
	p := hangar.Probe{InitialDelay: 10, Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 30}
	return hangar.DeploymentSpec{
		ModelName: "credit", ModelVersion: "3", InstanceCount: 1,
		Request:  hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1},
		Liveness: p, Readiness: p,
	}
}

func TestDeploymentSpecValidate(t *testing.T) {
	digest := hangar.Digest("sha256:" + strings.Repeat("ab", 32))
	tests := []struct {
		name   string
		change func(*hangar.DeploymentSpec)
		want   string // a part of the message; "" for no error
	}{
		{"native", func(*hangar.DeploymentSpec) {}, ""},
		{"script", func(s *hangar.DeploymentSpec) {
			s.CodeDigest, s.ScoringScript, s.EnvironmentName, s.EnvironmentVersion = digest, "score.py", "sklearn", "1"
		}, ""},
		{"no model", func(s *hangar.DeploymentSpec) { s.ModelName = "" }, "model"},
		{"no version", func(s *hangar.DeploymentSpec) { s.ModelVersion = "" }, "pins a model version"},
		{"bad digest", func(s *hangar.DeploymentSpec) { s.ModelDigest = "md5:x" }, "model_digest"},
		{"script without code", func(s *hangar.DeploymentSpec) { s.ScoringScript = "score.py" }, "go together"},
		{"script with an expression", func(s *hangar.DeploymentSpec) {
			s.CodeDigest, s.ScoringScript, s.EnvironmentName, s.EnvironmentVersion = digest, "${{inputs.x}}.py", "sklearn", "1"
		}, "scoring_script \"${{inputs.x}}.py\": expressions (${{ ... }}) are not allowed here"},
		{"script with a lone dollar", func(s *hangar.DeploymentSpec) {
			s.CodeDigest, s.ScoringScript, s.EnvironmentName, s.EnvironmentVersion = digest, "a$b{{c}}.py", "sklearn", "1"
		}, ""},
		{"script without environment", func(s *hangar.DeploymentSpec) { s.CodeDigest, s.ScoringScript = digest, "score.py" }, "needs an environment"},
		{"environment without version", func(s *hangar.DeploymentSpec) { s.EnvironmentName = "sklearn" }, "go together"},
		{"no instances", func(s *hangar.DeploymentSpec) { s.InstanceCount = 0 }, "instance_count 0"},
		{"many instances", func(s *hangar.DeploymentSpec) { s.InstanceCount = 65 }, "instance_count 65"},
		{"timeout", func(s *hangar.DeploymentSpec) { s.Request.RequestTimeoutMS = 180001 }, "request_timeout_ms"},
		{"concurrency", func(s *hangar.DeploymentSpec) { s.Request.MaxConcurrentRequestsPerInstance = 0 }, "max_concurrent_requests_per_instance"},
		{"probe", func(s *hangar.DeploymentSpec) { s.Readiness.Period = 0 }, "readiness_probe"},
		{"env name", func(s *hangar.DeploymentSpec) { s.EnvironmentVariables = map[string]string{"A=B": "x"} }, "environment variable name"},
		{"env value", func(s *hangar.DeploymentSpec) { s.EnvironmentVariables = map[string]string{"A": "x\x00"} }, "environment variable A"},
		{"sampling", func(s *hangar.DeploymentSpec) { s.DataCollector = &hangar.DataCollector{SamplingRate: 1.5} }, "sampling_rate"},
		{"sample", func(s *hangar.DeploymentSpec) { s.SampleRequest = []byte(`{"data": [[1, 2]]}`) }, ""},
		{"sample not json", func(s *hangar.DeploymentSpec) { s.SampleRequest = []byte(`{"data":`) }, "not valid JSON"},
		{"sample too large", func(s *hangar.DeploymentSpec) {
			s.SampleRequest = []byte(`"` + strings.Repeat("a", hangar.MaxSampleRequestBytes) + `"`)
		}, "sample_request is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.change(&s)
			err := s.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want EINVALID with %q", err, tt.want)
			}
		})
	}
}

func TestOnlineEndpointValidate(t *testing.T) {
	tests := []struct {
		name string
		e    hangar.OnlineEndpoint
		want string
	}{
		{"ok", hangar.OnlineEndpoint{Name: "credit", AuthMode: hangar.EndpointAuthToken}, ""},
		{"name", hangar.OnlineEndpoint{Name: "c"}, "endpoint name"},
		{"auth", hangar.OnlineEndpoint{Name: "credit", AuthMode: "aad_token"}, "auth_mode"},
		{"traffic name", hangar.OnlineEndpoint{Name: "credit", Traffic: map[string]int{"b_1": 100}}, "traffic: deployment"},
		{"traffic sum", hangar.OnlineEndpoint{Name: "credit", Traffic: map[string]int{"blue": 10}}, "sums to 10%"},
		{"state", hangar.OnlineEndpoint{Name: "credit", State: "Sleeping"}, "provisioning state"},
	}
	for _, tt := range tests {
		err := tt.e.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestNewEndpointKey(t *testing.T) {
	a, b := hangar.NewEndpointKey(), hangar.NewEndpointKey()
	if a == b {
		t.Fatalf("two keys are both %q", a)
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != hangar.EndpointKeySize {
		t.Fatalf("key %q: got %d bytes, %v; want %d base64url bytes", a, len(raw), err, hangar.EndpointKeySize)
	}
}

func TestBatchDeploymentValidate(t *testing.T) {
	settings := func() hangar.BatchSettings {
		return hangar.BatchSettings{MaxConcurrencyPerInstance: 1, MiniBatchSize: 10, MaxRetries: 3, RetryTimeoutSeconds: 30, ErrorThreshold: -1, OutputAction: hangar.BatchAppendRow}
	}
	tests := []struct {
		name   string
		change func(*hangar.BatchDeployment)
		want   string
	}{
		{"ok", func(*hangar.BatchDeployment) {}, ""},
		{"name", func(d *hangar.BatchDeployment) { d.Name = "b" }, "deployment name"},
		{"mini batch", func(d *hangar.BatchDeployment) { d.Settings.MiniBatchSize = 0 }, "mini_batch_size"},
		{"concurrency", func(d *hangar.BatchDeployment) { d.Settings.MaxConcurrencyPerInstance = 0 }, "max_concurrency_per_instance"},
		{"threshold", func(d *hangar.BatchDeployment) { d.Settings.ErrorThreshold = -2 }, "error_threshold"},
		{"retries", func(d *hangar.BatchDeployment) { d.Settings.MaxRetries = -1 }, "retry_settings"},
		{"output action", func(d *hangar.BatchDeployment) { d.Settings.OutputAction = "append" }, "output_action"},
		{"output file name", func(d *hangar.BatchDeployment) { d.Settings.OutputFileName = "out.csv" }, ""},
		{"output file name with an expression", func(d *hangar.BatchDeployment) { d.Settings.OutputFileName = "${{outputs.x}}.csv" },
			"output_file_name \"${{outputs.x}}.csv\": expressions (${{ ... }}) are not allowed here"},
		{"summary only", func(d *hangar.BatchDeployment) { d.Settings.OutputAction = hangar.BatchSummaryOnly }, "needs a scoring script"},
		{"spec", func(d *hangar.BatchDeployment) { d.Spec.InstanceCount = 0 }, "instance_count"},
		{"compute local", func(d *hangar.BatchDeployment) { d.Settings.Compute = "local" }, ""},
		{"compute of a cluster", func(d *hangar.BatchDeployment) { d.Settings.Compute = "azureml:cpu-cluster" }, ""},
		{"compute without azureml:", func(d *hangar.BatchDeployment) { d.Settings.Compute = "cpu-cluster" }, `compute "cpu-cluster": want local or azureml:<name>`},
		{"compute that is no name", func(d *hangar.BatchDeployment) { d.Settings.Compute = "azureml:a b" }, `compute "azureml:a b"`},
		{"compute azureml: alone", func(d *hangar.BatchDeployment) { d.Settings.Compute = "azureml:" }, `compute "azureml:"`},
		{"compute as a path", func(d *hangar.BatchDeployment) { d.Settings.Compute = "azureml:../x" }, `compute "azureml:../x"`},
	}
	for _, tt := range tests {
		d := hangar.BatchDeployment{Endpoint: "nightly", Name: "blue", Spec: validSpec(), Settings: settings()}
		tt.change(&d)
		err := d.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
	e := hangar.BatchEndpoint{Name: "nightly", DefaultDeployment: "b"}
	if err := e.Validate(); hangar.ErrorCode(err) != hangar.EINVALID {
		t.Errorf("batch endpoint with a bad default: got %v, want EINVALID", err)
	}
}

func TestDeploymentTransitionValidate(t *testing.T) {
	long := strings.Repeat("é", hangar.MaxDeploymentMessage) // twice the limit in bytes
	exact := strings.Repeat("a", hangar.MaxDeploymentMessage)
	for _, m := range []string{long, exact, ""} {
		msg := m
		tr := hangar.DeploymentTransition{To: hangar.StateFailed, Message: &msg}
		if err := tr.Validate(); err != nil {
			t.Fatalf("a message of %d bytes: %v", len(m), err)
		}
		if got := *tr.Message; len(got) > hangar.MaxDeploymentMessage || len(m) <= hangar.MaxDeploymentMessage && got != m {
			t.Errorf("a message of %d bytes became %d bytes", len(m), len(got))
		}
	}
	bad := []hangar.DeploymentTransition{
		{To: "Sleeping"},
		{From: []hangar.ProvisioningState{"Sleeping"}},
		{Version: -1},
		{Tags: map[string]string{"": "x"}},
	}
	for _, tr := range bad {
		if err := tr.Validate(); hangar.ErrorCode(err) != hangar.EINVALID {
			t.Errorf("%+v: got %v, want EINVALID", tr, err)
		}
	}
}
