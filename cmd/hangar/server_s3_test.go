package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hangar-ml/hangar/internal/s3test"
)

// s3Env points the server at the test bucket's server through the AWS
// variables it reads, and hides any the machine has set.
func s3Env(t *testing.T, b s3test.Bucket) {
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3": b.Endpoint, "AWS_ENDPOINT_URL": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_ACCESS_KEY_ID": b.AccessKey, "AWS_SECRET_ACCESS_KEY": b.SecretKey, "AWS_SESSION_TOKEN": "",
	} {
		t.Setenv(k, v)
	}
}

// TestServeS3Artifacts runs the server with its artifacts in an S3 bucket
// (versitygw): a data asset uploaded through the CLI lands in the bucket
// under the prefix, and downloads back the same.
func TestServeS3Artifacts(t *testing.T) {
	b := s3test.New(t)
	s3Env(t, b)
	dir := t.TempDir()
	cfg := &serverConfig{
		Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
		Artifacts: "s3://" + b.Name + "/hangar/prod", KEKFile: filepath.Join(dir, "kek"),
	}
	logs := &syncWriter{w: &strings.Builder{}}
	srv := startServerLogging(t, cfg, logs)

	content := "x,y\n1,2\n3,4\n"
	src := filepath.Join(dir, "points.csv")
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HANGAR_URL": srv.URL, "HANGAR_TOKEN": srv.OwnerToken, "HOME": dir}
	hangar := func(args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		if code := run(t.Context(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] }); code != 0 {
			t.Fatalf("hangar %s: exit %d; stderr: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	hangar("data", "create", "--name", "points", "--type", "uri_file", "--path", src, "--progress", "none")
	outDir := filepath.Join(dir, "out")
	hangar("data", "download", "-n", "points", "-v", "1", "--download-path", outDir)
	var got []byte
	filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got, err = os.ReadFile(p)
		}
		return err
	})
	if string(got) != content {
		t.Errorf("downloaded %q, want %q", got, content)
	}

	keys := b.Keys(t, "")
	var blobs int
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "hangar/prod/blobs/sha256/"):
			blobs++
		default:
			t.Errorf("object %s outside hangar/prod/blobs/", k)
		}
	}
	if blobs == 0 {
		t.Errorf("no blob in the bucket: %q", keys)
	}
	if l := logs.String(); !strings.Contains(l, `"artifacts":"s3://`+b.Name+`/hangar/prod"`) || strings.Contains(l, b.SecretKey) {
		t.Errorf("start log does not name the artifact location, or shows the secret: %s", l)
	}
}

// TestServeS3Refuses checks the errors a bad artifact location gets at start.
func TestServeS3Refuses(t *testing.T) {
	b := s3test.New(t)
	s3Env(t, b)
	for _, tc := range []struct {
		name, artifacts, want, secret string
	}{
		{"missing bucket", "s3://hangar-missing-bucket", "bucket hangar-missing-bucket does not exist", ""},
		{"credentials in the location", "s3://AKIAEXAMPLE:topsecret@" + b.Name, "credentials in an s3:// location are not accepted", "topsecret"},
		{"bad prefix", "s3://" + b.Name + "/a/../b", "empty, . or .. path element", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := &serverConfig{
				Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
				Artifacts: tc.artifacts, KEKFile: filepath.Join(dir, "kek"),
			}
			err := serve(t.Context(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), func(running) { t.Errorf("the server started") })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("serve = %v, want an error saying %s", err, tc.want)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
		dir := t.TempDir()
		cfg := &serverConfig{
			Addr: "127.0.0.1:0", DataDir: dir, DB: filepath.Join(dir, "hangar.db"),
			Artifacts: "s3://" + b.Name, KEKFile: filepath.Join(dir, "kek"),
		}
		err := serve(t.Context(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)), func(running) { t.Errorf("the server started") })
		if err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") || strings.Contains(err.Error(), "not-the-secret") {
			t.Fatalf("serve = %v, want an error pointing at AWS_SECRET_ACCESS_KEY without showing it", err)
		}
	})
}

// syncWriter serializes writes to w: the server logs from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*strings.Builder).String()
}

// TestOpenBlobStore checks that a location is a folder only when it is not
// URL-like: a misspelt or foreign scheme is refused saying what is wanted,
// and no folder of that name is created.
func TestOpenBlobStore(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		loc, want string // want: "" when a folder opens
		dir       string // the folder that exists afterwards
	}{
		{"S3://bucket", `scheme "S3": want s3://BUCKET[/PREFIX]`, ""},
		{"s3:/bucket", `scheme "s3": want s3://BUCKET[/PREFIX]`, ""},
		{"s3:bucket", `scheme "s3": want s3://BUCKET[/PREFIX]`, ""},
		{"S3:bucket", `scheme "S3": want s3://BUCKET[/PREFIX]`, ""},
		{"gs://bucket", `scheme "gs": want s3://BUCKET[/PREFIX]`, ""},
		{"https://bucket.s3.amazonaws.com/p", `scheme "https": want s3://BUCKET[/PREFIX]`, ""},
		{"gs://key:secret/x@bucket", "credentials in an s3:// location are not accepted", ""},
		{"artifacts", "", "artifacts"},
		{"file://files", "", "files"},
	} {
		t.Run(tc.loc, func(t *testing.T) {
			s, err := openBlobStore(t.Context(), tc.loc)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("openBlobStore(%q): %v", tc.loc, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("openBlobStore(%q) = %T, %v; want an error saying %s", tc.loc, s, err, tc.want)
			case err != nil && strings.Contains(err.Error(), "secret"):
				t.Errorf("error %q shows the secret", err)
			}
			entries, err := os.ReadDir(".")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
				os.RemoveAll(e.Name())
			}
			if want := []string{tc.dir}; tc.dir == "" && len(got) != 0 || tc.dir != "" && !slices.Equal(got, want) {
				t.Errorf("folders after openBlobStore(%q) = %q, want %q", tc.loc, got, tc.dir)
			}
		})
	}
}
