package sqlstore

import (
	"container/list"
	"context"
	"sync"
)

// writeQueue admits one holder at a time and serves those waiting in the
// order they arrived. It stands in front of SQLite's single write
// connection: database/sql hands a freed connection to a waiter picked at
// random, so under many writers some wait far longer than the others
// (BenchmarkContendedWritesSQLite and BENCHMARKS.md show the tail it cut).
// Holding the queue before asking database/sql for the connection means
// there is never more than one writer waiting there.
//
// A waiter whose context ends leaves the queue; if the turn reached it at
// that moment it passes the turn on, so a cancelled writer never holds up
// the ones behind it. The zero value is an empty queue.
type writeQueue struct {
	mu      sync.Mutex
	held    bool
	waiters list.List // of chan struct{}, closed when the turn is handed over
}

// acquire waits for the turn. It returns ctx's error, not holding the turn,
// when ctx ends first.
func (q *writeQueue) acquire(ctx context.Context) error {
	q.mu.Lock()
	if !q.held { // nobody waits either: a release hands the turn to a waiter
		q.held = true
		q.mu.Unlock()
		return nil
	}
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return err
	}
	turn := make(chan struct{})
	e := q.waiters.PushBack(turn)
	q.mu.Unlock()

	select {
	case <-turn:
		return nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	select {
	case <-turn:
		// release handed us the turn as ctx ended: pass it on.
		q.mu.Unlock()
		q.release()
	default:
		q.waiters.Remove(e)
		q.mu.Unlock()
	}
	return ctx.Err()
}

// release ends the holder's turn, handing it to the longest waiter.
func (q *writeQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.held {
		panic("sqlstore: release of a write queue that is not held")
	}
	if e := q.waiters.Front(); e != nil {
		q.waiters.Remove(e)
		close(e.Value.(chan struct{})) // the turn passes; held stays true
		return
	}
	q.held = false
}

// waiting returns how many are waiting for the turn.
func (q *writeQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiters.Len()
}
