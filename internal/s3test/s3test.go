// Package s3test gives tests a real, empty S3 bucket.
//
// The first call in a test binary starts a private S3 server — versitygw
// (github.com/versity/versitygw), a real S3 gateway over a local folder,
// installed by scripts/install-deps.sh — on a free loopback port in a fresh
// temporary directory, with random credentials; every call then creates a
// new bucket in it, so each test starts empty. A port taken between the
// choice and the start is retried on another; the server is known to be
// ours only once it answers a request signed with our credentials.
//
// The server is stopped and its directory removed when the test binary
// exits, however it exits: as in internal/pgtest, a small shell guard starts
// it and waits for its standard input, a pipe held open by the test
// process, to close; the kernel closes it when the process ends, even on
// kill -9 or a panic, and the guard then stops the server and removes the
// directory. Packages therefore need no TestMain.
//
// When the versitygw binary is not found (in $(go env GOBIN), in
// $(go env GOPATH)/bin or on PATH, in that order), New skips the test saying how to install it, or
// fails it when CI=true.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Region is the region the server runs in (versitygw's default).
const Region = "us-east-1"

// Install is the command that installs the pinned server.
const Install = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 (or scripts/install-deps.sh)"

// Bucket is a new, empty bucket on the test server.
type Bucket struct {
	// Endpoint is the server's URL, "http://127.0.0.1:PORT".
	Endpoint string
	// AccessKey and SecretKey are the server's (only) credentials.
	AccessKey, SecretKey string
	// Name is the bucket's name.
	Name string
}

// Credentials returns the bucket's credentials for minio-go.
func (b Bucket) Credentials() *credentials.Credentials {
	return credentials.NewStaticV4(b.AccessKey, b.SecretKey, "")
}

// Client returns a client of the server, to look at what a test left.
func (b Bucket) Client(tb testing.TB) *minio.Client {
	tb.Helper()
	c, err := newClient(strings.TrimPrefix(b.Endpoint, "http://"), b.AccessKey, b.SecretKey)
	if err != nil {
		tb.Fatalf("s3test: client: %v", err)
	}
	return c
}

// Keys lists the keys under prefix in the bucket.
func (b Bucket) Keys(tb testing.TB, prefix string) []string {
	tb.Helper()
	var keys []string
	for o := range b.Client(tb).ListObjectsIter(context.Background(), b.Name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			tb.Fatalf("s3test: list %s/%s: %v", b.Name, prefix, o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// server is the one server of this test binary.
type server struct {
	endpoint       string
	access, secret string
	client         *minio.Client
	guard          io.Closer
	err            error
}

var (
	once   sync.Once
	shared server
)

// New creates a new, empty bucket on the test binary's server, starting the
// server on first use. It skips the test when versitygw is not installed,
// or fails it when the CI environment variable is "true".
func New(tb testing.TB) Bucket {
	tb.Helper()
	once.Do(func() { shared = start() })
	if shared.err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("s3test: an S3 server is required in CI: %v", shared.err)
		}
		tb.Skipf("s3test: no S3 server (install it: %s): %v", Install, shared.err)
	}
	name := "hangar-test-" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := shared.client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", name, err)
	}
	return Bucket{Endpoint: shared.endpoint, AccessKey: shared.access, SecretKey: shared.secret, Name: name}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newClient(host, access, secret string) (*minio.Client, error) {
	return minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(access, secret, ""),
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
	})
}

// binary finds versitygw: first where scripts/install-deps.sh installs the
// pinned version, $(go env GOBIN) or else $(go env GOPATH)/bin, and only
// then on PATH, which may hold another version.
func binary() (string, error) {
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimRight(string(out), "\r\n"), "\n")
		if len(lines) == 2 {
			if gobin := strings.TrimSpace(lines[0]); gobin != "" {
				dirs = append(dirs, gobin)
			}
			if gp := strings.TrimSpace(lines[1]); gp != "" {
				dirs = append(dirs, filepath.Join(filepath.SplitList(gp)[0], "bin"))
			}
		}
	}
	if len(dirs) == 0 {
		if home, err := os.UserHomeDir(); err == nil {
			dirs = append(dirs, filepath.Join(home, "go", "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("versitygw not found in %s nor on PATH", strings.Join(dirs, ", "))
}

func start() server {
	bin, err := binary()
	if err != nil {
		return server{err: err}
	}
	access, secret := "hangar"+randomHex(4), randomHex(16)
	var errs []error
	for range 5 {
		s, err := startOnce(bin, access, secret)
		if err == nil {
			return s
		}
		errs = append(errs, err)
	}
	return server{err: errors.Join(errs...)}
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startOnce(bin, access, secret string) (server, error) {
	addr, err := freePort()
	if err != nil {
		return server{}, fmt.Errorf("pick a port: %w", err)
	}
	dir, err := os.MkdirTemp("", "hangar-s3test-")
	if err != nil {
		return server{}, fmt.Errorf("create server directory: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		os.RemoveAll(dir)
		return server{}, fmt.Errorf("create server directory: %w", err)
	}
	// The guard starts the server, waits for its stdin to reach EOF (the
	// test process ended or closed it), then stops the server and removes
	// the directory. The credentials travel in the environment, not argv.
	script := `"$1" --quiet --port "$3" posix "$2/data" >"$2/server.log" 2>&1 &
pid=$!
cat >/dev/null
kill "$pid" 2>/dev/null
wait "$pid"
rm -rf "$2"`
	guard := exec.Command("/bin/sh", "-c", script, "s3test-guard", bin, dir, addr)
	guard.Dir = dir
	guard.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+access, "ROOT_SECRET_KEY="+secret)
	// A new process group: an interrupt of the test run reaches only the
	// test process, whose exit then closes the pipe.
	guard.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := guard.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return server{}, fmt.Errorf("start versitygw: %w", err)
	}
	// No stdout/stderr: go test would otherwise wait for the guard's pipes.
	if err := guard.Start(); err != nil {
		os.RemoveAll(dir)
		return server{}, fmt.Errorf("start versitygw: %w", err)
	}
	stop := &stopper{stdin: stdin, cmd: guard}
	client, err := newClient(addr, access, secret)
	if err != nil {
		stop.Close()
		return server{}, err
	}
	// Ready once it answers a request signed with our credentials: a port
	// someone else took meanwhile fails that.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = client.ListBuckets(ctx)
		cancel()
		if err == nil {
			return server{endpoint: "http://" + addr, access: access, secret: secret, client: client, guard: stop}, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		if time.Now().After(deadline) || strings.Contains(string(log), "address already in use") {
			stop.Close()
			return server{}, fmt.Errorf("versitygw on %s did not answer: %w; its log: %s", addr, err, strings.TrimSpace(string(log)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopper stops the server by closing the guard's stdin.
type stopper struct {
	stdin io.Closer
	cmd   *exec.Cmd
}

// Close stops the server and waits for its directory to be removed.
func (s *stopper) Close() error {
	s.stdin.Close()
	return s.cmd.Wait()
}
