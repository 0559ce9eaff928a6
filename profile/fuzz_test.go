package profile

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// FuzzCSV holds the profiler to tabular.ReadCSV on any input: the same
// errors with the same messages, and on what both accept, statistics that
// agree with the exact ones — read sequentially and in tiny chunks over
// several workers — in a profile that validates and survives JSON.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n2,\"y\nz\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, want := tabular.ReadCSV(bytes.NewReader(data))
		if want == nil && slices.ContainsFunc(frame.Names(), func(n string) bool { return !utf8.ValidString(n) }) {
			// Refused on purpose: a name JSON cannot hold as it is.
			if _, err := CSV(t.Context(), bytes.NewReader(data), Options{}); hangar.ErrorCode(err) != hangar.EINVALID {
				t.Fatalf("name not UTF-8: got %v, want EINVALID", err)
			}
			return
		}
		for _, opt := range []Options{{Workers: 1}, {Workers: 3, ChunkSize: 5}} {
			p, err := CSV(t.Context(), bytes.NewReader(data), opt)
			if (err == nil) != (want == nil) || (err != nil && err.Error() != want.Error()) {
				t.Fatalf("%+v: got %v, ReadCSV gives %v", opt, err, want)
			}
			if err != nil {
				continue
			}
			checkAgainstExact(t, p, frame, data)
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(b)
			if err != nil {
				t.Fatalf("decode own profile: %v\n%s", err, b)
			}
			if d := cmp.Diff(p, back); d != "" {
				t.Fatalf("round trip (-want +got):\n%s", d)
			}
		}
	})
}

// FuzzDecode: whatever Decode accepts is valid, writes as JSON and reads
// back the same.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"rows":0,"columns":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal a decoded profile: %v", err)
		}
		back, err := Decode(b)
		if err != nil {
			t.Fatalf("decode again: %v\n%s", err, b)
		}
		if d := cmp.Diff(p, back); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}
