package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar/mlmodel"
)

func TestBuiltinTracking(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/2.0/mlflow/runs/log-batch" {
			http.Error(w, "wrong route", http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		mu.Lock()
		bodies = append(bodies, body)
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	vars := map[string]string{"MLFLOW_TRACKING_URI": srv.URL, "MLFLOW_RUN_ID": "run1", "MLFLOW_TRACKING_TOKEN": "tok"}
	getenv := func(k string) string { return vars[k] }

	dir := t.TempDir()
	data := labelled(t, filepath.Join(dir, "d.csv"), []string{"a", "b"})
	mustRunEnv(t, getenv, "train-gbdt", "--train", data, "--valid", data, "--label", "label", "--output", filepath.Join(dir, "m"),
		"--objective", "binary:logistic", "--n-estimators", "600", "--learning-rate", "0.01")
	if len(bodies) != 2 { // 1200 per-round metrics + finals: two requests of at most 1000
		t.Fatalf("got %d log-batch requests, want 2", len(bodies))
	}
	if auth[0] != "Bearer tok" {
		t.Errorf("Authorization %q, want Bearer tok", auth[0])
	}
	if bodies[0]["run_id"] != "run1" {
		t.Errorf("run_id %v", bodies[0]["run_id"])
	}
	params := bodies[0]["params"].([]any)
	found := false
	for _, p := range params {
		if pm := p.(map[string]any); pm["key"] == "learning_rate" && pm["value"] == "0.01" {
			found = true
		}
	}
	if !found {
		t.Errorf("params lack learning_rate=0.01: %v", params)
	}
	for i, b := range bodies { // MLflow's limit counts params, metrics and tags together
		if n := len(b["params"].([]any)) + len(b["metrics"].([]any)); n > 1000 {
			t.Errorf("request %d carries %d params and metrics; MLflow accepts at most 1000", i, n)
		}
	}
	metrics := append(bodies[0]["metrics"].([]any), bodies[1]["metrics"].([]any)...)
	if len(metrics) < 1200 {
		t.Errorf("got %d metrics, want 600 rounds × train and valid", len(metrics))
	}
	desc, _ := mlmodel.Read(filepath.Join(dir, "m"))
	if desc.RunID != "run1" {
		t.Errorf("MLmodel run_id %q, want run1", desc.RunID)
	}

	// evaluate logs its metrics too, under --metric-prefix.
	n0 := len(bodies)
	mustRunEnv(t, getenv, "evaluate", "--model", filepath.Join(dir, "m"), "--input", data, "--label", "label", "--metric-prefix", "test_")
	if len(bodies) != n0+1 {
		t.Fatalf("evaluate sent %d log-batch requests, want 1", len(bodies)-n0)
	}
	var keys []string
	for _, m := range bodies[n0]["metrics"].([]any) {
		keys = append(keys, m.(map[string]any)["key"].(string))
	}
	if !slices.Contains(keys, "test_accuracy") || !slices.Contains(keys, "test_roc_auc") {
		t.Errorf("evaluate logged %v, want test_accuracy and test_roc_auc among them", keys)
	}

	// Without the variables, nothing is sent.
	vars = map[string]string{}
	n := len(bodies)
	mustRunEnv(t, getenv, "train-linear", "--train", data, "--label", "label", "--output", filepath.Join(dir, "l"), "--objective", "binary:logistic")
	if len(bodies) != n {
		t.Error("tracked without MLFLOW_TRACKING_URI")
	}
}
