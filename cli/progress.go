package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// isTerminal reports whether w is a terminal (a file whose descriptor is
// a tty). Buffers, pipes and files are not: no progress bar is drawn on
// them, so scripts and logs never see one.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// progressMin is the size below which no bar is drawn: a small transfer
// is over before a bar would help.
const progressMin = 1 << 20

// progressEvery is how often the bar is redrawn at most.
const progressEvery = 100 * time.Millisecond

// progress is a one-line progress bar on a terminal: label, bar, percent,
// bytes done of total, rate. total < 0 means unknown (no bar, no
// percent). A nil *progress does nothing, so callers need not check.
type progress struct {
	// mu: an HTTP transport reads a request's body in a goroutine of its
	// own, which may still run when the answer has come.
	mu     sync.Mutex
	w      io.Writer
	label  string
	total  int64
	done   int64
	start  time.Time
	drawn  time.Time
	shown  bool
	now    func() time.Time
	closed bool
}

// newProgress returns a bar for a transfer of total bytes when stderr is
// a terminal, else nil.
func (inv *invocation) newProgress(label string, total int64) *progress {
	if !inv.tty {
		return nil
	}
	return &progress{w: inv.stderr, label: label, total: total, start: time.Now(), now: time.Now}
}

// add counts n more bytes and redraws when it is time.
func (p *progress) add(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.done += int64(n)
	now := p.now()
	if p.done < progressMin && (p.total < 0 || p.total < progressMin) {
		return
	}
	if p.shown && now.Sub(p.drawn) < progressEvery {
		return
	}
	p.draw(now)
}

// finish draws the final state and ends the line, if a bar was shown.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.shown {
		p.draw(p.now())
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(now time.Time) {
	p.shown, p.drawn = true, now
	fmt.Fprint(p.w, "\r"+p.line(now)+"\x1b[K") // \x1b[K clears what a longer line left
}

// line renders the bar (without the carriage return).
func (p *progress) line(now time.Time) string {
	const width = 24
	rate := ""
	if el := now.Sub(p.start).Seconds(); el > 0.05 {
		rate = "  " + humanBytes(int64(float64(p.done)/el)) + "/s"
	}
	if p.total <= 0 {
		return fmt.Sprintf("%s  %s%s", p.label, humanBytes(p.done), rate)
	}
	frac := float64(p.done) / float64(p.total)
	frac = min(max(frac, 0), 1)
	full := int(frac * width)
	bar := strings.Repeat("=", full)
	if full < width {
		bar += ">" + strings.Repeat(" ", width-full-1)
	}
	return fmt.Sprintf("%s [%s] %3d%%  %s / %s%s", p.label, bar, int(frac*100), humanBytes(p.done), humanBytes(p.total), rate)
}

// reader counts what r gives through the bar.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &progressReader{r: r, p: p}
}

// writer counts what is written to w through the bar.
func (p *progress) writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return &progressWriter{w: w, p: p}
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(n)
	return n, err
}

type progressWriter struct {
	w io.Writer
	p *progress
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.p.add(n)
	return n, err
}
