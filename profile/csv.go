package profile

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/tabular"
)

// Options tune how a table is read; the zero value is the default.
type Options struct {
	// Workers is how many goroutines parse and profile chunks of a CSV
	// file; 0 means GOMAXPROCS. The same data read with the same Workers
	// and ChunkSize gives the same profile; with other settings, only the
	// estimates (within their stated bounds) may differ.
	Workers int
	// ChunkSize is about how many bytes of CSV a worker takes at a time;
	// 0 means 1 MiB. A chunk always ends at the end of a record.
	ChunkSize int
}

const defaultChunk = 1 << 20

// noError is the failed-chunk number while no chunk has failed.
const noError = 1<<62 - 1

// File profiles a table by its file extension: .parquet (or .pq) as
// Parquet, anything else as CSV, as tabular.ReadFile reads it. Errors:
// EINVALID for malformed content, with the path.
func File(ctx context.Context, path string, opt Options) (*Profile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	defer fh.Close()
	var p *Profile
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		st, err := fh.Stat()
		if err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		p, err = Parquet(ctx, fh, st.Size())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	default:
		p, err = CSV(ctx, fh, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return p, nil
}

// utf8Names refuses column names that are not UTF-8: JSON would write
// them otherwise than they are, and two of them could become one.
func utf8Names(names []string) error {
	for i, n := range names {
		if !utf8.ValidString(n) {
			return hangar.Errorf(hangar.EINVALID, "column %d: name %q is not UTF-8", i+1, n)
		}
	}
	return nil
}

// table is the per-worker state: one accumulator per column.
type table struct {
	rows int64
	cols []*column
}

func newTable(names []string) *table {
	t := &table{cols: make([]*column, len(names))}
	for i, n := range names {
		t.cols[i] = newColumn(n)
	}
	return t
}

func (t *table) merge(o *table) {
	t.rows += o.rows
	for i, c := range t.cols {
		c.merge(o.cols[i])
	}
}

func (t *table) result() *Profile {
	p := &Profile{Version: Version, Rows: t.rows, Columns: make([]Column, len(t.cols))}
	for i, c := range t.cols {
		p.Columns[i] = c.result()
	}
	return p
}

// chunk is a run of whole CSV records and where it starts in the file.
type chunk struct {
	seq  int
	data []byte
	buf  []byte // the buffer data lies in, returned to the pool after use
	line int    // newlines in the file before data
	last bool   // the input ends with this chunk
}

// CSV profiles a CSV table with a header row, read as tabular.ReadCSV
// reads it (same header, missing and number rules, same errors), in one
// pass. A reader goroutine cuts the input into chunks of whole records —
// a newline ends a record when an even number of quotes precede it, which
// holds for every well-formed CSV file — and Workers goroutines parse and
// profile them; their states are merged at the end. Memory is a few chunks
// per worker and a fixed amount per column, whatever the number of rows.
// Errors: EINVALID for malformed CSV (with its line, as ReadCSV), an empty
// input, or duplicate or empty column names.
func CSV(ctx context.Context, r io.Reader, opt Options) (*Profile, error) {
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	size := opt.ChunkSize
	if size <= 0 {
		size = defaultChunk
	}
	sp := &splitter{r: r, size: size}
	first, err := sp.next(nil)
	if err != nil {
		return nil, fmt.Errorf("read CSV: %w", err)
	}
	data := bytes.TrimPrefix(first.data, []byte("\ufeff"))
	var (
		hr     *csv.Reader
		header []string
	)
	for {
		hr = csv.NewReader(bytes.NewReader(data))
		header, err = hr.Read()
		if err != io.EOF || first.last {
			break
		}
		// Only blank lines so far: the header is in a later chunk.
		more, err := sp.next(nil)
		if err != nil {
			return nil, fmt.Errorf("read CSV: %w", err)
		}
		data = append(data, more.data...)
		first.last = more.last
	}
	if err == io.EOF {
		return nil, hangar.Errorf(hangar.EINVALID, "empty CSV: no header row")
	}
	if err != nil {
		return nil, csvError(err, 0)
	}
	names, err := tabular.CSVHeader(header)
	if err != nil {
		return nil, err
	}
	off := int(hr.InputOffset())
	first.line = bytes.Count(data[:off], []byte("\n"))
	first.data, first.buf = data[off:], data

	var (
		errSeq  atomic.Int64 // the lowest chunk that failed; later ones need not be read
		errMu   sync.Mutex
		errs    = map[int]error{}
		free    = make(chan []byte, 2*workers+1)
		queues  = make([]chan chunk, workers)
		tables  = make([]*table, workers)
		wg      sync.WaitGroup
		failure = func(seq int, err error) {
			errMu.Lock()
			errs[seq] = err
			errMu.Unlock()
			for {
				cur := errSeq.Load()
				if int64(seq) >= cur || errSeq.CompareAndSwap(cur, int64(seq)) {
					return
				}
			}
		}
	)
	errSeq.Store(noError)
	for w := range workers {
		queues[w] = make(chan chunk, 1)
		tables[w] = newTable(names)
		wg.Go(func() {
			for ch := range queues[w] {
				if int64(ch.seq) < errSeq.Load() {
					if err := ctx.Err(); err != nil {
						failure(ch.seq, err)
					} else if err := tables[w].addCSV(ch, len(names)); err != nil {
						failure(ch.seq, err)
					}
				}
				select {
				case free <- ch.buf:
				default:
				}
			}
		})
	}
	// Chunk i goes to worker i mod workers, so the states, and so the
	// profile, do not depend on timing.
	ch := first
	for seq := 0; ; seq++ {
		ch.seq = seq
		queues[seq%workers] <- ch
		if ch.last || errSeq.Load() < noError {
			break
		}
		if err := ctx.Err(); err != nil {
			failure(seq+1, err)
			break
		}
		var buf []byte
		select {
		case buf = <-free:
		default:
		}
		ch, err = sp.next(buf)
		if err != nil {
			failure(seq+1, fmt.Errorf("read CSV: %w", err))
			break
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if s := errSeq.Load(); s < noError {
		return nil, errs[int(s)]
	}
	// Checked last, so that a malformed file gets ReadCSV's error first.
	if err := utf8Names(names); err != nil {
		return nil, err
	}
	for _, t := range tables[1:] {
		tables[0].merge(t)
	}
	return tables[0].result(), nil
}

// addCSV parses one chunk of records into t.
func (t *table) addCSV(ch chunk, fields int) error {
	cr := csv.NewReader(bytes.NewReader(ch.data))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = fields
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(err, ch.line)
		}
		for j, s := range rec {
			t.cols[j].addText(s)
		}
		t.rows++
	}
}

// csvError words an error as tabular.ReadCSV does, with the line counted
// from the start of the file.
func csvError(err error, line int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return hangar.Errorf(hangar.EINVALID, "CSV line %d: %v", pe.Line+line, pe.Err)
	}
	return fmt.Errorf("read CSV: %w", err)
}

// splitter cuts a CSV stream into chunks of whole records.
type splitter struct {
	r       io.Reader
	size    int
	pending []byte // read past the last cut: the start of the next chunk
	eof     bool
	lines   int
}

// next returns the next chunk in buf (or a new buffer when buf is nil):
// the records up to the first one that ends at or past size bytes, or the
// rest of the input. Where a chunk ends depends only on the data, not on
// how many bytes each Read returned.
func (s *splitter) next(buf []byte) (chunk, error) {
	dst := append(buf[:0], s.pending...)
	quoted, cut, i := false, -1, 0
	for {
		// Jump from quote to quote; outside quotes, the first newline at
		// or past size ends the chunk.
		for cut < 0 && i < len(dst) {
			q := bytes.IndexByte(dst[i:], '"')
			end := len(dst)
			if q >= 0 {
				end = i + q
			}
			if from := max(i, s.size-1); !quoted && from < end {
				if nl := bytes.IndexByte(dst[from:end], '\n'); nl >= 0 {
					cut = from + nl + 1
					break
				}
			}
			if q < 0 {
				i = end
				break
			}
			quoted = !quoted
			i = end + 1
		}
		if cut >= 0 || s.eof {
			break
		}
		// Read up to the chunk size, then in small steps to the record's
		// end, so that little is read past the cut and copied back.
		want := max(s.size-len(dst), 64<<10)
		if cap(dst)-len(dst) < want {
			grown := make([]byte, len(dst), len(dst)+want+cap(dst)/2)
			copy(grown, dst)
			dst = grown
		}
		n, err := s.r.Read(dst[len(dst) : len(dst)+want])
		dst = dst[:len(dst)+n]
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			return chunk{}, err
		}
	}
	if cut < 0 {
		cut = len(dst)
	}
	s.pending = append(s.pending[:0], dst[cut:]...)
	ch := chunk{data: dst[:cut], buf: dst, line: s.lines, last: s.eof && len(s.pending) == 0}
	s.lines += bytes.Count(ch.data, []byte("\n"))
	return ch, nil
}
