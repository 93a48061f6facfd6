package recording

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds: a small whole recording, one cut short, one of a newer minor
// version with an unknown block, one of a newer major, an empty one.
func fuzzSeeds(f *testing.F) [][]byte {
	h := Header{Host: "h", Kernel: "6.1", Arch: "arm64", Rung: 3, Scope: "pids 1,2", Start: time.Unix(1, 2),
		Interval: time.Second, Syscalls: []Syscall{{Nr: 63, Name: "read", Classes: []string{"file"}}}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		f.Fatal(err)
	}
	w.WriteFrame(1, time.Unix(2, 0), bytes.Repeat([]byte("pid 7 read 3 "), 20))
	w.WriteFrame(2, time.Unix(3, 0), []byte("\x00\xff\x10"))
	w.WriteFrame(3, time.Unix(4, 0), nil)
	whole := buf.Bytes()
	newer := appendBlock(section(Major, Minor+1, `{"host":"n","new":1}`), 9, []byte("skip me"))
	newer = append(newer, whole[headerEnd(f, whole):]...)
	return [][]byte{whole, whole[:len(whole)-5], newer, section(Major+1, 0, "{}"), []byte(magic), nil}
}

// FuzzReader: any bytes are read as a recording, frames and then io.EOF, or
// refused with one line saying what and where; never a panic, never a frame
// larger than MaxPayload.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRead(t, data)
	})
}

// FuzzBlocks: as FuzzReader, but every block's checksum and trailing
// length are made right first, so the fuzzer reaches the header's JSON and
// the frame decoder (lengths, flags, zstd) behind the checksum, as a hostile
// file would. A file read to its end is written again and reads the same.
func FuzzBlocks(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = fixBlocks(data)
		frames, h, ok := checkRead(t, data)
		if !ok {
			return
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, fr := range frames {
			if err := w.WriteFrame(fr.kind, fr.t, fr.payload); err != nil {
				t.Fatal(err)
			}
		}
		_, again, err := readAll(buf.Bytes())
		if err != io.EOF || len(again) != len(frames) {
			t.Fatalf("written again: %d frames of %d, %v", len(again), len(frames), err)
		}
		for i := range frames {
			if again[i].kind != frames[i].kind || !again[i].t.Equal(frames[i].t) || !bytes.Equal(again[i].payload, frames[i].payload) {
				t.Fatalf("written again: frame %d differs", i)
			}
		}
	})
}

// checkRead reads data to its end and checks what a reader must do with
// any input; ok says it read to a clean end.
func checkRead(t *testing.T, data []byte) (frames []testFrame, h Header, ok bool) {
	h, frames, err := readAll(data)
	var e *Error
	switch {
	case err == io.EOF:
		ok = true
	case !errors.As(err, &e):
		t.Fatalf("%v (%T) is not an *Error", err, err)
	case strings.ContainsAny(err.Error(), "\n\r"):
		t.Fatalf("more than one line: %q", err)
	case e.Offset < 0 || e.Offset > int64(len(data)):
		t.Fatalf("%v: offset outside the file of %d bytes", err, len(data))
	}
	for _, fr := range frames {
		if len(fr.payload) > MaxPayload {
			t.Fatalf("a frame of %d bytes", len(fr.payload))
		}
	}
	return frames, h, ok
}

// fixBlocks makes the checksum and trailing length of every block that
// fits in data right, in place.
func fixBlocks(data []byte) []byte {
	if !bytes.HasPrefix(data, []byte(magic)) {
		return data
	}
	for off := len(magic); off+8 <= len(data); {
		length := int(le.Uint32(data[off+4:]))
		if length < framing || length%4 != 0 || length > len(data)-off {
			break
		}
		le.PutUint32(data[off+length-8:], crc32.Checksum(data[off:off+length-8], castagnoli))
		le.PutUint32(data[off+length-4:], uint32(length))
		off += length
	}
	return data
}
