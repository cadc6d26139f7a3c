package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPlainLines(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "eval", 10)
	b.Update(3, "top1 50%") // the first update draws
	b.Update(4, "")         // too soon: skipped
	b.Println("a message")
	b.Update(10, "done")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "eval 3/10") || !strings.Contains(lines[0], "ETA") ||
		lines[1] != "a message" || !strings.HasPrefix(lines[2], "eval 10/10") {
		t.Fatalf("output %q", buf.String())
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("carriage return in plain output")
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{65 * time.Second: "1:05", 3725 * time.Second: "1:02:05", 0: "0:00"} {
		if got := Duration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
