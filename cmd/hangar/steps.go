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
}

func newSteps(w io.Writer, of int) *steps { return &steps{w: w, of: of} }

func (s *steps) start(format string, args ...any) {
	s.n++
	s.began = time.Now()
	fmt.Fprintf(s.w, "[%d/%d] %s … ", s.n, s.of, fmt.Sprintf(format, args...))
}

func (s *steps) ok(format string, args ...any) {
	fmt.Fprintf(s.w, "ok: %s (%s)\n", fmt.Sprintf(format, args...), time.Since(s.began).Round(time.Millisecond))
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read owner token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
