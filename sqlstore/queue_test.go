package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// enqueue starts a goroutine that acquires q with ctx and sends its name to
// order once it holds the turn (the test releases turns on its behalf), or
// its error to errs. It returns once the goroutine waits in q.
func enqueue(ctx context.Context, t *testing.T, q *writeQueue, name string, order chan<- string, errs chan<- error) {
	t.Helper()
	before := q.waiting()
	go func() {
		if err := q.acquire(ctx); err != nil {
			errs <- fmt.Errorf("%s: %w", name, err)
			return
		}
		order <- name
	}()
	for q.waiting() != before+1 {
		runtime.Gosched()
	}
}

// TestWriteQueueFIFO checks that waiters get the turn in arrival order and
// that one whose context ends leaves the queue without taking a turn.
func TestWriteQueueFIFO(t *testing.T) {
	var q writeQueue
	if err := q.acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 8)
	errs := make(chan error, 8)
	cancelled, cancel := context.WithCancel(t.Context())
	for _, name := range []string{"a", "b", "c"} {
		enqueue(t.Context(), t, &q, name, order, errs)
	}
	enqueue(cancelled, t, &q, "gives up", order, errs)
	for _, name := range []string{"d", "e"} {
		enqueue(t.Context(), t, &q, name, order, errs)
	}
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled waiter returned %v, want context.Canceled", err)
	}
	if n := q.waiting(); n != 5 {
		t.Fatalf("after one of six waiters gave up: %d waiting, want 5", n)
	}
	var got []string
	for range 5 {
		q.release() // the holder's turn ends: the next one takes it
		got = append(got, <-order)
	}
	if fmt.Sprint(got) != "[a b c d e]" {
		t.Errorf("turns were taken in the order %v, want [a b c d e]", got)
	}
	q.release()
	if q.held || q.waiting() != 0 {
		t.Errorf("after the last release: held %v, %d waiting; want free and empty", q.held, q.waiting())
	}
	// A context that has ended does not queue.
	if err := q.acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := q.acquire(cancelled); !errors.Is(err, context.Canceled) || q.waiting() != 0 {
		t.Errorf("acquire with an ended context while held: %v, %d waiting; want context.Canceled and none", err, q.waiting())
	}
	q.release()
}

// TestWriteQueueExclusiveUnderCancellation has many goroutines take turns
// while half of them give up at random moments, including while the turn is
// being handed to them: at most one ever holds it, and at the end it is free.
func TestWriteQueueExclusiveUnderCancellation(t *testing.T) {
	var (
		q       writeQueue
		holders atomic.Int32
		wg      sync.WaitGroup
	)
	for i := range 64 {
		wg.Go(func() {
			for j := range 50 {
				ctx, cancel := context.WithCancel(t.Context())
				if (i+j)%2 == 0 {
					go cancel()
				}
				if err := q.acquire(ctx); err == nil {
					if n := holders.Add(1); n != 1 {
						t.Errorf("%d holders at once", n)
					}
					runtime.Gosched()
					holders.Add(-1)
					q.release()
				}
				cancel()
			}
		})
	}
	wg.Wait()
	if q.held || q.waiting() != 0 {
		t.Fatalf("after every goroutine finished: held %v, %d waiting; want free and empty", q.held, q.waiting())
	}
}
