package crilog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c", "0.log")
	w, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	w.now = func() time.Time { return time.Date(2026, 11, 22, 1, 2, 3, 123456789, time.UTC) }
	w.Copy("stdout", strings.NewReader("hello\n\nlast without newline"))
	w.Copy("stderr", strings.NewReader(strings.Repeat("x", maxLine+10)+"\n"))
	w.Close()
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{
		"2026-11-22T01:02:03.123456789Z stdout F hello",
		"2026-11-22T01:02:03.123456789Z stdout F ",
		"2026-11-22T01:02:03.123456789Z stdout F last without newline",
	}
	for i, l := range want {
		if lines[i] != l {
			t.Errorf("line %d = %q, want %q", i, lines[i], l)
		}
	}
	if !strings.Contains(lines[3], " stderr P xxx") || !strings.HasSuffix(lines[4], " stderr F xxxxxxxxxx") || len(lines) != 5 {
		t.Errorf("partial lines wrong: %d lines", len(lines))
	}
}
