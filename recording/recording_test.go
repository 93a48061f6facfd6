package recording

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func testHeader() Header {
	return Header{
		Tlmon: "v0.9.0", Host: "build-7", Kernel: "6.12.0-1-amd64", Arch: "amd64",
		Rung: 1, Buffer: "ringbuf", Hook: "raw_tp", Scope: "all",
		Start:    time.Date(2026, 12, 6, 11, 30, 0, 123456789, time.UTC),
		Boot:     time.Date(2026, 12, 1, 8, 0, 0, 5, time.UTC),
		Interval: time.Second,
		Syscalls: []Syscall{
			{Nr: 0, Name: "read", Classes: []string{"file", "io"}},
			{Nr: 1, Name: "write", Classes: []string{"file", "io"}},
			{Nr: 39, Name: "getpid"},
			{Nr: 59, Name: "execve", Classes: []string{"process"}},
		},
	}
}

type testFrame struct {
	kind    uint16
	t       time.Time
	payload []byte
}

// testFrames: compressible, empty, incompressible, and a large one.
func testFrames(t testing.TB) []testFrame {
	t.Helper()
	random := make([]byte, 3000)
	rand.Read(random)
	start := testHeader().Start
	return []testFrame{
		{1, start, bytes.Repeat([]byte("pid 1234 comm bash read 17 write 4\n"), 40)},
		{2, start.Add(time.Second), nil},
		{3, start.Add(2 * time.Second), random},
		{1, start.Add(3 * time.Second), []byte("x")},
		{65535, start.Add(4 * time.Second), realisticPayload(5000)},
	}
}

// record writes frames to a recording in memory.
func record(t testing.TB, frames []testFrame) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WriteFrame(f.kind, f.t, f.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(buf.Len()) {
		t.Fatalf("Size %d, wrote %d", w.Size(), buf.Len())
	}
	return buf.Bytes()
}

// readAll reads every frame of a recording, copying payloads, until an error.
func readAll(data []byte) (Header, []testFrame, error) {
	r, err := NewReader(bytes.NewReader(data), "test.rec")
	if err != nil {
		return Header{}, nil, err
	}
	defer r.Close()
	var got []testFrame
	for {
		f, err := r.Next()
		if err != nil {
			return r.Header(), got, err
		}
		got = append(got, testFrame{f.Kind, f.Time, bytes.Clone(f.Payload)})
	}
}

func sameFrames(t *testing.T, got, want []testFrame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].kind != want[i].kind || !got[i].t.Equal(want[i].t) || !bytes.Equal(got[i].payload, want[i].payload) {
			t.Fatalf("frame %d: kind %d at %v, %d bytes; want kind %d at %v, %d bytes", i,
				got[i].kind, got[i].t, len(got[i].payload), want[i].kind, want[i].t, len(want[i].payload))
		}
	}
}

func sameHeader(t *testing.T, got, want Header) {
	t.Helper()
	if !got.Start.Equal(want.Start) || !got.Boot.Equal(want.Boot) {
		t.Fatalf("start %v boot %v, want %v %v", got.Start, got.Boot, want.Start, want.Boot)
	}
	got.Start, got.Boot, want.Start, want.Boot = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("header\n%+v\nwant\n%+v", got, want)
	}
}

func TestFramesComeBackAsWritten(t *testing.T) {
	frames := testFrames(t)
	h, got, err := readAll(record(t, frames))
	if err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
	sameHeader(t, h, testHeader())
	sameFrames(t, got, frames)
}

func TestCreateWritesAFileThatOpenReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.rec")
	w, err := Create(path, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	frames := testFrames(t)
	for _, f := range frames {
		if err := w.WriteFrame(f.kind, f.t, f.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(1, time.Now(), nil); err == nil {
		t.Fatal("WriteFrame after Close: no error")
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if major, minor := r.Version(); major != Major || minor != Minor {
		t.Fatalf("version %d.%d", major, minor)
	}
	sameHeader(t, r.Header(), testHeader())
	for i, want := range frames {
		f, err := r.Next()
		if err != nil || f.Kind != want.kind || !bytes.Equal(f.Payload, want.payload) {
			t.Fatalf("frame %d: kind %d, %d bytes, %v", i, f.Kind, len(f.Payload), err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("%d files in the directory, want the recording alone", len(entries))
	}
}

// A frame is ready to read as soon as WriteFrame returns: nothing waits in a
// buffer for a Close that a SIGKILL would prevent.
func TestAFrameIsInTheFileWhenWriteFrameReturns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.rec")
	w, err := Create(path, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteFrame(7, time.Now(), []byte("first interval")); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if f, err := r.Next(); err != nil || string(f.Payload) != "first interval" {
		t.Fatalf("%q, %v", f.Payload, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestCreateIsPrivateAndFollowsNoLink(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for _, plant := range []string{"nothing", "a regular file", "a symlink", "a dangling symlink", "a hard link"} {
		t.Run(plant, func(t *testing.T) {
			dir := t.TempDir()
			path, victim := filepath.Join(dir, "a.rec"), filepath.Join(dir, "victim")
			if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			switch plant {
			case "a regular file":
				os.WriteFile(path, []byte("old recording"), 0o644)
			case "a symlink":
				os.Symlink(victim, path)
			case "a dangling symlink":
				os.Symlink(filepath.Join(dir, "nowhere"), path)
			case "a hard link":
				os.Link(victim, path)
			}
			w, err := Create(path, testHeader())
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFrame(1, time.Now(), []byte("calls")); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Fatalf("the link's target was written: %q", b)
			}
			if _, err := os.Stat(filepath.Join(dir, "nowhere")); !os.IsNotExist(err) {
				t.Fatalf("the dangling link's target was created: %v", err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s is %v, want a regular file 0600", path, fi.Mode())
			}
			if _, _, err := readAllFile(path); err != io.EOF {
				t.Fatal(err)
			}
		})
	}
}

// A device or a fifo at the path is refused and left alone: replacing it
// would take /dev/null away from the machine.
func TestCreateRefusesADeviceOrAFifo(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/null", fifo} {
		before, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if w, err := Create(path, testHeader()); err == nil || !strings.Contains(err.Error(), "give a regular file's path") {
			if w != nil {
				w.Close()
			}
			t.Fatalf("%s: %v", path, err)
		}
		if after, err := os.Lstat(path); err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
			t.Fatalf("%s was replaced: %v, %v", path, after.Mode(), err)
		}
	}
}

func TestCreateFailsCleanlyOnADirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.rec")
	os.Mkdir(path, 0o755)
	if _, err := Create(path, testHeader()); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Create over a directory: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d entries left, want the directory alone", len(entries))
	}
}

func readAllFile(path string) (Header, []testFrame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Header{}, nil, err
	}
	return readAll(b)
}

// Cut anywhere, a recording gives back every frame that ends before the cut
// and then says it was truncated, and where: what a tlmon killed in the
// middle of a write leaves behind.
func TestATruncatedRecordingGivesEveryWholeFrame(t *testing.T) {
	frames := testFrames(t)
	data := record(t, frames)
	var ends []int64 // where each block ends; ends[0] is the header's
	{
		r, err := NewReader(bytes.NewReader(data), "")
		if err != nil {
			t.Fatal(err)
		}
		for {
			f, err := r.Next()
			if err != nil {
				break
			}
			ends = append(ends, f.Offset)
		}
		ends = append(ends, int64(len(data)))
	}
	for cut := 0; cut < len(data); cut++ {
		_, got, err := readAll(data[:cut])
		var e *Error
		switch {
		case err == io.EOF && int64(cut) < ends[0]:
			t.Fatalf("cut at %d, in the header: io.EOF", cut)
		case err == io.EOF:
		case cut == 0:
			if !errors.Is(err, ErrEmpty) {
				t.Fatalf("cut at 0: %v", err)
			}
			continue
		case !errors.As(err, &e):
			t.Fatalf("cut at %d: %v, want an *Error", cut, err)
		case int64(cut) < ends[0]:
			if !errors.Is(err, ErrTruncated) || len(got) != 0 {
				t.Fatalf("cut at %d, in the header: %v", cut, err)
			}
			continue
		}
		whole := 0
		for whole+1 < len(ends) && ends[whole+1] <= int64(cut) {
			whole++
		}
		if int64(cut) == ends[whole] {
			if err != io.EOF {
				t.Fatalf("cut at %d, between blocks: %v, want io.EOF", cut, err)
			}
		} else if !errors.Is(err, ErrTruncated) || e.Offset != ends[whole] {
			t.Fatalf("cut at %d: %v, want truncated at byte %d", cut, err, ends[whole])
		}
		sameFrames(t, got, frames[:whole])
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("two lines: %q", err)
		}
	}
}

// A machine that went down can leave a file whose tail reads as zeros: that
// is a truncated recording, not a damaged one; zeros followed by anything
// else are damage.
func TestATailOfZerosIsTruncation(t *testing.T) {
	frames := testFrames(t)[:2]
	data := record(t, frames)
	zeros := append(bytes.Clone(data), make([]byte, 10000)...)
	_, got, err := readAll(zeros)
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrTruncated || e.Offset != int64(len(data)) {
		t.Fatalf("%v, want truncated at byte %d", err, len(data))
	}
	sameFrames(t, got, frames)
	zeros[len(zeros)-1] = 1
	if _, _, err := readAll(zeros); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%v, want corrupt", err)
	}
}

// Any single flipped bit is found: the frames read before it are the ones
// written, and reading stops with an error rather than a wrong frame.
func TestEveryFlippedBitIsFound(t *testing.T) {
	frames := testFrames(t)[:4]
	data := record(t, frames)
	for bit := 0; bit < len(data)*8; bit++ {
		bad := bytes.Clone(data)
		bad[bit/8] ^= 1 << (bit % 8)
		_, got, err := readAll(bad)
		if err == io.EOF || err == nil {
			t.Fatalf("bit %d of byte %d flipped: read to the end unnoticed", bit%8, bit/8)
		}
		sameFrames(t, got, frames[:len(got)])
	}
}

func TestCorruptionSaysWhatAndWhere(t *testing.T) {
	data := record(t, testFrames(t))
	r, _ := NewReader(bytes.NewReader(data), "")
	r.Next()
	f, _ := r.Next() // the second frame
	bad := bytes.Clone(data)
	bad[f.Offset+30] ^= 0x10
	_, got, err := readAll(bad)
	want := fmt.Sprintf("test.rec: corrupt block at byte %d: checksum mismatch", f.Offset)
	if len(got) != 1 || err == nil || err.Error() != want || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%d frames, %v; want 1, %s", len(got), err, want)
	}
	r = mustReader(t, bad)
	r.Next()
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("after damage: %v then %v, want the same error again", err1, err2)
	}
}

func mustReader(t *testing.T, data []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "test.rec")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// section builds a header block of any version, as a newer tlmon would.
func section(major, minor uint16, js string) []byte {
	body := le.AppendUint32(nil, byteOrderMagic)
	body = le.AppendUint16(body, major)
	body = le.AppendUint16(body, minor)
	body = le.AppendUint32(body, uint32(len(js)))
	body = append(body, js...)
	return appendBlock([]byte(magic), blockSection, body)
}

// A newer minor version's recording opens: header fields it added are
// ignored, block types it added are skipped, its frames read.
func TestANewerMinorVersionOpens(t *testing.T) {
	frames := testFrames(t)[:2]
	old := record(t, frames)
	// The newer file: a header with a field this tlmon does not know, an
	// unknown block before the first frame and another between the two.
	js := `{"host":"newer","future_field":{"a":[1,2]},"rung":2}`
	var newer []byte
	newer = append(newer, section(Major, Minor+3, js)...)
	newer = appendBlock(newer, 77, []byte("an index, say"))
	first := old[headerEnd(t, old):]
	frameLen := le.Uint32(first[4:])
	newer = append(newer, first[:frameLen]...)
	newer = appendBlock(newer, 1<<31, make([]byte, 5))
	newer = append(newer, first[frameLen:]...)

	r := mustReader(t, newer)
	if major, minor := r.Version(); major != Major || minor != Minor+3 {
		t.Fatalf("version %d.%d", major, minor)
	}
	if h := r.Header(); h.Host != "newer" || h.Rung != 2 {
		t.Fatalf("header %+v", h)
	}
	_, got, err := readAll(newer)
	if err != io.EOF {
		t.Fatal(err)
	}
	sameFrames(t, got, frames)
}

// headerEnd is where the first block after the header starts.
func headerEnd(t testing.TB, data []byte) int {
	t.Helper()
	return len(magic) + int(le.Uint32(data[len(magic)+4:]))
}

func TestBadFilesSayWhatTheyAre(t *testing.T) {
	good := record(t, testFrames(t)[:1])
	random := make([]byte, 4096)
	rand.Read(random)
	random[0] = 'x'
	bigEndian := section(Major, Minor, "{}")
	binary.BigEndian.PutUint32(bigEndian[16:], byteOrderMagic)
	for _, c := range []struct {
		name string
		data []byte
		kind error
		msg  string
	}{
		{"an empty file", nil, ErrEmpty, "test.rec: empty file, not a recording"},
		{"random bytes", random, ErrNotRecording, "test.rec: not a tlmon recording at byte 0: no recording magic"},
		{"text", []byte("#!/bin/sh\necho hello\n"), ErrNotRecording, "test.rec: not a tlmon recording at byte 0: no recording magic"},
		{"a magic mangled by CRLF conversion", append([]byte("\x89TLM\r\r\n"), good[7:]...), ErrNotRecording, "test.rec: not a tlmon recording at byte 0: no recording magic"},
		{"a magic alone", []byte(magic), ErrTruncated, "test.rec: truncated at byte 8: no header after the magic"},
		{"a header cut short", section(Major, Minor, `{"host":"h"}`)[:30], ErrTruncated, "test.rec: truncated at byte 8: the header is incomplete"},
		{"a newer major version", section(Major+1, 0, "{}"), ErrUnsupported,
			"test.rec: unsupported recording at byte 8: format version 2.0, newer than this tlmon reads (1.x): read it with a newer tlmon"},
		{"a newer major version with other framing", section(Major+1, 0, "{}")[:24], ErrUnsupported,
			"test.rec: unsupported recording at byte 8: format version 2.0, newer than this tlmon reads (1.x): read it with a newer tlmon"},
		{"a big-endian recording", bigEndian, ErrUnsupported, "test.rec: unsupported recording at byte 8: big-endian recording, which this tlmon does not read"},
		{"a header that is not JSON", section(Major, Minor, "{host"), ErrCorrupt,
			"test.rec: corrupt block at byte 8: header: invalid character 'h' looking for beginning of object key string"},
		{"a frame where the header should be", append([]byte(magic), good[headerEnd(t, good):]...), ErrCorrupt,
			"test.rec: corrupt block at byte 8: block type 2 where the header should be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(c.data)
			if !errors.Is(err, c.kind) || err.Error() != c.msg {
				t.Fatalf("%v\nwant %s", err, c.msg)
			}
		})
	}
}

func TestOpenNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.rec")
	os.WriteFile(path, nil, 0o600)
	if _, err := Open(path); err == nil || err.Error() != path+": empty file, not a recording" {
		t.Fatal(err)
	}
	if _, err := Open(path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// A frame body whose fields disagree with each other is refused even with a
// right checksum, as a hostile file would have.
func TestHostileFramesAreRefused(t *testing.T) {
	for _, c := range []struct {
		name                 string
		flags                uint16
		size, stored, length uint32
		want                 string
	}{
		{"a payload over the cap", flagZstd, MaxPayload + 1, 4, 4, "frame of 268435457 bytes, more than 268435456"},
		{"more stored than the block holds", 0, 8, 9, 8, "frame stores 9 bytes in a block of 8"},
		{"unknown flags", 0x8001, 4, 4, 4, "frame flags 0x8001"},
		{"an uncompressed frame of two lengths", 0, 5, 4, 4, "uncompressed frame of 5 bytes stores 4"},
		{"bytes that are not zstd", flagZstd, 4, 4, 4, "zstd: "},
		{"a short frame", 0, 0, 0, 0, "frame of 8 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := le.AppendUint64(nil, 1)
			if c.name != "a short frame" {
				body = le.AppendUint16(body, 1)
				body = le.AppendUint16(body, c.flags)
				body = le.AppendUint32(body, c.size)
				body = le.AppendUint32(body, c.stored)
				body = append(body, make([]byte, c.length)...)
			}
			data := appendBlock(section(Major, Minor, "{}"), blockFrame, body)
			_, _, err := readAll(data)
			if err == nil || !strings.Contains(err.Error(), "at byte 40: "+c.want) {
				t.Fatalf("%v, want %q", err, c.want)
			}
		})
	}
}

// A zstd frame that inflates past what its frame declares is stopped, and
// reported.
func TestAPayloadLongerThanDeclaredIsCorrupt(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{})
	w.WriteFrame(1, time.Unix(1, 0), bytes.Repeat([]byte("a"), 1000))
	data := buf.Bytes()
	off := headerEnd(t, data)
	le.PutUint32(data[off+8+12:], 999)
	length := le.Uint32(data[off+4:])
	le.PutUint32(data[off+int(length)-8:], crc32.Checksum(data[off:off+int(length)-8], castagnoli))
	_, _, err := readAll(data)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "frame of 999 bytes decompresses to 1000") {
		t.Fatal(err)
	}
}

func TestWriteFrameRefusesWhatNoReaderTakes(t *testing.T) {
	w, _ := NewWriter(io.Discard, Header{})
	if err := w.WriteFrame(1, time.Now(), make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("no error")
	}
	if err := w.WriteFrame(1, time.Now(), []byte("still fine")); err != nil {
		t.Fatal(err)
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(b []byte) (int, error) {
	if f.after <= 0 {
		return 3, errors.New("disk full")
	}
	f.after--
	return len(b), nil
}

func TestAFailedWriteSticks(t *testing.T) {
	w, err := NewWriter(&failingWriter{after: 2}, Header{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(1, time.Now(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	err1 := w.WriteFrame(1, time.Now(), []byte("b"))
	err2 := w.WriteFrame(1, time.Now(), []byte("c"))
	if err1 == nil || err2 != err1 || !strings.Contains(err1.Error(), "disk full") {
		t.Fatalf("%v then %v", err1, err2)
	}
}

// Frames written from several goroutines at once each arrive whole.
func TestConcurrentFramesArriveWhole(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				p := bytes.Repeat([]byte{byte(g)}, 100+i)
				if err := w.WriteFrame(uint16(g), time.Unix(int64(i), 0), p); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	_, got, err := readAll(buf.Bytes())
	if err != io.EOF || len(got) != 200 {
		t.Fatalf("%d frames, %v", len(got), err)
	}
	for _, f := range got {
		if len(f.payload) != 100+int(f.t.Unix()) || bytes.Count(f.payload, []byte{byte(f.kind)}) != len(f.payload) {
			t.Fatalf("frame of kind %d mixed up", f.kind)
		}
	}
}

func TestALargePayload(t *testing.T) {
	big := realisticPayload(8 << 20)
	random := make([]byte, 2<<20)
	rand.Read(random)
	frames := []testFrame{{1, time.Unix(5, 0), big}, {2, time.Unix(6, 0), random}}
	data := record(t, frames)
	_, got, err := readAll(data)
	if err != io.EOF {
		t.Fatal(err)
	}
	sameFrames(t, got, frames)
	t.Logf("8 MiB realistic and 2 MiB random: %d bytes of frames", len(data)-headerEnd(t, data))
}

// TestOverhead reports what a frame costs beyond its payload: framing and
// fields (36 bytes and up to 3 of padding) and zstd's own frame header.
func TestOverhead(t *testing.T) {
	empty := record(t, nil)
	one := record(t, []testFrame{{1, time.Unix(0, 0), []byte("x")}})
	if d := len(one) - len(empty); d != framing+frameFixed+4 {
		t.Fatalf("a 1-byte frame costs %d bytes, want %d", d, framing+frameFixed+4)
	}
	p := realisticPayload(200 << 10)
	var buf bytes.Buffer
	enc, _ := NewWriter(&buf, Header{})
	before := buf.Len()
	enc.WriteFrame(1, time.Unix(0, 0), p)
	t.Logf("header of the test table: %d bytes; a 200 KB frame: %d bytes (ratio %.1f)",
		len(empty), buf.Len()-before, float64(len(p))/float64(buf.Len()-before))
}

// realisticPayload is n bytes shaped like a plainly encoded snapshot delta
// of busy processes: for each, its PID and name, then for each syscall it
// made in the interval the number, calls, errors and nanoseconds in fixed
// widths; calls are mostly few and sometimes many, errors mostly none.
func realisticPayload(n int) []byte {
	comms := []string{"bash", "postgres", "nginx", "kworker/3:1", "systemd-journal", "chrome", "go", "sshd"}
	b := make([]byte, 0, n+1024)
	seed := uint32(2463534242)
	next := func(n uint32) uint32 { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed % n }
	for pid := uint32(1000); len(b) < n; pid += 1 + next(40) {
		b = le.AppendUint32(b, pid)
		var comm [16]byte
		copy(comm[:], comms[next(uint32(len(comms)))])
		b = append(b, comm[:]...)
		nr := uint16(0)
		for range 5 + next(35) {
			nr += 1 + uint16(next(12))
			calls := 1 + next(20)
			if next(8) == 0 {
				calls *= 1 + next(5000)
			}
			errs := uint32(0)
			if next(6) == 0 {
				errs = next(calls + 1)
			}
			b = le.AppendUint16(b, nr)
			b = le.AppendUint32(b, calls)
			b = le.AppendUint32(b, errs)
			b = le.AppendUint64(b, uint64(calls)*uint64(200+next(3000)))
		}
	}
	return b[:n]
}

// BenchmarkWriteFrame: one interval of 500 busy processes (~200 KB) a frame.
// b.SetBytes counts the payload; the stored size is reported as stored/op.
func BenchmarkWriteFrame(b *testing.B) {
	p := realisticPayload(200 << 10)
	var cw countingWriter
	w, err := NewWriter(&cw, Header{})
	if err != nil {
		b.Fatal(err)
	}
	start := cw.n
	t := time.Now()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteFrame(1, t, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cw.n-start)/float64(b.N), "stored/op")
	b.ReportMetric(float64(cw.n-start)/float64(b.N)*3600/1e6, "MB/hour@1Hz")
}

func BenchmarkNext(b *testing.B) {
	p := realisticPayload(200 << 10)
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Header{})
	for range 100 {
		w.WriteFrame(1, time.Now(), p)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	r := mustReaderB(b, data)
	for b.Loop() {
		if _, err := r.Next(); err == io.EOF {
			r = mustReaderB(b, data)
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

func mustReaderB(b *testing.B, data []byte) *Reader {
	r, err := NewReader(bytes.NewReader(data), "")
	if err != nil {
		b.Fatal(err)
	}
	return r
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }
