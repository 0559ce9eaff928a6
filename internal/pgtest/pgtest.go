// Package pgtest gives tests a real, empty PostgreSQL database.
//
// The first call in a test binary starts a private PostgreSQL cluster from
// the installed server binaries (initdb and postgres, found on PATH or under
// /usr/lib/postgresql/*/bin) in a fresh temporary directory; every call then
// creates a new database in it, so each test starts empty. The server listens
// only on a unix socket inside that directory (listen_addresses is empty), so
// it needs no free TCP port and cannot collide with another server. It runs
// with fsync off: test data need not survive a crash of the machine.
//
// PostgreSQL refuses to run as root, so when the tests run as root the
// cluster is created and run as the unprivileged user "nobody" (or
// "hangar-test" when it exists), owning the temporary directory.
//
// The server is stopped and its directory removed when the test binary
// exits, however it exits: the server is started by a small shell guard
// that waits for its standard input, a pipe held open by the test process,
// to close; the kernel closes it when the process ends, even on kill -9 or
// a panic, and the guard then stops the server and removes the directory.
// Packages therefore need no TestMain.
//
// Set HANGAR_TEST_POSTGRES_URL to a server URL (with a role that may
// CREATE DATABASE) to use an existing server instead. When no PostgreSQL can
// be had, URL skips the test with the reason, or fails it when CI=true.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the environment variable that points the tests at an
// existing PostgreSQL server.
const EnvURL = "HANGAR_TEST_POSTGRES_URL"

// cluster is the one server of this test binary.
type cluster struct {
	baseURL string  // a URL whose path names the admin database
	admin   *sql.DB // connected to the admin database, to create databases
	guard   io.Closer
	err     error
}

var (
	once   sync.Once
	shared cluster
)

// URL returns the URL of a new, empty database, dropped when the test
// ends. It skips the test when no PostgreSQL is available, or fails it when
// the CI environment variable is "true".
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { shared = start() })
	if shared.err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("pgtest: PostgreSQL is required in CI: %v", shared.err)
		}
		tb.Skipf("pgtest: no PostgreSQL (set %s or install the postgresql server): %v", EnvURL, shared.err)
	}
	name := "hangar_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := shared.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends connections a test left open (PostgreSQL 13+).
		if _, err := shared.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(shared.baseURL)
	if err != nil {
		tb.Fatalf("pgtest: parse server URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func start() cluster {
	if u := os.Getenv(EnvURL); u != "" {
		return connect(u, nil)
	}
	u, guard, err := startLocal()
	if err != nil {
		return cluster{err: err}
	}
	return connect(u, guard)
}

func connect(u string, guard io.Closer) cluster {
	admin, err := sql.Open("pgx", u)
	if err != nil {
		return cluster{err: fmt.Errorf("open %s: %w", redact(u), err)}
	}
	admin.SetMaxOpenConns(2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err == nil {
			return cluster{baseURL: u, admin: admin, guard: guard}
		}
		if time.Now().After(deadline) {
			admin.Close()
			if guard != nil {
				guard.Close()
			}
			return cluster{err: fmt.Errorf("connect to %s: %w", redact(u), err)}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<unparseable URL>"
	}
	return p.Redacted()
}

// binDir finds the directory holding initdb and postgres.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest version first: "9" must not sort above "15".
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb not found on PATH or under /usr/lib/postgresql/*/bin")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// runAs returns the credential to run the server with: none when not root,
// otherwise an unprivileged user's.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"hangar-test", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("running as root and neither user hangar-test nor nobody exists to run PostgreSQL")
}

func startLocal() (string, io.Closer, error) {
	bin, err := binDir()
	if err != nil {
		return "", nil, err
	}
	cred, err := runAs()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "hangar-pgtest-")
	if err != nil {
		return "", nil, fmt.Errorf("create cluster directory: %w", err)
	}
	fail := func(err error) (string, io.Closer, error) {
		os.RemoveAll(dir)
		return "", nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(fmt.Errorf("hand cluster directory to uid %d: %w", cred.Uid, err))
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out))))
	}

	// The guard starts the server, waits for its stdin to reach EOF (the
	// test process ended or closed it), then stops the server with a fast
	// shutdown and removes the directory.
	const port = "5432" // only names the socket file inside dir
	script := `"$1/postgres" -D "$2/data" -k "$2" -p ` + port + ` -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 >"$2/server.log" 2>&1 &
pid=$!
cat >/dev/null
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$2"`
	guard := exec.Command("/bin/sh", "-c", script, "pgtest-guard", bin, dir)
	guard.Dir = dir
	guard.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	// A new process group: an interrupt of the test run reaches only the
	// test process, whose exit then closes the pipe.
	guard.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	stdin, err := guard.StdinPipe()
	if err != nil {
		return fail(fmt.Errorf("start postgres: %w", err))
	}
	// No stdout/stderr: go test would otherwise wait for the guard's pipes.
	if err := guard.Start(); err != nil {
		return fail(fmt.Errorf("start postgres: %w", err))
	}
	u := (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres",
		RawQuery: url.Values{"host": {dir}, "port": {port}, "sslmode": {"disable"}}.Encode()}).String()
	return u, &stopper{stdin: stdin, cmd: guard, dir: dir}, nil
}

// stopper stops a local cluster by closing the guard's stdin.
type stopper struct {
	stdin io.Closer
	cmd   *exec.Cmd
	dir   string
}

// Close stops the server and waits for its directory to be removed.
func (s *stopper) Close() error {
	s.stdin.Close()
	return s.cmd.Wait()
}
