package recording

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"tlmon/internal/outfile"
)

// Writer appends frames to a recording. Each frame goes out in one write, as
// soon as it is given, with nothing buffered: a tlmon killed with SIGKILL
// loses at most the frame being written (whole blocks reach the page cache
// with each write; only the machine going down loses more). So the caller
// batches what happens in an interval into one frame a kind rather than one
// frame an event. A Writer is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	f    *os.File // the file Create made, closed by Close
	enc  *zstd.Encoder
	buf  []byte // the block being built, reused: no allocation per frame
	size int64  // bytes written so far
	err  error  // the first write error: after a short write the file ends torn, and anything appended after it would be lost to a reader anyway
}

// Create starts a recording at path, replacing what is there, and writes its
// header. The file is new and 0600 (a recording shows every process's calls
// and command lines): it is created beside path under a temporary name with
// O_EXCL, which never follows a symlink, and renamed onto path at once.
// The rename replaces the name itself, so a symlink or hard link planted at
// path is replaced, never written through; in a sticky directory like /tmp
// the kernel refuses to replace another user's entry, and Create fails.
// A device, a fifo or a socket is refused (outfile.Replaceable).
func Create(path string, h Header) (*Writer, error) {
	if err := outfile.Replaceable(path); err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("create recording %s: %w", path, err)
	}
	w, err := NewWriter(f, h)
	if err == nil {
		if err = os.Rename(f.Name(), path); err != nil {
			w.Close()
		}
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create recording %s: %w", path, err)
	}
	w.f = f
	return w, nil
}

// NewWriter starts a recording on w and writes its header to it.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	js, err := json.Marshal(&h)
	if err != nil {
		return nil, fmt.Errorf("recording header: %w", err)
	}
	// A dictionary-less encoder kept for the whole recording, each frame
	// compressed alone (EncodeAll) so any frame decodes without the ones
	// before it and a torn tail costs only itself. No zstd checksum: the
	// block's CRC covers the stored bytes already. A 1 MiB window rather
	// than the default 8: the encoder keeps two windows of history, 2 MiB
	// instead of 16, and a frame of a busy interval (~200 KB) is well inside.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, fmt.Errorf("recording: zstd: %w", err)
	}
	rw := &Writer{w: w, enc: enc}
	body := le.AppendUint32(nil, byteOrderMagic)
	body = le.AppendUint16(body, Major)
	body = le.AppendUint16(body, Minor)
	body = le.AppendUint32(body, uint32(len(js)))
	body = append(body, js...)
	if err := rw.write(appendBlock([]byte(magic), blockSection, body)); err != nil {
		return nil, err
	}
	return rw, nil
}

// WriteFrame appends one frame: a kind, which the caller defines and a
// reader hands back (snapshot delta, keyframe, events…), the time it
// covers (kept to the nanosecond, so between the years 1678 and 2262), and
// the payload, compressed unless it does not shrink. The payload is not
// kept.
func (w *Writer) WriteFrame(kind uint16, t time.Time, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("recording: frame of %d bytes, more than the %d a reader accepts", len(payload), MaxPayload)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	b := le.AppendUint32(w.buf[:0], blockFrame)
	b = le.AppendUint32(b, 0) // the length, filled by finishBlock
	b = le.AppendUint64(b, uint64(t.UnixNano()))
	b = le.AppendUint16(b, kind)
	b = le.AppendUint16(b, flagZstd)
	b = le.AppendUint32(b, uint32(len(payload)))
	b = le.AppendUint32(b, 0) // the stored length, below
	const head = 8 + frameFixed
	b = w.enc.EncodeAll(payload, b)
	if len(b)-head >= len(payload) {
		// Incompressible (already compressed, random): store it as it is,
		// which is smaller and cheaper to read.
		b = append(b[:head], payload...)
		le.PutUint16(b[8+10:], 0)
	}
	le.PutUint32(b[8+16:], uint32(len(b)-head))
	b = finishBlock(b, 0)
	w.buf = b
	return w.write(b)
}

// write writes one whole block in one call; the first failure sticks.
func (w *Writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.size += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("recording: write at byte %d: %w", w.size, err)
	}
	return w.err
}

// Size is how many bytes of the recording are written.
func (w *Writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Close ends the recording. For a file made by Create it syncs it to disk
// (once, at the end: a sync a frame would cost more than the crash safety
// the single writes already give) and closes it.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.enc == nil {
		return nil
	}
	err := w.enc.Close()
	w.enc = nil
	if w.err == nil {
		w.err = errors.New("recording: writer closed")
	}
	if w.f != nil {
		err = errors.Join(err, w.f.Sync(), w.f.Close())
	}
	return err
}
