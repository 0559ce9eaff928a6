package serving

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CaptureSettings is a deployment's data collector (Azure's
// data_collector): the share of requests whose inputs and outputs are
// captured.
type CaptureSettings struct {
	SamplingRate float64 // 0 (off) .. 1 (every request)
}

// Record is one captured request: the input and the output bodies as they
// went over the wire, joined by the correlation id the caller got in
// x-request-id (and may have chosen itself).
type Record struct {
	ID           string    `json:"correlationid"`
	Endpoint     string    `json:"endpoint"`
	Deployment   string    `json:"deployment"`
	ModelVersion string    `json:"modelversion,omitempty"`
	Protocol     string    `json:"protocol"` // score, invocations or v2
	Time         time.Time `json:"time"`
	Status       int       `json:"status"`
	Input        []byte    `json:"-"`
	Output       []byte    `json:"-"`
}

// Sink receives captured records in batches, from one goroutine at a
// time. The control plane turns them into a data asset; DirSink writes
// JSON lines files. WriteCapture returns an error when the batch is lost
// (the gateway logs and counts it). It must not keep batch, which the
// gateway reuses, after it returns.
type Sink interface {
	WriteCapture(ctx context.Context, batch []Record) error
}

// capturer hands records from the request path to the sink through a
// bounded buffer: a full buffer drops the record and counts it, so capture
// never blocks or fails a request. Requests append under a mutex and wake
// the writer only when a batch is full — not once per record, which would
// cost a goroutine switch per request; otherwise the writer flushes every
// interval.
type capturer struct {
	sink     Sink
	limit    int // records buffered at most
	batch    int
	interval time.Duration
	log      *slog.Logger
	dropped  atomic.Uint64
	onDrop   func()
	onWrite  func(n int, err error)
	done     chan struct{}
	wake     chan struct{} // capacity 1: a full batch is waiting

	mu  sync.Mutex
	buf []Record
}

func (c *capturer) offer(r Record) {
	c.mu.Lock()
	if len(c.buf) >= c.limit {
		c.mu.Unlock()
		c.dropped.Add(1)
		c.onDrop()
		return
	}
	c.buf = append(c.buf, r)
	full := len(c.buf) == c.batch
	c.mu.Unlock()
	if full {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// take removes up to one batch of buffered records.
func (c *capturer) take(spare []Record) []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.buf), c.batch)
	out := append(spare[:0], c.buf[:n]...)
	rest := copy(c.buf, c.buf[n:])
	clear(c.buf[rest:])
	c.buf = c.buf[:rest]
	return out
}

// run writes batches until ctx is done, then flushes what is buffered.
func (c *capturer) run(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	var batch []Record
	flush := func() {
		for {
			batch = c.take(batch)
			if len(batch) == 0 {
				return
			}
			// The sink gets its own deadline: the gateway's context may
			// be the one that ended.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := c.sink.WriteCapture(wctx, batch)
			cancel()
			if err != nil {
				c.log.Error("capture: write batch", "records", len(batch), "err", err)
			}
			c.onWrite(len(batch), err)
			clear(batch)
			if len(batch) < c.batch {
				return
			}
		}
	}
	for {
		select {
		case <-c.wake:
		case <-tick.C:
		case <-ctx.Done():
			flush()
			return
		}
		flush()
	}
}

// DirSink writes captured records as Azure's data collector lays them
// out: Dir/<endpoint>/<deployment>/model_inputs|model_outputs/yyyy/MM/dd/HH/
// <Instance>.jsonl, one CloudEvents-like JSON object per record whose
// correlationid joins inputs, outputs and later ground truth.
type DirSink struct {
	Dir      string
	Instance string // file name within the hour; default "0"

	mu sync.Mutex
}

var _ Sink = (*DirSink)(nil)

// captureEvent is one line of a DirSink file.
type captureEvent struct {
	SpecVersion   string          `json:"specversion"`
	ID            string          `json:"id"`
	Source        string          `json:"source"`
	Type          string          `json:"type"`
	ContentType   string          `json:"datacontenttype"`
	Time          time.Time       `json:"time"`
	Data          json.RawMessage `json:"data"`
	CorrelationID string          `json:"correlationid"`
	XRequestID    string          `json:"xrequestid"`
	ModelVersion  string          `json:"modelversion,omitempty"`
	CollectType   string          `json:"collectdatatype"`
	Agent         string          `json:"agent"`
	Status        int             `json:"status,omitempty"`
}

// WriteCapture appends the batch to the hour's files.
func (s *DirSink) WriteCapture(ctx context.Context, batch []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.Instance
	if inst == "" {
		inst = "0"
	}
	files := map[string]*strings.Builder{}
	for _, r := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hour := r.Time.UTC().Format("2006/01/02/15")
		for _, part := range []struct {
			kind string
			data []byte
		}{{"model_inputs", r.Input}, {"model_outputs", r.Output}} {
			data := json.RawMessage(part.data)
			if !json.Valid(data) {
				q, _ := json.Marshal(string(part.data))
				data = q
			}
			ev := captureEvent{
				SpecVersion: "1.0", ID: r.ID + "-" + part.kind, Source: "/endpoints/" + r.Endpoint + "/deployments/" + r.Deployment,
				Type: "azureml.inference." + part.kind, ContentType: "application/json", Time: r.Time.UTC(), Data: data,
				CorrelationID: r.ID, XRequestID: r.ID, ModelVersion: r.ModelVersion, CollectType: "JSON",
				Agent: "hangar-serving/" + r.Protocol, Status: r.Status,
			}
			line, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("capture: %w", err)
			}
			path := filepath.Join(s.Dir, r.Endpoint, r.Deployment, part.kind, filepath.FromSlash(hour), inst+".jsonl")
			b := files[path]
			if b == nil {
				b = &strings.Builder{}
				files[path] = b
			}
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	for path, b := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
		_, err = f.WriteString(b.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	}
	return nil
}
