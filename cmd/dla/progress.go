package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress reports long work: a redrawn bar on a terminal, a plain line every
// few seconds otherwise (logs, CI).
type progress struct {
	w        io.Writer
	label    string
	total    int
	tty      bool
	start    time.Time
	lastDraw time.Time
}

func newProgress(w io.Writer, label string, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, label: label, total: total, tty: tty, start: time.Now()}
}

// println writes a message line without breaking a bar drawn on a terminal.
func (p *progress) println(msg string) {
	if p.tty && !p.lastDraw.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, msg)
}

// update shows done of total items, with extra text (e.g. running accuracy).
func (p *progress) update(done int, extra string) {
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if done < p.total && now.Sub(p.lastDraw) < every {
		return
	}
	p.lastDraw = now
	rate := float64(done) / now.Sub(p.start).Seconds()
	if p.tty {
		const width = 30
		fill := 0
		if p.total > 0 {
			fill = width * done / p.total
		}
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %.1f/s %s", p.label, strings.Repeat("#", fill),
			strings.Repeat(" ", width-fill), done, p.total, rate, extra)
		if done >= p.total {
			fmt.Fprintln(p.w)
		}
		return
	}
	fmt.Fprintf(p.w, "%s %d/%d %.1f/s %s\n", p.label, done, p.total, rate, extra)
}
