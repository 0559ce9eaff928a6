package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestVersionNamesTheCommit checks that a binary built without a VCS stamp
// (go test, like go run, stamps none) still names the commit of the checkout
// it was built from.
func TestVersionNamesTheCommit(t *testing.T) {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	head := strings.TrimSpace(string(out))
	_, commit := buildInfo()
	if strings.TrimSuffix(commit, "-dirty") != head {
		t.Errorf("buildInfo commit = %q, want %s (optionally -dirty)", commit, head)
	}
}
