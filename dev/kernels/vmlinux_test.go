package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBzImage lays out what the kernel build does: setup sectors with the
// boot protocol header, then the compressed kernel with its size appended,
// at payload_offset from the start of the protected-mode code.
func fakeBzImage(t *testing.T, vmlinux []byte, version uint16) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(vmlinux)
	zw.Close()
	payload := binary.LittleEndian.AppendUint32(z.Bytes(), uint32(len(vmlinux)))

	const setupSects, payloadOffset = 3, 100
	img := make([]byte, (setupSects+1)*512+payloadOffset)
	img[0x1f1] = setupSects
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], version)
	binary.LittleEndian.PutUint32(img[0x248:], payloadOffset)
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	// Decoys: another format's magic before the payload, as real images
	// have in their decompressor code, must not be taken for it.
	copy(img[(setupSects+1)*512:], []byte{0xfd, '7', 'z', 'X', 'Z', 0x00})
	img = append(img, payload...)
	return append(img, make([]byte, 300)...) // the build pads the image
}

func fakeELF() []byte {
	return append([]byte(elf.ELFMAG+"\x02\x01\x01"), bytes.Repeat([]byte("kernel text "), 1000)...)
}

func TestBzPayloadIsFoundByTheHeaderAndItsFormatByMagic(t *testing.T) {
	vmlinux := fakeELF()
	stream, size, c, err := bzPayload(fakeBzImage(t, vmlinux, 0x20f))
	if err != nil {
		t.Fatal(err)
	}
	if c.name != "gzip" || size != uint32(len(vmlinux)) {
		t.Errorf("got %s with size %d, want gzip with %d", c.name, size, len(vmlinux))
	}
	zr, err := gzip.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		t.Fatalf("the stream does not end cleanly where the header says: %v", err)
	}
	if !bytes.Equal(out.Bytes(), vmlinux) {
		t.Error("the stream does not decompress to the vmlinux")
	}
}

func TestBzPayloadRefusesWhatIsNoBzImage(t *testing.T) {
	for name, img := range map[string][]byte{
		"too short":         make([]byte, 100),
		"no HdrS":           make([]byte, 4096),
		"old boot protocol": fakeBzImage(t, fakeELF(), 0x207),
		"payload past the end": func() []byte {
			img := fakeBzImage(t, fakeELF(), 0x20f)
			binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(img)))
			return img
		}(),
	} {
		if _, _, _, err := bzPayload(img); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestExtractVmlinuxDecompressesAndChecksTheSize(t *testing.T) {
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Skip("no gzip")
	}
	dir := t.TempDir()
	vmlinux := fakeELF()
	src, dst := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "vmlinux")
	os.WriteFile(src, fakeBzImage(t, vmlinux, 0x20f), 0o644)
	format, err := extractVmlinux(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if format != "gzip" || !bytes.Equal(got, vmlinux) {
		t.Errorf("format %s, %d bytes; want gzip, the %d-byte vmlinux", format, len(got), len(vmlinux))
	}

	// A size that does not match what comes out is an error, and leaves no
	// file behind.
	img := fakeBzImage(t, vmlinux, 0x20f)
	end := len(img) - 300
	binary.LittleEndian.PutUint32(img[end-4:], uint32(len(vmlinux)+1))
	os.WriteFile(src, img, 0o644)
	os.Remove(dst)
	if _, err := extractVmlinux(context.Background(), src, dst); err == nil || !strings.Contains(err.Error(), "announces") {
		t.Errorf("a wrong size gave %v", err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("a failed extraction left a vmlinux")
	}
}

// The host's own xz, zstd and lz4 decompress what their kernel builds
// write, cut where bzPayload cuts: checked with real kernel-style streams
// where the tools are installed.
func TestCompressorsDecompressWhatTheKernelBuildWrites(t *testing.T) {
	data := fakeELF()
	for _, tc := range []struct{ name, compress string }{
		{"xz", "xz --check=crc32 -c"},
		{"zstd", "zstd -19 -c -q"},
		{"lz4", "lz4 -l -9 -c -q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := strings.Fields(tc.compress)
			if _, err := exec.LookPath(args[0]); err != nil {
				t.Skipf("no %s", args[0])
			}
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Stdin = bytes.NewReader(data)
			z, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			var c compressor
			for _, cand := range compressors {
				if bytes.HasPrefix(z, cand.magic) {
					c = cand
					break
				}
			}
			if c.name != tc.name {
				t.Fatalf("the stream (% x) was taken for %q", z[:6], c.name)
			}
			dec := exec.Command(c.cmd[0], c.cmd[1:]...)
			dec.Stdin = bytes.NewReader(z)
			out, err := dec.Output()
			if err != nil || !bytes.Equal(out, data) {
				t.Errorf("%s gave %d bytes, %v", strings.Join(c.cmd, " "), len(out), err)
			}
		})
	}
}

func TestHasPVHNoteReadsTheXenNote(t *testing.T) {
	// The test binary itself is an ELF without the note.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := hasPVHNote(exe); err != nil || ok {
		t.Errorf("the test binary: %v, %v; want no note", ok, err)
	}
	// A kernel's vmlinux, if one was extracted on this machine.
	cache, err := os.UserCacheDir()
	if err != nil {
		return
	}
	m, _ := filepath.Glob(filepath.Join(cache, "tlmon", "kernels", "boot", "*", "vmlinux"))
	if len(m) == 0 {
		t.Log("no cached vmlinux to check the note on")
		return
	}
	if ok, err := hasPVHNote(m[0]); err != nil || !ok {
		t.Errorf("%s: %v, %v; want the PVH note", m[0], ok, err)
	}
}
