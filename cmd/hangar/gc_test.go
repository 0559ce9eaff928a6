package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	tests := []struct {
		name string
		gogc string
		want int // returned; the collector's target afterwards is want, or 100 when -1
	}{
		{"GOGC unset: the server's default", "", serverGCPercent},
		{"GOGC set: left to the runtime", "150", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			got := tuneGC(func(k string) string {
				if k == "GOGC" {
					return tt.gogc
				}
				return ""
			})
			if got != tt.want {
				t.Errorf("tuneGC: got %d, want %d", got, tt.want)
			}
			target := debug.SetGCPercent(100)
			if want := max(tt.want, 100); target != want {
				t.Errorf("collector's target: got %d, want %d", target, want)
			}
		})
	}
}
