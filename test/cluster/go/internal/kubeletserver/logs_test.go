package kubeletserver

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const sampleLog = `2026-11-22T01:02:03.000000001Z stdout F first line
2026-11-22T01:02:04.5Z stderr F an error
2026-11-22T01:02:05Z stdout P part one 
2026-11-22T01:02:05.1Z stdout F and two
2026-11-22T01:02:06Z stdout F last
`

func TestParseCRILine(t *testing.T) {
	e, err := parseCRILine([]byte("2026-11-22T01:02:03.123456789Z stderr F hello world\n"))
	if err != nil || e.stream != "stderr" || string(e.msg) != "hello world\n" || e.ts.Nanosecond() != 123456789 {
		t.Fatalf("got %+v %v", e, err)
	}
	e, err = parseCRILine([]byte("2026-11-22T01:02:03Z stdout P partial\n"))
	if err != nil || string(e.msg) != "partial" {
		t.Fatalf("partial: got %q %v", e.msg, err)
	}
	e, err = parseCRILine([]byte("2026-11-22T01:02:03Z stdout F \n"))
	if err != nil || string(e.msg) != "\n" {
		t.Fatalf("empty: got %q %v", e.msg, err)
	}
	for _, bad := range []string{"garbage\n", "2026-11-22T01:02:03Z stdin F x\n", "notatime stdout F x\n"} {
		if _, err := parseCRILine([]byte(bad)); err == nil {
			t.Errorf("%q: expected error", bad)
		}
	}
}

func writeLog(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStreamLogOptions(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 2, 6, 0, time.UTC)
	path := writeLog(t, sampleLog)
	tests := []struct {
		query string
		want  string
	}{
		{"", "first line\nan error\npart one and two\nlast\n"},
		{"tailLines=2", "and two\nlast\n"},
		{"tailLines=1", "last\n"},
		{"tailLines=0", ""},
		{"tailLines=100", "first line\nan error\npart one and two\nlast\n"},
		{"tail=all", "first line\nan error\npart one and two\nlast\n"},
		{"limitBytes=13", "first line\nan"},
		{"stream=Stderr", "an error\n"},
		{"stream=Stdout&tailLines=3", "part one and two\nlast\n"},
		{"sinceTime=2026-11-22T01:02:05Z", "part one and two\nlast\n"},
		{"sinceSeconds=1", "part one and two\nlast\n"},
		{"timestamps=true&tailLines=3", "2026-11-22T01:02:05.000000000Z part one and two\n2026-11-22T01:02:06.000000000Z last\n"},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		o, err := parseLogOptions(q, now)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		var buf bytes.Buffer
		stdout, stderr := streams(&buf, o)
		if err := streamLog(context.Background(), path, o, stdout, stderr, func() {}, func() bool { return false }); err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if buf.String() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.query, buf.String(), tt.want)
		}
	}
}

func TestParseLogOptionsErrors(t *testing.T) {
	for _, q := range []string{"tailLines=-1", "limitBytes=0", "sinceSeconds=x", "sinceTime=yesterday", "follow=maybe", "stream=stdin"} {
		v, _ := url.ParseQuery(q)
		if _, err := parseLogOptions(v, time.Now()); err == nil {
			t.Errorf("%s: expected error", q)
		}
	}
}

func TestTailStart(t *testing.T) {
	for _, tt := range []struct {
		content string
		n       int64
		want    int64
	}{
		{"a\nb\nc\n", 1, 4}, {"a\nb\nc\n", 2, 2}, {"a\nb\nc\n", 3, 0}, {"a\nb\nc\n", 9, 0},
		{"a\nb\nc", 1, 4}, {"", 3, 0}, {"a\nb\n", 0, 4}, {"a\nb\n", -1, 0},
		{strings.Repeat("x", 5000) + "\n" + strings.Repeat("y", 5000) + "\n", 1, 5001},
	} {
		got, err := tailStart(strings.NewReader(tt.content), tt.n)
		if err != nil || got != tt.want {
			t.Errorf("tail %d of %.10q: got %d %v, want %d", tt.n, tt.content, got, err, tt.want)
		}
	}
}

// syncBuf is a goroutine-safe buffer for the follow test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestStreamLogFollow(t *testing.T) {
	path := writeLog(t, "2026-11-22T01:02:03Z stdout F one\n")
	var running sync.Mutex // held while "running"
	alive := true
	isRunning := func() bool { running.Lock(); defer running.Unlock(); return alive }
	out := &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- streamLog(context.Background(), path, logOptions{Follow: true, TailLines: -1, LimitBytes: -1, Stdout: true, Stderr: true}, out, out, func() {}, isRunning)
	}()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	time.Sleep(250 * time.Millisecond)
	// A line written in two pieces must come out once, whole.
	f.WriteString("2026-11-22T01:02:04Z stdout F tw")
	time.Sleep(250 * time.Millisecond)
	f.WriteString("o\n")
	deadline := time.Now().Add(2 * time.Second)
	for out.String() != "one\ntwo\n" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := out.String(); got != "one\ntwo\n" {
		t.Fatalf("follow got %q", got)
	}
	// The instance ends right after writing a last line: it must still show.
	f.WriteString("2026-11-22T01:02:05Z stderr F bye\n")
	running.Lock()
	alive = false
	running.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("follow did not stop after the container ended")
	}
	if got := out.String(); got != "one\ntwo\nbye\n" {
		t.Fatalf("final got %q", got)
	}
}
