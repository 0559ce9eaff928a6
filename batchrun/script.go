package batchrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// BatchRunner runs one call of a batch scoring script's run(mini_batch):
// payload and answer are JSON in the shapes pyworker.Pool.RunBatch
// documents (the pool is the runner `hangar batch-run` wires in). Its
// errors are the script's (run() raised, the worker crashed or timed
// out); they fail the attempt at the mini-batch.
type BatchRunner interface {
	RunBatch(ctx context.Context, payload []byte) ([]byte, error)
}

// ScriptScorer scores mini-batches with an Azure-style batch scoring
// script through Runner. run(mini_batch) gets the mini-batch's absolute
// file paths, or the rows of a table mini-batch; what it returns counts
// one element per item it processed, as in Azure: a DataFrame's rows keep
// their columns, a list's elements become one column, ColumnPrediction,
// unless they are all objects (dicts), whose keys become the columns.
// Fewer elements than items is a *Partial error with the rows: the
// missing items failed.
type ScriptScorer struct {
	Runner BatchRunner
}

// ColumnPrediction is the column of the elements a scoring script's run()
// returned as a list of values that are not dicts.
const ColumnPrediction = "prediction"

// Partial is the error a Scorer returns together with the rows of what it
// scored when only some items of a mini-batch were scored: Run keeps the
// rows, does not retry the mini-batch and counts Failed items against
// ErrorThreshold.
type Partial struct {
	Items  int // the items of the mini-batch
	Failed int // how many of them failed
}

// Error implements error.
func (p *Partial) Error() string {
	return fmt.Sprintf("%d of %d items failed", p.Failed, p.Items)
}

var _ Scorer = ScriptScorer{}

// Score implements Scorer. Errors: the Runner's; EINVALID for an answer
// that is not one of the documented shapes; a *Partial (with the rows)
// when run() returned fewer elements than the mini-batch holds items.
func (s ScriptScorer) Score(ctx context.Context, mb *MiniBatch) (*tabular.Frame, error) {
	payload, err := scriptPayload(mb)
	if err != nil {
		return nil, err
	}
	out, err := s.Runner.RunBatch(ctx, payload)
	if err != nil {
		return nil, err
	}
	f, n, err := decodeAnswer(out)
	if err != nil {
		return nil, fmt.Errorf("run()'s answer: %w", err)
	}
	if items := mb.Items(); n < items {
		return f, fmt.Errorf("run() returned %s for %s: %w", plural(n, "element", "elements"), plural(items, "item", "items"), &Partial{Items: items, Failed: items - n})
	}
	return f, nil
}

// scriptPayload is what run(mini_batch) gets: {"files": [absolute
// paths]}, or {"columns": [...], "data": [[...]]} for rows, missing
// values as null and infinite ones as Infinity and -Infinity, which are
// not JSON but what Python's json.loads reads as float('inf') (strict
// JSON has no way to say them, and a string "+Inf" would reach run() as
// text).
func scriptPayload(mb *MiniBatch) ([]byte, error) {
	if mb.Rows == nil {
		files := make([]string, len(mb.Files))
		for i, p := range mb.Files {
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, err
			}
			files[i] = abs
		}
		return json.Marshal(map[string][]string{"files": files})
	}
	names, err := json.Marshal(mb.Rows.Names())
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"columns":`)
	b.Write(names)
	b.WriteString(`,"data":[`)
	for r := range mb.Rows.NumRows() {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j, c := range mb.Rows.Columns {
			if j > 0 {
				b.WriteByte(',')
			}
			var cell []byte
			switch v := c.Float; {
			case c.IsMissing(r):
				cell = []byte("null")
			case c.Kind == tabular.String:
				cell, err = json.Marshal(c.Str[r])
			case math.IsInf(v[r], 1):
				cell = []byte("Infinity")
			case math.IsInf(v[r], -1):
				cell = []byte("-Infinity")
			default:
				cell, err = json.Marshal(v[r])
			}
			if err != nil {
				return nil, err
			}
			b.Write(cell)
		}
		b.WriteByte(']')
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// decodeAnswer reads run()'s answer: {"columns": [...], "data": [[...]]}
// or {"values": [...]}. n is the number of elements run() returned.
// Errors: EINVALID.
func decodeAnswer(b []byte) (f *tabular.Frame, n int, err error) {
	var a struct {
		Columns []json.RawMessage   `json:"columns"`
		Data    [][]json.RawMessage `json:"data"`
		Values  []json.RawMessage   `json:"values"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, 0, hangar.Errorf(hangar.EINVALID, "not JSON of the batch protocol: %v", err)
	}
	switch {
	case a.Values != nil:
		return fromValues(a.Values)
	case a.Columns != nil:
		return fromTable(a.Columns, a.Data)
	}
	return nil, 0, hangar.Errorf(hangar.EINVALID, "neither columns nor values")
}

// fromTable builds the frame of a DataFrame run() returned.
func fromTable(columns []json.RawMessage, data [][]json.RawMessage) (*tabular.Frame, int, error) {
	f := &tabular.Frame{}
	seen := map[string]bool{}
	for j, raw := range columns {
		name := cellText(raw)
		if seen[name] {
			return nil, 0, hangar.Errorf(hangar.EINVALID, "the DataFrame has column %q twice", name)
		}
		seen[name] = true
		cells := make([]json.RawMessage, len(data))
		for r, row := range data {
			if len(row) != len(columns) {
				return nil, 0, hangar.Errorf(hangar.EINVALID, "row %d has %d values for %d columns", r, len(row), len(columns))
			}
			cells[r] = row[j]
		}
		f.Columns = append(f.Columns, column(name, cells))
	}
	return f, len(data), nil
}

// fromValues builds the frame of a list run() returned: the keys of
// dicts as columns (in the order they first appear), any other elements
// as ColumnPrediction.
func fromValues(values []json.RawMessage) (*tabular.Frame, int, error) {
	rows := make([]map[string]json.RawMessage, len(values))
	var names []string
	seen := map[string]bool{}
	for i, v := range values {
		keys, vals, ok := object(v)
		if !ok {
			rows = nil
			break
		}
		rows[i] = map[string]json.RawMessage{}
		for k, key := range keys {
			if !seen[key] {
				seen[key] = true
				names = append(names, key)
			}
			rows[i][key] = vals[k]
		}
	}
	if rows == nil || len(values) == 0 {
		return &tabular.Frame{Columns: []*tabular.Column{column(ColumnPrediction, values)}}, len(values), nil
	}
	f := &tabular.Frame{}
	for _, name := range names {
		cells := make([]json.RawMessage, len(rows))
		for i, r := range rows {
			cells[i] = r[name] // nil: null
		}
		f.Columns = append(f.Columns, column(name, cells))
	}
	return f, len(values), nil
}

// object reads a JSON object's keys and values in order; ok is false for
// any other JSON value.
func object(raw json.RawMessage) (keys []string, vals []json.RawMessage, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, nil, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false
		}
		keys, vals = append(keys, key), append(vals, v)
	}
	return keys, vals, true
}

// column makes a numeric column when every cell is a number or null
// (null: missing), else a text column of the cells' text.
func column(name string, cells []json.RawMessage) *tabular.Column {
	nums := make([]float64, len(cells))
	numeric := true
	for i, c := range cells {
		c = bytes.TrimSpace(c)
		if len(c) == 0 || string(c) == "null" {
			nums[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(string(c), 64)
		if err != nil || !isNumber(c) {
			numeric = false
			break
		}
		nums[i] = v
	}
	if numeric {
		return &tabular.Column{Name: name, Kind: tabular.Numeric, Float: nums}
	}
	strs := make([]string, len(cells))
	for i, c := range cells {
		strs[i] = cellText(c)
	}
	return &tabular.Column{Name: name, Kind: tabular.String, Str: strs}
}

// isNumber reports whether a JSON value is a number (ParseFloat also
// takes "Inf" and "NaN", which are not JSON).
func isNumber(c []byte) bool {
	return c[0] == '-' || c[0] >= '0' && c[0] <= '9'
}

// cellText is a JSON value as the output's text: a string as it is, null
// as "", true and false as Python and pandas write them (True, False),
// anything else as its compact JSON.
func cellText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "", "null":
		return ""
	case "true":
		return "True"
	case "false":
		return "False"
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// partialOf returns the *Partial in err's chain, or nil.
func partialOf(err error) *Partial {
	var p *Partial
	if errors.As(err, &p) {
		return p
	}
	return nil
}
