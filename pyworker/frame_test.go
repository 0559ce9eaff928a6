package pyworker

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

func frame(kind byte, payload string) []byte {
	var b bytes.Buffer
	writeFrame(&b, kind, []byte(payload))
	return b.Bytes()
}

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name        string
		in          []byte
		limit       int
		wantKind    byte
		wantPayload string
		wantErr     error  // errors.Is
		wantErrText string // or a part of the message
	}{
		{name: "result", in: frame(kindResult, `{"a":1}`), limit: 100, wantKind: kindResult, wantPayload: `{"a":1}`},
		{name: "empty payload", in: frame(kindReady, ""), limit: 100, wantKind: kindReady},
		{name: "at the limit", in: frame(kindResult, "12345"), limit: 5, wantKind: kindResult, wantPayload: "12345"},
		{name: "over the limit", in: frame(kindResult, "123456"), limit: 5, wantKind: kindResult, wantErr: errFrameTooLarge},
		{name: "no bytes", in: nil, limit: 5, wantErr: io.EOF},
		{name: "short header", in: []byte{0, 0, 0}, limit: 5, wantErr: io.ErrUnexpectedEOF},
		{name: "short payload", in: frame(kindResult, "12345")[:7], limit: 5, wantErr: io.ErrUnexpectedEOF},
		{name: "header only", in: frame(kindResult, "12345")[:5], limit: 5, wantErr: io.ErrUnexpectedEOF},
		{name: "unknown kind", in: frame('X', "1"), limit: 5, wantErrText: `frame kind 'X' is unknown`},
		{name: "huge length, short stream", in: []byte{0xff, 0xff, 0xff, 0xff, kindResult, 1}, limit: 5, wantErrText: "drop a 4294967295-byte frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, payload, err := readFrame(bytes.NewReader(tt.in), tt.limit)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
			case tt.wantErrText != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("got %v, want %q", err, tt.wantErrText)
				}
			case err != nil:
				t.Fatalf("readFrame: %v", err)
			}
			if err == nil || errors.Is(err, errFrameTooLarge) {
				if kind != tt.wantKind || string(payload) != tt.wantPayload {
					t.Errorf("got %q %q, want %q %q", kind, payload, tt.wantKind, tt.wantPayload)
				}
			}
		})
	}
}

// TestReadFrameInStep: a frame over the limit is dropped whole, so the next
// one is read correctly.
func TestReadFrameInStep(t *testing.T) {
	in := bytes.NewReader(append(frame(kindResult, strings.Repeat("x", 100)), frame(kindError, `{"message":"m"}`)...))
	if _, _, err := readFrame(in, 10); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("got %v, want %v", err, errFrameTooLarge)
	}
	kind, payload, err := readFrame(in, 100)
	if err != nil || kind != kindError || string(payload) != `{"message":"m"}` {
		t.Errorf("got %q %q %v, want the error frame", kind, payload, err)
	}
}

func TestParseWorkerError(t *testing.T) {
	tests := []struct {
		payload string
		want    Error
	}{
		{`{"code":"script_error","message":"run() raised ValueError: x","traceback":"T"}`,
			Error{Code: CodeScript, Message: "run() raised ValueError: x", Traceback: "T"}},
		{`{"code":"missing_packages","message":"m","missing":["mlflow"]}`,
			Error{Code: CodeMissingPackages, Message: "m", Missing: []string{"mlflow"}}},
		{`{"code":"bad_request","message":"m"}`, Error{Code: CodeBadRequest, Message: "m"}},
		{`{"code":"init_failed","message":"m"}`, Error{Code: CodeInitFailed, Message: "m"}},
		// A code the worker may not claim (only the pool times out or
		// crashes) is a script error.
		{`{"code":"timeout","message":"m"}`, Error{Code: CodeScript, Message: "m"}},
		{`{"message":"m"}`, Error{Code: CodeScript, Message: "m"}},
		{`{"code":"script_error"}`, Error{Code: CodeCrashed, Message: "the worker sent a malformed error frame"}},
		{`not json`, Error{Code: CodeCrashed, Message: "the worker sent a malformed error frame"}},
	}
	for _, tt := range tests {
		got := parseWorkerError([]byte(tt.payload))
		if got.Code != tt.want.Code || got.Message != tt.want.Message || got.Traceback != tt.want.Traceback || strings.Join(got.Missing, ",") != strings.Join(tt.want.Missing, ",") {
			t.Errorf("%s: got %+v, want %+v", tt.payload, *got, tt.want)
		}
	}
}

// FuzzReadFrame: any byte stream from a worker decodes to a frame within the
// limit or an error, never a panic; a decoded frame encodes back to the
// bytes it came from; error payloads always give a code and a message.
func FuzzReadFrame(f *testing.F) {
	f.Add(frame(kindResult, `{"a":1}`))
	f.Add(frame(kindError, `{"code":"script_error","message":"m","traceback":"t","missing":["x"]}`))
	f.Add(frame(kindReady, `{"python":"3.11.2","pid":1}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, kindResult})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 10
		r := bytes.NewReader(in)
		for {
			before := len(in) - r.Len()
			kind, payload, err := readFrame(r, limit)
			if errors.Is(err, errFrameTooLarge) {
				continue
			}
			if err != nil {
				return
			}
			if len(payload) > limit {
				t.Fatalf("got a %d-byte payload over the %d limit", len(payload), limit)
			}
			after := len(in) - r.Len()
			if got := frame(kind, string(payload)); !bytes.Equal(got, in[before:after]) {
				t.Fatalf("re-encoded %q, want %q", got, in[before:after])
			}
			if kind == kindError {
				if e := parseWorkerError(payload); e.Code == "" || e.Message == "" {
					t.Fatalf("got %+v from %q, want a code and a message", e, payload)
				}
			}
		}
	})
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and a parenthesis, as a script may set.
	stat := "4242 (python3 (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 1 0 100 123456789 2560 18446744073709551615 1 1 0 0 0 0 0 16781312 0 0 0 17 1 0 0 0 0 0"
	cpu, rss, err := parseStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if cpu != 3.0 {
		t.Errorf("got cpu %v s, want 3 (300 ticks)", cpu)
	}
	if want := int64(2560) * int64(pageSizeForTest()); rss != want {
		t.Errorf("got rss %d, want %d", rss, want)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2", strings.Replace(stat, " 250 ", " x ", 1)} {
		if _, _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("%q: got no error, want one", bad)
		}
	}
}

func TestRing(t *testing.T) {
	r := newRing(3)
	if got := r.last(0); len(got) != 0 {
		t.Errorf("empty: got %v", got)
	}
	for i := range 5 {
		r.add(LogLine{Text: string(rune('a' + i))})
	}
	texts := func(ls []LogLine) string {
		var s string
		for _, l := range ls {
			s += l.Text
		}
		return s
	}
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "cde"}, {-1, "cde"}, {2, "de"}, {3, "cde"}, {9, "cde"}} {
		if got := texts(r.last(tt.n)); got != tt.want {
			t.Errorf("last(%d): got %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestCaptureLongLine(t *testing.T) {
	r := newRing(10)
	in := strings.Repeat("x", 3*maxLineBytes) + "\nnext\r\nlast without newline"
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	capture(strings.NewReader(in), r, slog.New(slog.DiscardHandler), 1, 7, func() time.Time { return now })
	got := r.last(0)
	if len(got) != 3 {
		t.Fatalf("got %d lines, want 3", len(got))
	}
	if len(got[0].Text) > maxLineBytes+50 || !strings.HasSuffix(got[0].Text, "[line truncated]") {
		t.Errorf("got a %d-byte first line, want it cut at %d and marked", len(got[0].Text), maxLineBytes)
	}
	if got[1].Text != "next" || got[2].Text != "last without newline" || got[2].Worker != 1 || got[2].PID != 7 || !got[2].Time.Equal(now) {
		t.Errorf("got %+v, want next and the last line from worker 1 pid 7", got[1:])
	}
}

func pageSizeForTest() int { return os.Getpagesize() }
