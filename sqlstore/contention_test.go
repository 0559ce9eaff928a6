package sqlstore

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/internal/storetest"
)

// Shape of BenchmarkContendedWritesSQLite: the load under which the probe of
// issue 7 saw a p99 write latency of 4.8 s on 2 cores.
const (
	contendedWriters   = 64
	contendedReaders   = 16
	writesPerWriter    = 25 // a round is 64 × 25 = 1,600 audited writes
	contendedWriteSize = 64
)

// BenchmarkContendedWritesSQLite runs 64 writers (each setting its own
// secret writesPerWriter times: seal, audited transaction, fsync) and 16
// readers (listing workspaces and reading a secret in a loop while the
// writers run) against one SQLite file, and reports the latency of the
// writes: p50, p99 and max over every write of every round, and the write
// throughput. Each write is timed from the call to its return, so time spent
// waiting for the single write connection counts — that wait is what the
// order in which waiters are served decides.
func BenchmarkContendedWritesSQLite(b *testing.B) {
	db := New(filepath.Join(b.TempDir(), "hangar.db"))
	db.Sealer = storetest.NewSealer()
	if err := db.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	secrets, workspaces := NewSecretService(db), NewWorkspaceService(db)
	ctx := hangar.WithActor(b.Context(), hangar.Actor{IdentityID: "id-bench", Name: "bench"})
	value := make([]byte, contendedWriteSize)
	if _, err := secrets.SetSecret(ctx, hangar.DefaultWorkspace, "read-me", value); err != nil {
		b.Fatal(err)
	}

	var (
		latencies []time.Duration
		elapsed   time.Duration
	)
	for b.Loop() {
		round := make([][]time.Duration, contendedWriters)
		var (
			start   = make(chan struct{})
			writers sync.WaitGroup
			readers sync.WaitGroup
			done    atomic.Bool
		)
		for w := range contendedWriters {
			writers.Go(func() {
				name := fmt.Sprintf("w%02d", w)
				<-start
				for range writesPerWriter {
					t0 := time.Now()
					if _, err := secrets.SetSecret(ctx, hangar.DefaultWorkspace, name, value); err != nil {
						b.Error(err)
						return
					}
					round[w] = append(round[w], time.Since(t0))
				}
			})
		}
		for r := range contendedReaders {
			readers.Go(func() {
				<-start
				for !done.Load() {
					var err error
					if r%2 == 0 {
						_, err = workspaces.ListWorkspaces(ctx, hangar.ListOptions{})
					} else {
						_, err = secrets.Secret(ctx, hangar.DefaultWorkspace, "read-me")
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		t0 := time.Now()
		close(start)
		writers.Wait()
		elapsed += time.Since(t0)
		done.Store(true)
		readers.Wait()
		for _, l := range round {
			latencies = append(latencies, l...)
		}
	}
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(latencies, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 99)), "p99-ms")
	b.ReportMetric(ms(latencies[len(latencies)-1]), "max-ms")
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "writes/s")
}

// percentile returns the p-th percentile (nearest rank) of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // ceil(n·p/100), a rank from 1
	return sorted[max(i, 1)-1]
}
