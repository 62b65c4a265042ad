// Package crilog writes container output in the CRI log format that
// `kubectl logs` expects from a kubelet: "<RFC3339Nano> <stream> <F|P> <text>".
package crilog

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxLine splits very long lines into partial (P) records, as CRI runtimes do.
const maxLine = 16 * 1024

// Writer is one container instance's log file; stdout and stderr share it.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	now func() time.Time
}

// Open creates (or appends to) the log file at path.
func Open(path string) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, now: time.Now}, nil
}

// Copy reads r until EOF and logs it as stream ("stdout" or "stderr").
func (w *Writer) Copy(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 || (err == nil && !isPrefix) {
			tag := "F"
			if isPrefix {
				tag = "P"
			}
			w.record(stream, tag, line)
		}
		if err != nil {
			return
		}
	}
}

func (w *Writer) record(stream, tag string, line []byte) {
	buf := make([]byte, 0, len(line)+48)
	buf = w.now().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = append(buf, line...)
	buf = append(buf, '\n')
	w.mu.Lock()
	w.f.Write(buf)
	w.mu.Unlock()
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }
