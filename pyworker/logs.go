package pyworker

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogLine is one line a worker wrote to stdout or stderr.
type LogLine struct {
	Time   time.Time
	Worker int // the worker slot, 0-based
	PID    int
	Text   string
}

// String formats the line as `online-deployment get-logs` shows it.
func (l LogLine) String() string {
	return fmt.Sprintf("%s worker=%d pid=%d %s", l.Time.UTC().Format(time.RFC3339Nano), l.Worker, l.PID, l.Text)
}

// maxLineBytes bounds one captured line; the rest of a longer line is
// dropped, so a script printing megabytes without a newline cannot grow the
// ring beyond its bound.
const maxLineBytes = 8 << 10

// ring keeps the last lines of every worker's output.
type ring struct {
	mu    sync.Mutex
	lines []LogLine
	next  int
	full  bool
}

func newRing(n int) *ring { return &ring{lines: make([]LogLine, n)} }

func (r *ring) add(l LogLine) {
	r.mu.Lock()
	r.lines[r.next] = l
	r.next++
	if r.next == len(r.lines) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// last returns up to n of the newest lines, oldest first.
func (r *ring) last(n int) []LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := r.next
	if r.full {
		size = len(r.lines)
	}
	if n <= 0 || n > size {
		n = size
	}
	out := make([]LogLine, 0, n)
	for i := size - n; i < size; i++ {
		j := i
		if r.full {
			j = (r.next + i) % len(r.lines)
		}
		out = append(out, r.lines[j])
	}
	return out
}

// capture reads a worker's output line by line into the ring and the logger
// until the pipe ends.
func capture(r io.Reader, dst *ring, log *slog.Logger, worker, pid int, now func() time.Time) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := string(trimNewline(line))
			if err == bufio.ErrBufferFull {
				// Drop the rest of an overlong line.
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
				text += " [line truncated]"
			}
			dst.add(LogLine{Time: now(), Worker: worker, PID: pid, Text: text})
			log.Info(text, "worker", worker, "pid", pid)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
