//go:build race

package profile

// raceEnabled shrinks the big tests under the race detector, which makes
// them ten times slower.
const raceEnabled = true
