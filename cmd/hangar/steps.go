package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// steps prints numbered progress lines for long CLI work:
// "[2/6] Issuing a token … ok: detail (120ms)".
type steps struct {
	w     io.Writer
	n, of int
	began time.Time
	// broke is set once a detail line ended the step's first line.
	broke bool
}

func newSteps(w io.Writer, of int) *steps { return &steps{w: w, of: of} }

func (s *steps) start(format string, args ...any) {
	s.n++
	s.began = time.Now()
	fmt.Fprintf(s.w, "[%d/%d] %s … ", s.n, s.of, fmt.Sprintf(format, args...))
}

// detail prints an indented line of progress inside the current step
// (the step's "ok:" then follows on its own indented line).
func (s *steps) detail(format string, args ...any) {
	if !s.broke {
		fmt.Fprintln(s.w)
		s.broke = true
	}
	fmt.Fprintf(s.w, "      %s\n", fmt.Sprintf(format, args...))
}

func (s *steps) ok(format string, args ...any) {
	if s.broke {
		fmt.Fprint(s.w, "      ")
		s.broke = false
	}
	fmt.Fprintf(s.w, "ok: %s (%s)\n", fmt.Sprintf(format, args...), time.Since(s.began).Round(time.Millisecond))
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read owner token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
