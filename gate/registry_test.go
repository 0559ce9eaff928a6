package gate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// fakeRegistry holds one model "m" with versions 1 (run r1) and 2 (run r2)
// and 3 (no run); alias champion → 1.
type fakeRegistry struct {
	tags [][3]string // version, key, value
}

func (f *fakeRegistry) RegisteredModel(_ context.Context, name string) (*hangar.RegisteredModel, error) {
	if name != "m" {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "no model %s", name)
	}
	return &hangar.RegisteredModel{Name: "m", Aliases: []hangar.RegisteredModelAlias{{Alias: "champion", Version: "1"}}}, nil
}

func (f *fakeRegistry) ModelVersion(_ context.Context, name, version string) (*hangar.ModelVersion, error) {
	runs := map[string]string{"1": "r1", "2": "r2", "3": ""}
	run, ok := runs[version]
	if name != "m" || !ok {
		return nil, hangar.Errorf(hangar.ENOTFOUND, "no version %s:%s", name, version)
	}
	return &hangar.ModelVersion{Name: name, Version: version, RunID: run}, nil
}

func (f *fakeRegistry) GetRun(_ context.Context, id string) (*mlflow.RunEntity, error) {
	r := &mlflow.RunEntity{}
	switch id {
	case "r1":
		r.Data.Metrics = []mlflow.Metric{{Key: "rmse", Value: 2}}
	case "r2":
		r.Data.Metrics = []mlflow.Metric{{Key: "rmse", Value: 1}, {Key: "r2", Value: 0.9}}
	default:
		return nil, hangar.Errorf(hangar.ENOTFOUND, "no run %s", id)
	}
	return r, nil
}

func (f *fakeRegistry) SetModelVersionTag(_ context.Context, name, version, key, value string) error {
	f.tags = append(f.tags, [3]string{version, key, value})
	return nil
}

func TestRegistry(t *testing.T) {
	ctx := t.Context()
	reg := &fakeRegistry{}
	_, cand, err := VersionMetrics(ctx, reg, "m", "2")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Metrics{"rmse": 1, "r2": 0.9}, cand); diff != "" {
		t.Errorf("candidate metrics (-want +got):\n%s", diff)
	}
	cv, champ, err := Champion(ctx, reg, "m", "champion")
	if err != nil || cv.Version != "1" || champ["rmse"] != 2 {
		t.Fatalf("Champion: got %v %v %v, want version 1 with rmse 2", cv, champ, err)
	}
	if v, m, err := Champion(ctx, reg, "m", "prod"); v != nil || m != nil || err != nil {
		t.Errorf("no alias: got %v %v %v, want no champion", v, m, err)
	}
	if v, m, err := Champion(ctx, reg, "x", "champion"); v != nil || m != nil || err != nil {
		t.Errorf("unknown model: got %v %v %v, want no champion", v, m, err)
	}
	if _, _, err := VersionMetrics(ctx, reg, "m", "3"); hangar.ErrorCode(err) != hangar.EINVALID || !strings.Contains(err.Error(), "model m:3 was not made from a run") {
		t.Errorf("version without a run: got %v", err)
	}

	rules, _ := ParseRules([]string{"rmse <= 0.98 * champion.rmse"})
	v, err := Evaluate(rules, cand, champ)
	if err != nil {
		t.Fatal(err)
	}
	v.Champion = "m:1"
	if err := Record(ctx, reg, "m", "2", v); err != nil {
		t.Fatal(err)
	}
	want := [][3]string{
		{"2", TagRules, `[{"rule":"rmse <= 0.98 * champion.rmse","metric":"rmse","op":"<=","candidate":1,"champion":{"rmse":2},"threshold":1.96,"outcome":"passed"}]`},
		{"2", TagChampion, "m:1"},
		{"2", TagVerdict, "passed"},
	}
	if diff := cmp.Diff(want, reg.tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestRulesTagFits(t *testing.T) {
	long := "x < 1 + " + strings.Repeat("0", 480) + "1"
	for _, n := range []int{1, 9, 30, MaxRules} {
		texts := make([]string, n)
		for i := range texts {
			texts[i] = long
		}
		rules, err := ParseRules(texts)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Evaluate(rules, Metrics{"x": 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tag := RulesTag(v)
		if got := utf8.RuneCountInString(tag); got > hangar.MaxModelTagValueLength {
			t.Errorf("%d rules: tag of %d characters, want at most %d", n, got, hangar.MaxModelTagValueLength)
		}
		var back []map[string]any
		if err := json.Unmarshal([]byte(tag), &back); err != nil || len(back) == 0 {
			t.Fatalf("%d rules: tag %q: %v", n, tag, err)
		}
		if n == MaxRules && !strings.Contains(tag, "more rules not recorded") {
			t.Errorf("%d rules: got no note of the rules left out", n)
		}
	}
}
