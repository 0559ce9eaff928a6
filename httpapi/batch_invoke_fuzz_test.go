package httpapi

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/jobspec"
)

// FuzzBatchInvocation: whatever job name, output file name, mini-batch
// size and instance count an invoke sends, either Validate or Apply
// refuses them, or the job YAML the invoke writes parses, is named as
// asked and runs exactly the batch-run command with the overrides — the
// file name is one word of the command line its shell runs.
func FuzzBatchInvocation(f *testing.F) {
	f.Add("nightly-1", "scores.csv", 10, 2)
	f.Add("", "x.csv;touch pwned", 0, 65)
	f.Add("a b", "-rf", -1, 1)
	f.Add("name: x\ncommand: id", "$(id).csv", 1_000_000, 64)
	f.Fuzz(func(t *testing.T, jobName, fileName string, miniBatch, instances int) {
		in := &BatchInvocation{Input: "rides:1", JobName: jobName, OutputFileName: fileName, MiniBatchSize: &miniBatch, InstanceCount: &instances}
		if in.Validate() != nil {
			return
		}
		d := &hangar.BatchDeployment{Endpoint: "scorer", Name: "blue",
			Spec: hangar.DeploymentSpec{ModelName: "m", ModelVersion: "1", InstanceCount: 1,
				Request:  hangar.RequestSettings{RequestTimeoutMS: 5000, MaxConcurrentRequestsPerInstance: 1},
				Liveness: hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 3}, Readiness: hangar.Probe{Period: 10, Timeout: 2, SuccessThreshold: 1, FailureThreshold: 3}},
			Settings: hangar.BatchSettings{MaxConcurrencyPerInstance: 2, MiniBatchSize: 3, ErrorThreshold: -1, OutputAction: hangar.BatchAppendRow, OutputFileName: "predictions.csv"}}
		run, err := in.Apply(d)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("Apply: got %v, want EINVALID", err)
			}
			return
		}
		if d.Settings.MiniBatchSize != 3 || d.Spec.InstanceCount != 1 || d.Settings.OutputFileName != "predictions.csv" {
			t.Fatalf("Apply changed the deployment: %+v", d)
		}
		var sets []string
		if jobName != "" {
			sets = []string{"name=" + jobName}
		}
		text := batchJobYAML(&hangar.BatchEndpoint{Name: "scorer"}, run, "azureml:rides:1", hangar.DataURIFile, "out", "", "")
		j, err := jobspec.ParseJob("batch-invoke.yml", []byte(text), sets)
		if err != nil {
			t.Fatalf("the job YAML does not parse: %v\n%s", err, text)
		}
		if j.Name != jobName {
			t.Errorf("got job name %q, want %q", j.Name, jobName)
		}
		words := strings.Fields(j.Command)
		want := map[string]string{
			"--mini-batch-size":  strconv.Itoa(miniBatch),
			"--workers":          strconv.Itoa(2 * instances),
			"--output-file-name": "predictions.csv",
		}
		if fileName != "" {
			want["--output-file-name"] = fileName
		}
		for i, w := range words {
			if v, ok := want[w]; ok {
				if i+1 >= len(words) || words[i+1] != v {
					t.Errorf("command %q: %s is not followed by %q", j.Command, w, v)
				}
				delete(want, w)
			}
		}
		if len(want) > 0 {
			t.Errorf("command %q lacks %v", j.Command, want)
		}
		bare := strings.NewReplacer("${{inputs.model}}", "", "${{inputs.input}}", "", "${{outputs.output}}", "").Replace(j.Command)
		if strings.ContainsAny(bare, ";&|$`<>\"'\\\n") {
			t.Errorf("command %q holds a shell metacharacter", j.Command)
		}
	})
}
