package recording

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Frame is one frame read back.
type Frame struct {
	Kind uint16
	Time time.Time
	// Payload is the frame's bytes as given to WriteFrame. It is valid
	// until the next call to Next, which reuses it.
	Payload []byte
	// Offset is where the frame's block starts in the file.
	Offset int64
}

// Reader reads a recording's header and then its frames in order, skipping
// blocks of types it does not know (a newer minor version's). It stops at
// the first damage with an *Error saying what and where; at a torn tail
// (ErrTruncated) every frame returned before was whole.
type Reader struct {
	name         string
	r            *bufio.Reader
	f            *os.File // the file Open opened, closed by Close
	off          int64    // bytes read so far
	major, minor int
	header       Header
	dec          *zstd.Decoder
	blk, out     []byte // reused: the block read, a decompressed payload
	err          error  // sticky: after damage nothing more is read
}

// Open opens the recording at path and reads its header. Errors name path
// and are one line.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.f = f
	return r, nil
}

// NewReader reads a recording's header from rd; name is what errors call it.
func NewReader(rd io.Reader, name string) (*Reader, error) {
	if name == "" {
		name = "recording"
	}
	r := &Reader{name: name, r: bufio.NewReaderSize(rd, 64<<10)}
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reader) fail(kind error, off int64, format string, args ...any) error {
	return &Error{Name: r.name, Kind: kind, Offset: off, What: fmt.Sprintf(format, args...)}
}

func (r *Reader) readHeader() error {
	var m [len(magic)]byte
	n, err := io.ReadFull(r.r, m[:])
	r.off += int64(n)
	switch {
	case n == 0 && err == io.EOF:
		return &Error{Name: r.name, Kind: ErrEmpty}
	case string(m[:n]) != magic[:n]:
		return r.fail(ErrNotRecording, 0, "no recording magic")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return r.fail(ErrTruncated, 0, "the file ends inside its magic")
	case err != nil:
		return fmt.Errorf("%s: read: %w", r.name, err)
	}
	// Byte order and version come before the checksum: a newer major may
	// frame blocks differently, and must be refused as newer, not as damage.
	// The section's first 16 bytes stay where they are in every version.
	if p, _ := r.r.Peek(16); len(p) == 16 && le.Uint32(p) == blockSection {
		switch bo, major, minor := le.Uint32(p[8:]), le.Uint16(p[12:]), le.Uint16(p[14:]); {
		case bo == 0x4D3C2B1A:
			return r.fail(ErrUnsupported, r.off, "big-endian recording, which this tlmon does not read")
		case bo != byteOrderMagic:
			return r.fail(ErrCorrupt, r.off, "byte-order magic %#x", bo)
		case major > Major:
			return r.fail(ErrUnsupported, r.off, "format version %d.%d, newer than this tlmon reads (%d.x): read it with a newer tlmon", major, minor, Major)
		case major < 1:
			return r.fail(ErrUnsupported, r.off, "format version %d.%d", major, minor)
		}
	}
	start := r.off
	typ, body, err := r.readBlock()
	var e *Error
	switch {
	case err == io.EOF:
		return r.fail(ErrTruncated, start, "no header after the magic")
	case errors.As(err, &e) && e.Kind == ErrTruncated:
		e.What = "the header is incomplete"
		return e
	case err != nil:
		return err
	case typ != blockSection:
		return r.fail(ErrCorrupt, start, "block type %d where the header should be", typ)
	case len(body) < sectionFixed:
		return r.fail(ErrCorrupt, start, "header of %d bytes", len(body))
	}
	r.major, r.minor = int(le.Uint16(body[4:])), int(le.Uint16(body[6:]))
	js, size := body[sectionFixed:], le.Uint32(body[8:])
	if uint64(size) > uint64(len(js)) {
		return r.fail(ErrCorrupt, start, "header of %d bytes in a block of %d", size, len(js))
	}
	if err := json.Unmarshal(js[:size], &r.header); err != nil {
		return r.fail(ErrCorrupt, start, "header: %v", err)
	}
	return nil
}

// readBlock reads one block whole and checks its framing and checksum,
// returning its type and padded body (in r.blk, valid until the next call).
// It returns io.EOF only when the file ends exactly between blocks.
func (r *Reader) readBlock() (uint32, []byte, error) {
	start := r.off
	b := slices.Grow(r.blk[:0], 8)[:8]
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	if n == 0 && err == io.EOF {
		return 0, nil, io.EOF
	}
	if err != nil {
		return 0, nil, r.readError(start, err)
	}
	typ, length := le.Uint32(b), le.Uint32(b[4:])
	if typ == 0 && length == 0 && r.zerosToEnd() {
		// What a machine going down can leave: the file's size grew but
		// its last pages never reached the disk and read as zeros.
		return 0, nil, r.fail(ErrTruncated, start, "zeros from here to the end")
	}
	if length < framing || length%4 != 0 || length > maxBlock {
		return 0, nil, r.fail(ErrCorrupt, start, "block length %d", length)
	}
	// Read in steps rather than allocating the declared length at once, so a
	// damaged length in a small file costs no more than the file.
	for len(b) < int(length) {
		step := min(int(length)-len(b), 1<<20)
		b = slices.Grow(b, step)
		n, err := io.ReadFull(r.r, b[len(b):len(b)+step])
		b = b[:len(b)+n]
		r.off += int64(n)
		if err != nil {
			r.blk = b
			return 0, nil, r.readError(start, err)
		}
	}
	r.blk = b
	if tail := le.Uint32(b[length-4:]); tail != length {
		return 0, nil, r.fail(ErrCorrupt, start, "block length %d at its start, %d at its end", length, tail)
	}
	if crc32.Checksum(b[:length-8], castagnoli) != le.Uint32(b[length-8:]) {
		return 0, nil, r.fail(ErrCorrupt, start, "checksum mismatch")
	}
	return typ, b[8 : length-8], nil
}

// zerosToEnd reads the rest of the file and says whether it is all zeros.
func (r *Reader) zerosToEnd() bool {
	for {
		p, err := r.r.Peek(4096)
		if len(bytes.TrimLeft(p, "\x00")) != 0 {
			return false
		}
		r.r.Discard(len(p))
		r.off += int64(len(p))
		if err != nil {
			return err == io.EOF
		}
	}
}

// readError says what a failed read means: the file ending inside a block
// is a torn tail, anything else is the reader's own error.
func (r *Reader) readError(start int64, err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.fail(ErrTruncated, start, "the last block is incomplete (%d bytes of it)", r.off-start)
	}
	return fmt.Errorf("%s: read at byte %d: %w", r.name, r.off, err)
}

// Header is the recording's header.
func (r *Reader) Header() Header { return r.header }

// Version is the recording's format version.
func (r *Reader) Version() (major, minor int) { return r.major, r.minor }

// Next returns the next frame; io.EOF at the clean end of the recording, an
// *Error (ErrTruncated, ErrCorrupt, ErrUnsupported) at damage, and the same
// again on every call after.
func (r *Reader) Next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	f, err := r.next()
	r.err = err
	return f, err
}

func (r *Reader) next() (Frame, error) {
	for {
		start := r.off
		typ, body, err := r.readBlock()
		if err != nil {
			return Frame{}, err
		}
		switch typ {
		case blockFrame:
			return r.frame(start, body)
		case blockSection:
			return Frame{}, r.fail(ErrUnsupported, start, "a second header (concatenated recordings)")
		}
		// A block type of a newer minor version: whole and checked, skipped.
	}
}

// frame decodes a frame block's body, checked whole already.
func (r *Reader) frame(start int64, body []byte) (Frame, error) {
	if len(body) < frameFixed {
		return Frame{}, r.fail(ErrCorrupt, start, "frame of %d bytes", len(body))
	}
	f := Frame{
		Time:   time.Unix(0, int64(le.Uint64(body))),
		Kind:   le.Uint16(body[8:]),
		Offset: start,
	}
	flags, size, stored := le.Uint16(body[10:]), le.Uint32(body[12:]), le.Uint32(body[16:])
	data := body[frameFixed:]
	switch {
	case flags&^knownFlags != 0:
		return Frame{}, r.fail(ErrUnsupported, start, "frame flags %#x", flags)
	case uint64(stored) > uint64(len(data)):
		return Frame{}, r.fail(ErrCorrupt, start, "frame stores %d bytes in a block of %d", stored, len(data))
	case size > MaxPayload:
		return Frame{}, r.fail(ErrCorrupt, start, "frame of %d bytes, more than %d", size, MaxPayload)
	case flags&flagZstd == 0 && stored != size:
		return Frame{}, r.fail(ErrCorrupt, start, "uncompressed frame of %d bytes stores %d", size, stored)
	}
	data = data[:stored]
	if flags&flagZstd == 0 {
		f.Payload = data
		return f, nil
	}
	if r.dec == nil {
		// One decoder for the whole file, without goroutines, whose output is
		// capped by MaxPayload whatever the zstd frame claims.
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxPayload))
		if err != nil {
			return Frame{}, fmt.Errorf("%s: zstd: %w", r.name, err)
		}
		r.dec = dec
	}
	out, err := r.dec.DecodeAll(data, r.out[:0])
	if err != nil {
		return Frame{}, r.fail(ErrCorrupt, start, "zstd: %v", err)
	}
	r.out = out
	if len(out) != int(size) {
		return Frame{}, r.fail(ErrCorrupt, start, "frame of %d bytes decompresses to %d", size, len(out))
	}
	f.Payload = out
	return f, nil
}

// Close releases the decoder and closes the file Open opened.
func (r *Reader) Close() error {
	if r.dec != nil {
		r.dec.Close()
		r.dec = nil
	}
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}
