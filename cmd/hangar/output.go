package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v3"
)

// printResult writes v in the chosen output format. v is first rendered as
// JSON, so every format shows the API's field names (Azure's, as `az ml -o
// json` does). columns name the fields of a table row, in order.
func (c *clientConfig) printResult(w io.Writer, v any, columns ...string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("render output: %w", err)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("render output: %w", err)
	}
	if c.query != "" {
		doc = queryPath(doc, c.query)
	}
	switch c.output {
	case "none":
		return nil
	case "yaml":
		doc = plainNumbers(doc)
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return err
		}
		return enc.Close()
	case "table", "tsv":
		return writeTable(w, doc, columns, c.output == "tsv")
	default:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
}

// queryPath follows a dotted path ("traffic.blue", "value.0.name") through
// decoded JSON; a missing step yields nil, as JMESPath does.
func queryPath(doc any, path string) any {
	for _, step := range strings.Split(path, ".") {
		switch d := doc.(type) {
		case map[string]any:
			doc = d[step]
		case []any:
			var i int
			if _, err := fmt.Sscanf(step, "%d", &i); err != nil || i < 0 || i >= len(d) {
				return nil
			}
			doc = d[i]
		default:
			return nil
		}
	}
	return doc
}

func writeTable(w io.Writer, doc any, columns []string, tsv bool) error {
	var rows []any
	switch d := doc.(type) {
	case []any:
		rows = d
	case map[string]any:
		if v, ok := d["value"].([]any); ok {
			rows = v
		} else {
			rows = []any{d}
		}
	default:
		_, err := fmt.Fprintln(w, scalar(doc))
		return err
	}
	if len(columns) == 0 && len(rows) > 0 {
		if m, ok := rows[0].(map[string]any); ok {
			for k := range m {
				columns = append(columns, k)
			}
		}
	}
	sep := "\t"
	out := w
	var tw *tabwriter.Writer
	if !tsv {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
		header := make([]string, len(columns))
		for i, c := range columns {
			header[i] = strings.ToUpper(strings.ReplaceAll(c, "_", " "))
		}
		fmt.Fprintln(out, strings.Join(header, sep))
	}
	for _, r := range rows {
		m, _ := r.(map[string]any)
		cells := make([]string, len(columns))
		for i, c := range columns {
			cells[i] = scalar(queryPath(m, c))
		}
		fmt.Fprintln(out, strings.Join(cells, sep))
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return fmt.Sprint(t)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// plainNumbers turns json.Number into int64 or float64, so YAML prints
// numbers as numbers rather than quoted strings.
func plainNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	case map[string]any:
		for k, e := range t {
			t[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = plainNumbers(e)
		}
	}
	return v
}
