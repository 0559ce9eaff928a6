package pyworker_test

import (
	"fmt"
	"testing"
)

// BenchmarkRun measures a request's round trip through the pool to a
// trivial scoring script (run returns its input) and back: framing, the
// pipes, the bootstrap's decode and json.dumps, and the pool's bookkeeping.
// Parallel runs one goroutine per worker.
func BenchmarkRun(b *testing.B) {
	body := []byte(`{"data": [[1.0, 2.0, 3.0, 4.0]]}`)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			cfg := scriptConfig(b, "trivial.py")
			cfg.Workers = workers
			p := start(b, cfg)
			b.SetParallelism(1)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.Run(b.Context(), body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
