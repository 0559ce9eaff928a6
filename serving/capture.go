package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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

	mu   sync.Mutex
	bufs map[string][]byte // per file, reused from batch to batch
	// the files of the last record's endpoint, deployment and hour
	lastEp, lastDep string
	lastHour        time.Time
	lastPaths       [2]string
}

var _ Sink = (*DirSink)(nil)

// WriteCapture appends the batch to the hour's files: one line per record
// and kind, {"specversion", "id", "source", "type", "datacontenttype",
// "time", "data", "correlationid", "xrequestid", "modelversion",
// "collectdatatype", "agent", "status"}, where data is the body as it came
// (a JSON string when the body is not JSON, as a CSV body). Lines are
// appended to bytes by hand: the sink shares the cores with the requests.
func (s *DirSink) WriteCapture(ctx context.Context, batch []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.Instance
	if inst == "" {
		inst = "0"
	}
	if s.bufs == nil {
		s.bufs = map[string][]byte{}
	}
	for p, b := range s.bufs {
		s.bufs[p] = b[:0]
	}
	kinds := [2]string{"model_inputs", "model_outputs"}
	for _, r := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := r.Time.UTC()
		if hour := t.Truncate(time.Hour); r.Endpoint != s.lastEp || r.Deployment != s.lastDep || !hour.Equal(s.lastHour) {
			s.lastEp, s.lastDep, s.lastHour = r.Endpoint, r.Deployment, hour
			for k, kind := range kinds {
				s.lastPaths[k] = filepath.Join(s.Dir, r.Endpoint, r.Deployment, kind, t.Format("2006"), t.Format("01"), t.Format("02"), t.Format("15"), inst+".jsonl")
			}
		}
		for k, data := range [2][]byte{r.Input, r.Output} {
			path := s.lastPaths[k]
			s.bufs[path] = appendEvent(s.bufs[path], &r, kinds[k], t, data)
		}
	}
	for path, b := range s.bufs {
		if len(b) == 0 {
			delete(s.bufs, path) // a file of an hour gone by
			continue
		}
		if err := appendFile(path, b); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	}
	return nil
}

// appendEvent appends one line of a DirSink file.
func appendEvent(b []byte, r *Record, kind string, t time.Time, data []byte) []byte {
	// Strings are appended piece by piece: concatenating them first
	// would allocate for each record.
	b = append(b, `{"specversion":"1.0","id":"`...)
	b = appendJSONChars(b, r.ID)
	b = append(b, '-')
	b = appendJSONChars(b, kind)
	b = append(b, `","source":"/endpoints/`...)
	b = appendJSONChars(b, r.Endpoint)
	b = append(b, "/deployments/"...)
	b = appendJSONChars(b, r.Deployment)
	b = append(b, `","type":"azureml.inference.`...)
	b = append(b, kind...)
	b = append(b, `","datacontenttype":"application/json","time":"`...)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","data":`...)
	if json.Valid(data) {
		b = appendCompact(b, data)
	} else {
		b = appendJSONString(b, strings.ToValidUTF8(string(data), "\uFFFD"))
	}
	b = append(b, `,"correlationid":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, `,"xrequestid":`...)
	b = appendJSONString(b, r.ID)
	if r.ModelVersion != "" {
		b = append(b, `,"modelversion":`...)
		b = appendJSONString(b, r.ModelVersion)
	}
	b = append(b, `,"collectdatatype":"JSON","agent":"hangar-serving/`...)
	b = appendJSONChars(b, r.Protocol)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	return append(b, "}\n"...)
}

// appendCompact appends valid JSON without its newlines, so a record
// stays one line.
func appendCompact(b, js []byte) []byte {
	if !bytes.ContainsAny(js, "\r\n") {
		return append(b, js...)
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, js)
	return append(b, buf.Bytes()...)
}

func appendFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
