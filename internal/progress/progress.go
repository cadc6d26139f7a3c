// Package progress reports long work: a bar redrawn in place on a terminal,
// a plain line every few seconds otherwise (logs, CI), so that a run shows
// it is alive either way.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar counts done of total items under a label.
type Bar struct {
	w        io.Writer
	label    string
	total    int
	tty      bool
	start    time.Time
	lastDraw time.Time
	drawn    bool
}

// New starts a bar on w; it draws in place when w is a terminal.
func New(w io.Writer, label string, total int) *Bar {
	return &Bar{w: w, label: label, total: total, tty: IsTerminal(w), start: time.Now()}
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// TTY reports whether the bar draws in place.
func (b *Bar) TTY() bool { return b.tty }

// Println writes a message line without breaking a bar drawn on a terminal.
func (b *Bar) Println(msg string) {
	if b.tty && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
	fmt.Fprintln(b.w, msg)
	b.drawn = false
}

// Update shows done of total items with extra text (e.g. running accuracy),
// at most ten times a second on a terminal and every five seconds
// otherwise; the last item is always shown.
func (b *Bar) Update(done int, extra string) {
	now := time.Now()
	every := 5 * time.Second
	if b.tty {
		every = 100 * time.Millisecond
	}
	if done < b.total && now.Sub(b.lastDraw) < every {
		return
	}
	b.lastDraw = now
	el := now.Sub(b.start)
	rate := float64(done) / el.Seconds()
	eta := ""
	if done > 0 && done < b.total {
		eta = " ETA " + Duration(time.Duration(float64(el)*float64(b.total-done)/float64(done)))
	}
	if !b.tty {
		fmt.Fprintf(b.w, "%s %d/%d %.1f/s%s %s\n", b.label, done, b.total, rate, eta, extra)
		return
	}
	const width = 30
	fill := 0
	if b.total > 0 {
		fill = min(width, width*done/b.total)
	}
	fmt.Fprintf(b.w, "\r\033[K%s [%s%s] %d/%d %.1f/s%s %s", b.label, strings.Repeat("#", fill),
		strings.Repeat(" ", width-fill), done, b.total, rate, eta, extra)
	b.drawn = true
	if done >= b.total {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

// Duration formats d as h:mm:ss or m:ss.
func Duration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
