package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGitProperties records a job's code as Azure does when it sits in a
// git work tree, drops credentials from the remote, and records nothing
// outside one.
func TestGitProperties(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	if p := gitProperties(t.Context(), dir); p != nil {
		t.Fatalf("outside a work tree: %v", p)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, "job.yml"), "command: echo\n")
	run("add", "job.yml")
	run("commit", "-q", "-m", "first")
	run("remote", "add", "origin", "https://user:secret@example.com/org/repo.git")
	p := gitProperties(t.Context(), dir)
	if len(p["azureml.git.commit"]) != 40 || p["azureml.git.branch"] != "main" || p["azureml.git.dirty"] != "False" ||
		p["azureml.git.repository_uri"] != "https://example.com/org/repo.git" {
		t.Errorf("properties %v", p)
	}
	writeFile(t, filepath.Join(dir, "job.yml"), "command: echo changed\n")
	if p := gitProperties(t.Context(), dir); p["azureml.git.dirty"] != "True" {
		t.Errorf("after a change: %v", p)
	}
}
