package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/mlflow"
)

// The model-version tags a gate records on the candidate.
const (
	TagVerdict  = hangar.TagGateVerdict  // passed or failed
	TagRules    = hangar.TagGateRules    // JSON: each rule's values and outcome
	TagChampion = hangar.TagGateChampion // name:version compared, or "none"
)

// Registry is what the gate reads from and records on: the MLflow model
// registry and tracking routes (mlflow.Client), so that the CLI, a
// pipeline step and an MLflow server all see one registry.
type Registry interface {
	RegisteredModel(ctx context.Context, name string) (*hangar.RegisteredModel, error)
	ModelVersion(ctx context.Context, name, version string) (*hangar.ModelVersion, error)
	GetRun(ctx context.Context, runID string) (*mlflow.RunEntity, error)
	SetModelVersionTag(ctx context.Context, name, version, key, value string) error
}

var _ Registry = (*mlflow.Client)(nil)

// Metrics are the latest value of each metric of a run.
type Metrics = map[string]float64

// VersionMetrics returns a model version and the metrics of the run it was
// made from. Errors: EINVALID when the version names no run; the
// registry's (ENOTFOUND for the model, version or run).
func VersionMetrics(ctx context.Context, reg Registry, name, version string) (*hangar.ModelVersion, Metrics, error) {
	v, err := reg.ModelVersion(ctx, name, version)
	if err != nil {
		return nil, nil, err
	}
	if v.RunID == "" {
		return nil, nil, hangar.Errorf(hangar.EINVALID, "model %s:%s was not made from a run: it has no metrics to gate", name, version)
	}
	run, err := reg.GetRun(ctx, v.RunID)
	if err != nil {
		return nil, nil, fmt.Errorf("run %s of model %s:%s: %w", v.RunID, name, version, err)
	}
	m := Metrics{}
	for _, x := range run.Data.Metrics {
		m[x.Key] = float64(x.Value)
	}
	return v, m, nil
}

// Champion returns the version an alias of the model points at and its
// run's metrics, or nil and nil when the model does not exist or has no
// such alias (there is then no champion). Errors: as VersionMetrics'.
func Champion(ctx context.Context, reg Registry, name, alias string) (*hangar.ModelVersion, Metrics, error) {
	m, err := reg.RegisteredModel(ctx, name)
	if hangar.ErrorCode(err) == hangar.ENOTFOUND {
		return nil, nil, nil // the first model of its name has no champion
	}
	if err != nil {
		return nil, nil, err
	}
	for _, a := range m.Aliases {
		if a.Alias == alias {
			v, metrics, err := VersionMetrics(ctx, reg, name, a.Version)
			if err != nil {
				return nil, nil, fmt.Errorf("champion (alias %s): %w", alias, err)
			}
			return v, metrics, nil
		}
	}
	return nil, nil, nil
}

// Record sets the gate's tags on a model version: TagVerdict, TagRules and
// TagChampion ("none" when there was no champion). The server audits each
// tag write. Errors: the registry's.
func Record(ctx context.Context, reg Registry, name, version string, v *Verdict) error {
	champion := v.Champion
	if champion == "" {
		champion = "none"
	}
	for _, t := range [][2]string{
		{TagRules, RulesTag(v)},
		{TagChampion, champion},
		{TagVerdict, string(v.Verdict)}, // last: a verdict is never next to older rules
	} {
		if err := reg.SetModelVersionTag(ctx, name, version, t[0], t[1]); err != nil {
			return fmt.Errorf("record %s on %s:%s: %w", t[0], name, version, err)
		}
	}
	return nil
}

// RulesTag is the value of TagRules: the results as a JSON array, within
// the registry's limit on a tag value (hangar.MaxModelTagValueLength). When
// the full results do not fit, it keeps each rule with its outcome only,
// and when even those do not fit, as many as do and a last entry saying
// how many were left out.
func RulesTag(v *Verdict) string {
	full := marshal(v.Rules)
	if fits(full) {
		return string(full)
	}
	type brief struct {
		Rule    string  `json:"rule"`
		Outcome Outcome `json:"outcome"`
	}
	short := make([]brief, 0, len(v.Rules))
	for _, r := range v.Rules {
		short = append(short, brief{r.Rule, r.Outcome})
	}
	for n := len(short); n > 0; n-- {
		list := short[:n]
		if n < len(short) {
			list = append(list[:n:n], brief{Rule: fmt.Sprintf("… %d more rules not recorded", len(short)-n)})
		}
		b := marshal(list)
		if fits(b) {
			return string(b)
		}
	}
	return "[]"
}

// marshal renders v as compact JSON without escaping <, > and &, so that a
// person reading the tag sees the rules as written.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // Numbers and strings: cannot fail
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func fits(b []byte) bool { return utf8.RuneCount(b) <= hangar.MaxModelTagValueLength }
