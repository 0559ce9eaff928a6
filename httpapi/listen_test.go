package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hangar-ml/hangar"
	"github.com/hangar-ml/hangar/httpapi"
)

// timedServer serves the env's handler with NewHTTPServer and t, and counts
// the connections the server holds open.
type timedServer struct {
	addr string
	open atomic.Int64
}

func serveTimed(t *testing.T, e *env, to httpapi.Timeouts) *timedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &timedServer{addr: ln.Addr().String()}
	srv := httpapi.NewHTTPServer(e.api.Handler(), nil, to)
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			ts.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			ts.open.Add(-1)
		}
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ts
}

// waitNoConns fails unless the server holds no connection within bound,
// while the clients still hold theirs open.
func (ts *timedServer) waitNoConns(t *testing.T, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for ts.open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the server still holds %d connections after %v", ts.open.Load(), bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// trickle opens a connection, sends head at once and then one byte every
// interval, until writing fails or the test ends.
func trickle(t *testing.T, addr, head string, every time.Duration) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	done := t.Context().Done()
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	return c
}

// closedWithin reads what the server sends until it closes the connection,
// and fails if it has not within bound.
func closedWithin(t *testing.T, c net.Conn, bound time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(bound))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the server kept the connection open for %v (read so far: %.80q)", bound, b)
	}
	return string(b)
}

// TestSlowClients: connections that send their headers or bodies a byte at
// a time are closed by the server within a bound, however long they
// declare their bodies to be; uploads and downloads that keep a minimum
// pace run as long as they need.
func TestSlowClients(t *testing.T) {
	e := newEnv(t)
	token := e.adminToken()
	const (
		clients = 50
		every   = 100 * time.Millisecond
	)
	// A declared 200 kB body of which a byte comes every 100 ms.
	blobHead := func(auth string) string {
		h := "PUT /api/v1/workspaces/default/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 200000\r\n"
		if auth != "" {
			h += "Authorization: Bearer " + auth + "\r\n"
		}
		return h + "\r\n"
	}

	t.Run("unauthenticated bodies", func(t *testing.T) {
		t.Parallel()
		// The read and write timeouts are long: what closes these
		// connections is the 401 answered before their bodies were read.
		ts := serveTimed(t, e, httpapi.Timeouts{Read: time.Minute, Write: time.Minute, Drain: 200 * time.Millisecond})
		conns := make([]net.Conn, clients)
		for i := range conns {
			conns[i] = trickle(t, ts.addr, blobHead(""), every)
		}
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() {
				got := closedWithin(t, c, 10*time.Second)
				if !strings.HasPrefix(got, "HTTP/1.1 401 ") || !strings.Contains(got, "Connection: close") {
					t.Errorf("answer %.120q, want 401 with Connection: close", got)
				}
			})
		}
		wg.Wait()
		ts.waitNoConns(t, 5*time.Second)
	})

	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		ts := serveTimed(t, e, httpapi.Timeouts{ReadHeader: 500 * time.Millisecond})
		conns := make([]net.Conn, clients)
		for i := range conns {
			conns[i] = trickle(t, ts.addr, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", every)
		}
		for _, c := range conns {
			closedWithin(t, c, 10*time.Second)
		}
		ts.waitNoConns(t, 5*time.Second)
	})

	t.Run("authenticated bodies", func(t *testing.T) {
		t.Parallel()
		// Blob uploads must keep 64 KiB/s over half-second windows; JSON
		// bodies must arrive within a second.
		ts := serveTimed(t, e, httpapi.Timeouts{Read: time.Second, Write: time.Minute,
			StreamWindow: 500 * time.Millisecond, StreamMinRate: 64 << 10, Drain: 200 * time.Millisecond})
		var conns []net.Conn
		for range 10 {
			conns = append(conns, trickle(t, ts.addr, blobHead(token), every))
		}
		json := "POST /api/v1/workspaces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200000\r\nAuthorization: Bearer " + token + "\r\n\r\n{\"name\":\""
		for range 10 {
			conns = append(conns, trickle(t, ts.addr, json, every))
		}
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() {
				got := closedWithin(t, c, 10*time.Second)
				if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.Contains(got, "arrived too slowly") {
					t.Errorf("answer %.300q, want 400: the body arrived too slowly", got)
				}
			})
		}
		wg.Wait()
		ts.waitNoConns(t, 5*time.Second)
	})

	t.Run("paced streams outlast the timeouts", func(t *testing.T) {
		t.Parallel()
		// Uploads and downloads of 2 MiB at 32 or 64 KiB every 50 ms take
		// longer than the read and write timeouts, and keep well above the
		// minimum pace.
		ts := serveTimed(t, e, httpapi.Timeouts{Read: time.Second, Write: time.Second,
			StreamWindow: 500 * time.Millisecond, StreamMinRate: 64 << 10})
		content := make([]byte, 2<<20)
		rand.Read(content)
		sum := sha256.Sum256(content)
		want := hangar.Digest("sha256:" + hex.EncodeToString(sum[:]))
		c := httpapi.NewClient("http://"+ts.addr, token)
		start := time.Now()
		info, err := c.PutBlob(t.Context(), hangar.DefaultWorkspace, &pacedSource{r: bytes.NewReader(content), chunk: 64 << 10, every: 50 * time.Millisecond})
		if err != nil || info.Digest != want {
			t.Fatalf("paced upload: %+v, %v; want %s", info, err, want)
		}
		if d := time.Since(start); d < 1500*time.Millisecond {
			t.Fatalf("the upload took %v, not longer than the read timeout: the test proves nothing", d)
		}
		rc, err := c.OpenBlob(t.Context(), hangar.DefaultWorkspace, want)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		start = time.Now()
		back, err := io.ReadAll(&pacedSource{r: rc, chunk: 64 << 10, every: 50 * time.Millisecond})
		if err != nil || !bytes.Equal(back, content) {
			t.Fatalf("paced download: %d bytes, %v; want the %d uploaded", len(back), err, len(content))
		}
		if d := time.Since(start); d < 1500*time.Millisecond {
			t.Fatalf("the download took %v, not longer than the write timeout: the test proves nothing", d)
		}
	})

	t.Run("stalled download", func(t *testing.T) {
		t.Parallel()
		content := make([]byte, 32<<20) // more than the socket buffers hold
		info, err := e.admin.PutBlob(t.Context(), hangar.DefaultWorkspace, bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		ts := serveTimed(t, e, httpapi.Timeouts{Write: time.Minute, StreamWindow: 500 * time.Millisecond, StreamMinRate: 64 << 10})
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(4 << 10)
		fmt.Fprintf(c, "GET /api/v1/workspaces/default/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", info.Digest, token)
		// The client reads nothing: the server's writes block, miss the
		// pace and the server drops the connection (what it had sent is
		// still on its way: the client would read that, slowly, and then
		// the end of the connection).
		for ts.open.Load() == 0 {
			time.Sleep(10 * time.Millisecond) // until the server has taken the connection
		}
		ts.waitNoConns(t, 10*time.Second)
	})

	t.Run("huge headers", func(t *testing.T) {
		t.Parallel()
		ts := serveTimed(t, e, httpapi.Timeouts{})
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n", strings.Repeat("b", 128<<10))
		if got := closedWithin(t, c, 10*time.Second); !strings.HasPrefix(got, "HTTP/1.1 431 ") {
			t.Errorf("answer %.80q, want 431 for 128 KiB of headers", got)
		}
	})
}

// pacedSource reads r in chunks of at most chunk bytes, one every interval.
type pacedSource struct {
	r     io.Reader
	chunk int
	every time.Duration
	buf   []byte
}

func (p *pacedSource) Read(b []byte) (int, error) {
	if len(p.buf) == 0 {
		time.Sleep(p.every)
		chunk := make([]byte, p.chunk)
		n, err := io.ReadFull(p.r, chunk)
		if n == 0 {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return 0, err
		}
		p.buf = chunk[:n]
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}
