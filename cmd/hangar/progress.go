package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hangar-ml/hangar/artifact"
)

// progressBar shows an upload's progress on stderr: a bar redrawn in place
// (bytes, rate, ETA) when stderr is a terminal, one final line otherwise,
// or nothing. --progress picks the mode; "bar" draws the bar whatever the
// output is, which is how the renderer is tested.
type progressBar struct {
	w     io.Writer
	mode  string // "bar", "line" or "none"
	now   func() time.Time
	start time.Time
	drawn time.Time // last redraw, to redraw at most every redrawEvery
	last  artifact.Progress
	hash  artifact.Progress // the hashing phase, once over
}

// redrawEvery bounds how often the bar is redrawn.
const redrawEvery = 100 * time.Millisecond

// newProgressBar returns the renderer for mode: auto, bar, line or none.
func newProgressBar(w io.Writer, mode string) (*progressBar, error) {
	switch mode {
	case "auto":
		mode = "line"
		if isTerminal(w) {
			mode = "bar"
		}
	case "bar", "line", "none":
	default:
		return nil, fmt.Errorf("unknown --progress %q: use auto, bar, line or none", mode)
	}
	return &progressBar{w: w, mode: mode, now: time.Now, start: time.Now()}, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update takes a Progress report (artifact.UploadOptions.Progress).
func (b *progressBar) update(p artifact.Progress) {
	if b == nil {
		return
	}
	if p.Phase == artifact.PhaseHash {
		b.hash = p
	}
	b.last = p
	if b.mode != "bar" {
		return
	}
	now := b.now()
	if now.Sub(b.drawn) < redrawEvery && p.Done < p.Total {
		return
	}
	b.drawn = now
	fmt.Fprintf(b.w, "\r%s\033[K", b.render(p, now))
}

// render is one line of the bar: phase, bar, share, bytes, rate and ETA.
func (b *progressBar) render(p artifact.Progress, now time.Time) string {
	const width = 24
	frac := 1.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	full := int(frac * width)
	bar := strings.Repeat("=", full)
	if full < width {
		bar += ">" + strings.Repeat(" ", width-full-1)
	}
	elapsed := now.Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.Done) / elapsed
	}
	eta := "--"
	if rate > 0 && p.Done < p.Total {
		eta = time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second)).Round(time.Second).String()
	} else if p.Done >= p.Total {
		eta = "0s"
	}
	return fmt.Sprintf("%-9s [%s] %3.0f%% %s/%s %s/s ETA %s", p.Phase, bar, frac*100, bytesize(p.Done), bytesize(p.Total), bytesize(int64(rate)), eta)
}

// finish ends the display: the bar's line is replaced by, or the plain
// mode prints, one summary line.
func (b *progressBar) finish(files int) {
	if b == nil || b.mode == "none" {
		return
	}
	if b.mode == "bar" {
		fmt.Fprint(b.w, "\r\033[K")
	}
	sent := int64(0)
	if b.last.Phase == artifact.PhaseUpload {
		sent = b.last.Done
	}
	fmt.Fprintf(b.w, "uploaded %d files, %s: %s sent, %s already stored, in %s\n",
		files, bytesize(b.hash.Total), bytesize(sent), bytesize(b.last.Skipped), b.now().Sub(b.start).Round(time.Millisecond))
}

// bytesize prints a byte count with a binary unit.
func bytesize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
