package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Timeouts bound how long a client may hold a connection. A zero field takes
// its value from DefaultTimeouts.
//
// Ordinary requests — JSON bodies of at most MaxBodyBytes and their answers
// — must fit in Read and Write. Blob uploads and downloads may take far
// longer, so they are the exception: a stream moves its connection's
// deadline StreamWindow ahead each time another StreamMinRate×StreamWindow
// bytes have gone through, and so lives exactly as long as it keeps that
// pace. A client that stalls or trickles loses its connection within one
// StreamWindow.
type Timeouts struct {
	// ReadHeader bounds reading the request line and headers (and the TLS
	// handshake).
	ReadHeader time.Duration
	// Read bounds reading a whole ordinary request, body included.
	Read time.Duration
	// Write bounds an ordinary request from the end of its headers to the
	// end of its answer, handler included.
	Write time.Duration
	// Idle bounds the wait for the next request on a kept-alive connection.
	Idle time.Duration
	// StreamWindow and StreamMinRate (bytes per second) pace blob streams,
	// as above.
	StreamWindow  time.Duration
	StreamMinRate int64
	// Drain is how long an error answered before the request body was read
	// waits for the rest of that body before the connection is closed (see
	// closeUnreadBody).
	Drain time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
}

// DefaultTimeouts returns the production values: generous for a person on a
// slow link, short enough that a thousand idle or trickling connections are
// gone within a minute or two.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ReadHeader:     10 * time.Second,
		Read:           time.Minute, // 1 MiB of JSON at 17 kB/s
		Write:          2 * time.Minute,
		Idle:           2 * time.Minute,
		StreamWindow:   30 * time.Second,
		StreamMinRate:  1 << 10, // 30 KiB per 30 s
		Drain:          2 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}
}

// withDefaults fills the zero fields from DefaultTimeouts.
func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&t.ReadHeader, d.ReadHeader)
	set(&t.Read, d.Read)
	set(&t.Write, d.Write)
	set(&t.Idle, d.Idle)
	set(&t.StreamWindow, d.StreamWindow)
	set(&t.Drain, d.Drain)
	if t.StreamMinRate <= 0 {
		t.StreamMinRate = d.StreamMinRate
	}
	if t.MaxHeaderBytes <= 0 {
		t.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return t
}

type timeoutsKey struct{}

// timeoutsFrom returns the Timeouts of the server that accepted the request's
// connection, if NewHTTPServer made it.
func timeoutsFrom(ctx context.Context) (Timeouts, bool) {
	t, ok := ctx.Value(timeoutsKey{}).(Timeouts)
	return t, ok
}

// NewHTTPServer returns the *http.Server to serve h (Server.Handler) with:
// its header, read, write and idle timeouts and header limit from t (zero
// fields from DefaultTimeouts), and its errors logged to logger at warning
// level. Its ConnContext hands t to the handler, which paces blob streams
// and drains unread bodies by it; a caller that sets ConnContext itself must
// keep the context it is given. Set Addr, TLSConfig and BaseContext as needed.
func NewHTTPServer(h http.Handler, logger *slog.Logger, t Timeouts) *http.Server {
	t = t.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    t.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, timeoutsKey{}, t)
		},
	}
}

// pacer keeps a stream's connection deadline StreamWindow ahead while the
// stream keeps pace: each time quota more bytes have gone through, the
// deadline moves to a window from now. A stream that falls behind meets its
// deadline: its next read or write fails with os.ErrDeadlineExceeded.
type pacer struct {
	set    func(time.Time) error // the ResponseController's SetReadDeadline or SetWriteDeadline
	window time.Duration
	quota  int64
	since  time.Time // of the last move
	n      int64     // bytes since
}

// newPacer starts pacing a stream of the request by set, or returns nil
// when the request was not accepted by NewHTTPServer's server (the
// deadlines are then not ours to move) or the connection has no deadlines.
func newPacer(r *http.Request, set func(time.Time) error) *pacer {
	t, ok := timeoutsFrom(r.Context())
	if !ok {
		return nil
	}
	now := time.Now()
	if set(now.Add(t.StreamWindow)) != nil {
		return nil
	}
	quota := max(1, int64(float64(t.StreamMinRate)*t.StreamWindow.Seconds()))
	return &pacer{set: set, window: t.StreamWindow, quota: quota, since: now}
}

// add counts n bytes through the stream. A fast stream moves its deadline
// at most eight times a window, so the cost does not grow with its speed.
func (p *pacer) add(n int) {
	if p == nil {
		return
	}
	p.n += int64(n)
	if p.n < p.quota {
		return
	}
	now := time.Now()
	if now.Sub(p.since) < p.window/8 {
		return
	}
	p.since, p.n = now, 0
	p.set(now.Add(p.window)) //nolint:errcheck // it worked when the pacer started
}

// pacedReader is a request body read under a pacer.
type pacedReader struct {
	r io.Reader
	p *pacer
}

func (r pacedReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(n)
	return n, err
}

// pacedWriter is a response body written under a pacer.
type pacedWriter struct {
	w io.Writer
	p *pacer
}

func (w pacedWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.add(n)
	return n, err
}

// endStream gives what is left of the answer after a stream the ordinary
// write time, from now. It does nothing outside NewHTTPServer's server.
func endStream(w http.ResponseWriter, r *http.Request) {
	if t, ok := timeoutsFrom(r.Context()); ok {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(t.Write))
	}
}
