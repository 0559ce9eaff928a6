package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/artifact"
	"github.com/hangar-ml/hangar/profile"
)

// TestProgressBar drives the renderer as on a terminal (--progress bar)
// with a fake clock: the bar is redrawn in place with bytes, rate and ETA,
// at most every redrawEvery, and replaced by the summary at the end.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	b, err := newProgressBar(&out, "bar")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	b.now, b.start = func() time.Time { return now }, start
	const mib = 1 << 20
	now = start.Add(time.Second)
	b.update(artifact.Progress{Phase: artifact.PhaseHash, Done: 50 * mib, Total: 200 * mib})
	now = now.Add(10 * time.Millisecond) // too soon: not redrawn
	b.update(artifact.Progress{Phase: artifact.PhaseHash, Done: 51 * mib, Total: 200 * mib})
	now = start.Add(2 * time.Second)
	b.update(artifact.Progress{Phase: artifact.PhaseUpload, Done: 100 * mib, Total: 200 * mib, Skipped: 0})
	b.update(artifact.Progress{Phase: artifact.PhaseUpload, Done: 200 * mib, Total: 200 * mib})
	b.finish(3)
	lines := strings.Split(out.String(), "\r")
	want := []string{
		"",
		"hashing   [======>                 ]  25% 50.0 MiB/200.0 MiB 50.0 MiB/s ETA 3s\x1b[K",
		"uploading [============>           ]  50% 100.0 MiB/200.0 MiB 50.0 MiB/s ETA 2s\x1b[K",
		"uploading [========================] 100% 200.0 MiB/200.0 MiB 100.0 MiB/s ETA 0s\x1b[K",
		"\x1b[Kuploaded 3 files, 200.0 MiB: 200.0 MiB sent, 0 B already stored, in 2s\n",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d redraws %q, want %d", len(lines), lines, len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("redraw %d:\ngot  %q\nwant %q", i, lines[i], want[i])
		}
	}

	// Not a terminal: the summary line only; none: nothing.
	out.Reset()
	line, _ := newProgressBar(&out, "auto")
	line.update(artifact.Progress{Phase: artifact.PhaseHash, Done: 5, Total: 5})
	line.finish(1)
	if got := out.String(); !strings.HasPrefix(got, "uploaded 1 files, 5 B: 0 B sent") || strings.Contains(got, "\r") {
		t.Errorf("line mode wrote %q", got)
	}
	out.Reset()
	none, _ := newProgressBar(&out, "none")
	none.update(artifact.Progress{Phase: artifact.PhaseHash, Done: 5, Total: 5})
	none.finish(1)
	if out.Len() != 0 {
		t.Errorf("none wrote %q", out.String())
	}
	if _, err := newProgressBar(&out, "fancy"); err == nil {
		t.Error("--progress fancy: no error")
	}
}

func TestWriteProfile(t *testing.T) {
	p, err := profile.CSV(t.Context(), strings.NewReader("x,s\n1,a\n2,a\n3,\n4,b\n"), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeProfile(&out, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"profile: 4 rows, 2 columns",
		"x (integer)",
		"min 1  max 4  mean 2.5  std 1.29099",
		"quantiles p",
		"[1, 2) ",
		"█",
		"s (string)",
		"present 3  missing 1  distinct 2",
		`top "a" 2, "b" 1`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("profile text lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseDatastore(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ds.yml")
	tests := []struct {
		name, yaml string
		want       *hangar.Datastore
		err        string
	}{
		{"relative root", "name: a\ntype: local\nroot: files\n", &hangar.Datastore{Name: "a", Type: "local", Root: filepath.Join(dir, "files")}, ""},
		{"absolute root, type defaulted", "name: a\nroot: /srv/data/\ndescription: d\ntags: {k: v}\n", &hangar.Datastore{Name: "a", Type: "local", Root: "/srv/data", Description: "d", Tags: map[string]string{"k": "v"}}, ""},
		{"unknown key", "name: a\nroot: x\naccount_name: y\n", nil, "line 3: field account_name not found"},
		{"no root", "name: a\n", nil, "root is required"},
		{"empty", "", nil, "the file is empty"},
		{"two documents", "name: a\nroot: x\n---\nname: b\n", nil, "more than one YAML document"},
		{"not a mapping", "- a\n", nil, "ds.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDatastore(file, []byte(tt.yaml))
			if tt.err != "" {
				if !hangar.IsCode(err, hangar.EINVALID) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want EINVALID with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want.Name || got.Type != tt.want.Type || got.Root != tt.want.Root || got.Description != tt.want.Description || len(got.Tags) != len(tt.want.Tags) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseDatastore: any bytes give a datastore with an absolute, clean
// root, or EINVALID; never a panic.
func FuzzParseDatastore(f *testing.F) {
	for _, s := range []string{"name: a\ntype: local\nroot: files\n", "root: /x/../y\n", "name: [\n", "tags: {a: 1}\nroot: r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDatastore("/specs/ds.yml", b)
		if err != nil {
			if !hangar.IsCode(err, hangar.EINVALID) {
				t.Fatalf("error %v, want EINVALID", err)
			}
			return
		}
		if !filepath.IsAbs(d.Root) || filepath.Clean(d.Root) != d.Root {
			t.Fatalf("root %q is not absolute and clean", d.Root)
		}
	})
}
