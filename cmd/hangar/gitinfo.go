package main

import (
	"context"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// gitProperties is what Azure records of the code a job is submitted
// from, when the folder is in a git work tree and git is installed:
// azureml.git.repository_uri, .branch, .commit and .dirty. Nothing (and no
// error) otherwise: a job does not need git.
func gitProperties(ctx context.Context, dir string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	git := func(args ...string) (string, bool) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	commit, ok := git("rev-parse", "HEAD")
	if !ok || commit == "" {
		return nil
	}
	props := map[string]string{"azureml.git.commit": commit}
	if branch, ok := git("rev-parse", "--abbrev-ref", "HEAD"); ok && branch != "HEAD" {
		props["azureml.git.branch"] = branch
	}
	if uri, ok := git("config", "--get", "remote.origin.url"); ok && uri != "" {
		// Credentials in a URL (https://user:token@host/…) are not recorded.
		if u, err := url.Parse(uri); err == nil && u.Scheme != "" && u.User != nil {
			u.User = nil
			uri = u.String()
		}
		props["azureml.git.repository_uri"] = uri
	}
	if status, ok := git("status", "--porcelain", "--untracked-files=no"); ok {
		props["azureml.git.dirty"] = map[bool]string{true: "True", false: "False"}[status != ""]
	}
	return props
}
