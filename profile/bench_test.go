package profile

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/hangar-ml/hangar/internal/sampledata"
	"github.com/hangar-ml/hangar/tabular"
)

// syntheticColumns are the 20 columns of the benchmark table: ten from Ames
// (mixed numeric and categorical) and ten from Chicago (numbers, 0/1
// flags and the date), each row taking one Ames row and one Chicago row at
// random.
var syntheticColumns = [2][]string{
	{"Lot_Area", "Neighborhood", "Year_Built", "Sale_Price", "MS_Zoning", "Gr_Liv_Area", "House_Style", "Overall_Cond", "Longitude", "Latitude"},
	{"ridership", "Austin", "Clark_Lake", "temp", "humidity", "pressure", "wind", "weather_rain", "Bulls_Home", "date"},
}

// writeSynthetic writes a rows × 20 CSV table resampled from the real
// tables, deterministically (the same rows every time).
func writeSynthetic(tb testing.TB, path string, rows int) {
	tb.Helper()
	ames, err := tabular.ReadFile(filepath.Join("testdata", "ames600.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	cr, err := sampledata.Chicago()
	if err != nil {
		tb.Fatal(err)
	}
	chicago, err := tabular.ReadCSV(cr)
	if err != nil {
		tb.Fatal(err)
	}
	var cols []*tabular.Column
	for i, fr := range []*tabular.Frame{ames, chicago} {
		for _, n := range syntheticColumns[i] {
			c := fr.Column(n)
			if c == nil {
				tb.Fatalf("no column %s", n)
			}
			cols = append(cols, c)
		}
	}
	fh, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(fh, 1<<20)
	w := csv.NewWriter(bw)
	header := append(append([]string{}, syntheticColumns[0]...), syntheticColumns[1]...)
	if err := w.Write(header); err != nil {
		tb.Fatal(err)
	}
	rec := make([]string, len(cols))
	state := uint64(42)
	next := func(n int) int { // splitmix64
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return int((z ^ (z >> 31)) % uint64(n))
	}
	for range rows {
		a, c := next(ames.NumRows()), next(chicago.NumRows())
		for j, col := range cols {
			row := a
			if j >= 10 {
				row = c
			}
			rec[j] = col.Text(row)
		}
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkProfileCSV profiles a 1,000,000 × 20 CSV table written once to
// a temporary folder: with the default options (one worker per core,
// "workers=max") and with one worker, to show what the parallel reading
// buys.
func BenchmarkProfileCSV(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "synthetic.csv")
	writeSynthetic(b, path, rows)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opt  Options
	}{{"workers=max", Options{}}, {"workers=1", Options{Workers: 1}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(st.Size())
			for b.Loop() {
				p, err := File(b.Context(), path, bc.opt)
				if err != nil {
					b.Fatal(err)
				}
				if p.Rows != rows {
					b.Fatalf("got %d rows, want %d", p.Rows, rows)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
	}
}

// peakHeap profiles path while sampling the heap's live bytes every
// millisecond and returns the highest sample.
func peakHeap(t *testing.T, path string) uint64 {
	t.Helper()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		peak uint64
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	_, err := File(t.Context(), path, Options{Workers: 2})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return peak
}

// TestMemoryIndependentOfRows profiles 100,000 and 1,000,000 rows of the
// same kind and compares the peak heap while each runs: ten times the rows
// may not take noticeably more memory. (Not a timed test: only memory.)
func TestMemoryIndependentOfRows(t *testing.T) {
	// The smaller table must already fill what a worker holds at most
	// (16,384 values per numeric column, per worker) to compare steady
	// states.
	small, large := 100_000, 1_000_000
	if testing.Short() || raceEnabled {
		small, large = 50_000, 500_000
	}
	dir := t.TempDir()
	var peaks []uint64
	for _, rows := range []int{small, large} {
		path := filepath.Join(dir, "t.csv")
		writeSynthetic(t, path, rows)
		peaks = append(peaks, peakHeap(t, path))
	}
	t.Logf("peak heap: %d rows %.1f MiB, %d rows %.1f MiB", small, float64(peaks[0])/(1<<20), large, float64(peaks[1])/(1<<20))
	if limit := peaks[0] + peaks[0]/4 + 4<<20; peaks[1] > limit {
		t.Errorf("peak heap grew from %d to %d bytes with 10× the rows, want at most %d", peaks[0], peaks[1], limit)
	}
}
