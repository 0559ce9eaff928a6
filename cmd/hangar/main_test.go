package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hangar": main,
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script: each one
// drives the real hangar binary against a real server process.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("HANGAR_HOME", e.WorkDir+"/home")
			e.Setenv("HOME", e.WorkDir+"/userhome")
			// Scripts copy larger fixtures (job folders) from here.
			td, err := filepath.Abs("testdata")
			if err != nil {
				return err
			}
			e.Setenv("HANGAR_TESTDATA", td)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"server":     cmdServer,
			"stdout2env": cmdStdoutToEnv,
			"mlflow":     cmdMLflow,
			"until":      cmdUntil,
		},
	})
}

// cmdServer controls real `hangar server` processes for a script:
//
//	server start [flags...]   start on a free loopback port, wait for /readyz, set HANGAR_URL
//	server restart [flags...] start again on the port of the last server started
//	server kill9              SIGKILL the last server started (no chance to flush or drain)
//	server stop               SIGTERM the last server started and require exit status 0
//
// A script may run several servers at once (sharing one database): each
// has its own log, server.log for the first one running, server-2.log for
// a second started while the first runs, and so on; a server started when
// none runs writes server.log afresh. Every server still running at the
// end of the script is killed.
func cmdServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: server start|restart|kill9|stop")
	}
	switch args[0] {
	case "start", "restart":
		port, err := freePort()
		ts.Check(err)
		if args[0] == "restart" {
			// The address of the server that was stopped or killed.
			port, err = strconv.Atoi(ts.Getenv("HANGAR_PORT"))
			if err != nil {
				ts.Fatalf("server restart: no server was started before")
			}
		}
		ts.Setenv("HANGAR_PORT", strconv.Itoa(port))
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		cmd := exec.Command("hangar", append([]string{"server", "--addr", fmt.Sprintf("127.0.0.1:%d", port)}, args[1:]...)...)
		// The script's PATH, so a script can start a server (and the job
		// steps it runs) with a PATH it chose.
		cmd.Env = append(os.Environ(), "HANGAR_HOME="+ts.Getenv("HANGAR_HOME"), "HOME="+ts.Getenv("HOME"), "PATH="+ts.Getenv("PATH"))
		running := scriptServers(ts)
		log := "server.log"
		if n := len(*running) + 1; n > 1 {
			log = fmt.Sprintf("server-%d.log", n)
		}
		logf, err := os.Create(ts.MkAbs(log))
		ts.Check(err)
		cmd.Stdout, cmd.Stderr = logf, logf
		ts.Check(cmd.Start())
		*running = append(*running, cmd)
		ts.Defer(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
			logf.Close()
		})
		if err := waitReady(url, 20*time.Second); err != nil {
			b, _ := os.ReadFile(ts.MkAbs(log))
			ts.Fatalf("server did not become ready: %v\n%s: %s", err, log, b)
		}
		ts.Setenv("HANGAR_URL", url)
	case "kill9", "stop":
		running := scriptServers(ts)
		if len(*running) == 0 {
			ts.Fatalf("no server running")
		}
		cmd := (*running)[len(*running)-1]
		*running = (*running)[:len(*running)-1]
		sig := syscall.SIGKILL
		if args[0] == "stop" {
			sig = syscall.SIGTERM
		}
		ts.Check(cmd.Process.Signal(sig))
		err := cmd.Wait()
		if args[0] == "stop" && err != nil {
			ts.Fatalf("server exited with %v after SIGTERM; want status 0", err)
		}
	default:
		ts.Fatalf("usage: server start|restart|kill9|stop")
	}
}

// scriptServers returns the servers a script has running, the last one
// started last. Scripts run in parallel, each with its own list; the
// list goes with the script.
func scriptServers(ts *testscript.TestScript) *[]*exec.Cmd {
	v, loaded := servers.LoadOrStore(ts, new([]*exec.Cmd))
	if !loaded {
		ts.Defer(func() { servers.Delete(ts) })
	}
	return v.(*[]*exec.Cmd)
}

// servers holds each script's running server processes.
var servers sync.Map // *testscript.TestScript → *[]*exec.Cmd

// cmdUntil runs a program again and again, as exec does, until its stdout
// matches a regular expression, for what another process does in its own
// time (a second server following the first):
//
//	until TIMEOUT REGEXP PROG [ARGS...]
//
// It fails when TIMEOUT (a Go duration) passes first, showing the last
// output; stdout and stderr are the last run's.
func cmdUntil(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: until TIMEOUT REGEXP PROG [ARGS...]")
	}
	timeout, err := time.ParseDuration(args[0])
	ts.Check(err)
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(timeout)
	for {
		err := ts.Exec(args[2], args[3:]...)
		out := ts.ReadFile("stdout")
		if err == nil && re.MatchString(out) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("until %s: %s %s: stdout %q does not match %q (last error: %v; stderr %q)", args[0], args[2], strings.Join(args[3:], " "), out, args[1], err, ts.ReadFile("stderr"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cmdStdoutToEnv sets an environment variable from the previous command's
// stdout: all of it, trimmed (`stdout2env TOKEN`), or one field of its JSON
// (`stdout2env TOKEN_ID id`).
func cmdStdoutToEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: stdout2env NAME [json.path]")
	}
	out := ts.ReadFile("stdout")
	if len(args) == 1 {
		ts.Setenv(args[0], strings.TrimSpace(out))
		return
	}
	var doc any
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	ts.Check(dec.Decode(&doc))
	v := queryPath(doc, args[1])
	if v == nil {
		ts.Fatalf("stdout has no %s", args[1])
	}
	ts.Setenv(args[0], scalar(v))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("readyz: %s", resp.Status)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last
}
