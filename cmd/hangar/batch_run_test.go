package main

import (
	"testing"

	"github.com/hangar-ml/hangar/pyworker"
)

// TestScriptWorkers: a batch scoring script scores no more mini-batches
// at once than its pool has workers (the others would wait for one inside
// their attempt's timeout).
func TestScriptWorkers(t *testing.T) {
	tests := []struct{ n, want int }{
		{1, 1},
		{3, 3},
		{pyworker.MaxWorkers, pyworker.MaxWorkers},
		{pyworker.MaxWorkers + 1, pyworker.MaxWorkers},
		{100, pyworker.MaxWorkers},
	}
	for _, tt := range tests {
		if got := scriptWorkers(tt.n); got != tt.want {
			t.Errorf("scriptWorkers(%d): got %d, want %d", tt.n, got, tt.want)
		}
	}
}
