package kubeletserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"time"
)

// CRI log timestamps: written with a fixed width, parsed leniently (same
// constants as k8s.io/cri-client/pkg/logs).
const (
	timeFormatOut = "2006-01-02T15:04:05.000000000Z07:00"
	timeFormatIn  = "2006-01-02T15:04:05.999999999Z07:00"
)

// followPoll is how often a followed log is re-read; polling keeps the code
// free of inotify and is well below what a human or test notices.
const followPoll = 100 * time.Millisecond

// logOptions is the subset of v1.PodLogOptions the kubelet honours.
type logOptions struct {
	Follow     bool
	Previous   bool
	Timestamps bool
	TailLines  int64 // -1: all
	LimitBytes int64 // -1: unlimited
	Since      time.Time
	Stdout     bool
	Stderr     bool
}

func parseBool(q url.Values, key string) (bool, error) {
	v := q.Get(key)
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

func parseLogOptions(q url.Values, now time.Time) (logOptions, error) {
	o := logOptions{TailLines: -1, LimitBytes: -1, Stdout: true, Stderr: true}
	var err error
	for key, dst := range map[string]*bool{"follow": &o.Follow, "previous": &o.Previous, "timestamps": &o.Timestamps} {
		if *dst, err = parseBool(q, key); err != nil {
			return o, fmt.Errorf("invalid %s: %w", key, err)
		}
	}
	tail := q.Get("tailLines")
	if tail == "" && q.Get("tail") != "all" {
		tail = q.Get("tail") // legacy spelling
	}
	if tail != "" {
		if o.TailLines, err = strconv.ParseInt(tail, 10, 64); err != nil || o.TailLines < 0 {
			return o, fmt.Errorf("invalid tailLines %q", tail)
		}
	}
	if v := q.Get("limitBytes"); v != "" {
		if o.LimitBytes, err = strconv.ParseInt(v, 10, 64); err != nil || o.LimitBytes < 1 {
			return o, fmt.Errorf("invalid limitBytes %q", v)
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s < 1 {
			return o, fmt.Errorf("invalid sinceSeconds %q", v)
		}
		o.Since = now.Add(-time.Duration(s) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if o.Since, err = time.Parse(time.RFC3339, v); err != nil {
			return o, fmt.Errorf("invalid sinceTime %q", v)
		}
	}
	switch q.Get("stream") {
	case "", "All":
	case "Stdout":
		o.Stderr = false
	case "Stderr":
		o.Stdout = false
	default:
		return o, fmt.Errorf("invalid stream type %q", q.Get("stream"))
	}
	return o, nil
}

// logEntry is one parsed CRI log line.
type logEntry struct {
	ts     time.Time
	stream string
	msg    []byte // with its trailing newline for F lines, without for P
}

// parseCRILine parses "<ts> <stream> <tag> <msg>\n" like the kubelet.
func parseCRILine(line []byte) (logEntry, error) {
	var e logEntry
	fields := bytes.SplitN(line, []byte{' '}, 4)
	if len(fields) < 4 {
		return e, fmt.Errorf("malformed CRI log line %q", line)
	}
	ts, err := time.Parse(timeFormatIn, string(fields[0]))
	if err != nil {
		return e, err
	}
	e.ts, e.stream = ts, string(fields[1])
	if e.stream != "stdout" && e.stream != "stderr" {
		return e, fmt.Errorf("unexpected stream %q", e.stream)
	}
	e.msg = fields[3]
	tag, _, _ := bytes.Cut(fields[2], []byte{':'})
	if string(tag) == "P" {
		e.msg = bytes.TrimSuffix(e.msg, []byte{'\n'})
	}
	return e, nil
}

var errLimit = errors.New("limitBytes reached")

// logWriter applies since/timestamps/limit like the kubelet's. A nil
// stdout or stderr drops that stream without counting it against the limit.
type logWriter struct {
	stdout  io.Writer
	stderr  io.Writer
	o       logOptions
	remain  int64
	newLine bool // previous entry ended a line: next one gets a timestamp
}

func newLogWriter(stdout, stderr io.Writer, o logOptions) *logWriter {
	lw := &logWriter{stdout: stdout, stderr: stderr, o: o, remain: math.MaxInt64, newLine: true}
	if o.LimitBytes > 0 {
		lw.remain = o.LimitBytes
	}
	return lw
}

func (lw *logWriter) write(e logEntry) error {
	addPrefix := lw.newLine
	lw.newLine = len(e.msg) == 0 || e.msg[len(e.msg)-1] == '\n'
	if e.ts.Before(lw.o.Since) {
		return nil
	}
	w := lw.stdout
	if e.stream == "stderr" {
		w = lw.stderr
	}
	if w == nil {
		return nil
	}
	line := e.msg
	if lw.o.Timestamps && addPrefix {
		line = append([]byte(e.ts.Format(timeFormatOut)+" "), line...)
	}
	if int64(len(line)) > lw.remain {
		line = line[:lw.remain]
	}
	n, err := w.Write(line)
	lw.remain -= int64(n)
	if err != nil {
		return err
	}
	if lw.remain <= 0 {
		return errLimit
	}
	return nil
}

// tailStart returns the offset of the n-th last line of f (n < 0: start).
func tailStart(f io.ReadSeeker, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || n == 0 {
		return size, err
	}
	const block = 4096
	buf := make([]byte, block)
	pos := size
	lines := int64(0)
	// A trailing newline terminates the last line; it does not start one.
	skipLast := true
	for pos > 0 {
		start := max(pos-block, 0)
		chunk := buf[:pos-start]
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(f, chunk); err != nil {
			return 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != '\n' {
				continue
			}
			if skipLast && start+int64(i) == size-1 {
				continue
			}
			if lines++; lines == n {
				return start + int64(i) + 1, nil
			}
		}
		skipLast = false
		pos = start
	}
	return 0, nil
}

// streamLog writes the log at path to stdout and stderr. When following, it polls for new
// data until ctx is done or running() reports the container instance gone,
// and then still drains what was written before it ended.
func streamLog(ctx context.Context, path string, o logOptions, stdout, stderr io.Writer, flush func(), running func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start, err := tailStart(f, o.TailLines)
	if err != nil {
		return err
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 64*1024)
	lw := newLogWriter(stdout, stderr, o)
	var pending []byte
	finished := !o.Follow
	emit := func(line []byte) error {
		e, err := parseCRILine(line)
		if err != nil {
			return nil // skip garbage like the kubelet does
		}
		return lw.write(e)
	}
	for {
		chunk, err := r.ReadBytes('\n')
		pending = append(pending, chunk...)
		if err == nil {
			werr := emit(pending)
			pending = pending[:0]
			if werr != nil {
				return ignoreLimit(werr)
			}
			continue
		}
		if err != io.EOF {
			return err
		}
		flush()
		if finished {
			if len(pending) > 0 {
				return ignoreLimit(emit(pending))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
		// Read once more after the instance ended: its last lines may have
		// landed between our read and its exit.
		finished = !running()
	}
}

func ignoreLimit(err error) error {
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}
