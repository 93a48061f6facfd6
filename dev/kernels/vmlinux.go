package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Under TCG an uncompressed vmlinux boots in about half the time of the
// bzImage it came from: the bzImage spends seconds of emulated CPU
// decompressing itself on every boot, while the vmlinux is decompressed once,
// here, and cached. qemu loads an ELF vmlinux through its PVH entry note.

// compressor is one of the formats the kernel build can compress vmlinux
// with, known by the magic bytes its stream starts with, and the host tool
// that decompresses it to stdout.
type compressor struct {
	name  string
	magic []byte
	cmd   []string
}

var compressors = []compressor{
	{"gzip", []byte{0x1f, 0x8b, 0x08}, []string{"gzip", "-dc"}},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, []string{"xz", "-dc"}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}, []string{"zstd", "-dc"}},
	{"lz4", []byte{0x02, 0x21, 0x4c, 0x18}, []string{"lz4", "-dc"}}, // the legacy frame
	{"bzip2", []byte("BZh"), []string{"bzip2", "-dc"}},
	{"lzma", []byte{0x5d, 0x00, 0x00}, []string{"xz", "--format=lzma", "-dc"}},
}

// bzPayload finds the compressed kernel inside a bzImage and returns the
// compressed stream, the size vmlinux must have, and the compressor.
//
// extract-vmlinux scans the whole file for each format's magic bytes and
// tries every hit. The boot protocol's header (2.08 and later) says exactly
// where the payload is, so we read it from there and only recognise its
// format by the magic. The build appends vmlinux's size, 4 bytes
// little-endian, to the stream: with it cut off the decompressor ends cleanly
// and its exit status means something, and the size checks the result.
func bzPayload(img []byte) (stream []byte, size uint32, c compressor, err error) {
	const (
		setupSectsOff = 0x1f1
		magicOff      = 0x202
		versionOff    = 0x206
		payloadOff    = 0x248 // payload_offset, then payload_length
	)
	if len(img) < 0x250 || string(img[magicOff:magicOff+4]) != "HdrS" {
		return nil, 0, c, errors.New("not a bzImage: no HdrS header")
	}
	if v := binary.LittleEndian.Uint16(img[versionOff:]); v < 0x208 {
		return nil, 0, c, fmt.Errorf("boot protocol %#x has no payload fields (2.08 and later do)", v)
	}
	setupSects := int(img[setupSectsOff])
	if setupSects == 0 {
		setupSects = 4 // what the boot protocol says a zero means
	}
	start := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(img[payloadOff:]))
	n := int(binary.LittleEndian.Uint32(img[payloadOff+4:]))
	if n < 8 || start+n > len(img) {
		return nil, 0, c, fmt.Errorf("payload at %d+%d lies outside the %d-byte image", start, n, len(img))
	}
	payload := img[start : start+n]
	for _, cand := range compressors {
		if bytes.HasPrefix(payload, cand.magic) {
			return payload[:n-4], binary.LittleEndian.Uint32(payload[n-4:]), cand, nil
		}
	}
	return nil, 0, c, fmt.Errorf("unknown compression of the payload (starts % x)", payload[:8])
}

// extractVmlinux decompresses the kernel inside the bzImage at src into dst,
// and checks that the result is an ELF of the size the image says.
func extractVmlinux(ctx context.Context, src, dst string) (format string, err error) {
	img, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	stream, size, c, err := bzPayload(img)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	cmd := exec.CommandContext(ctx, c.cmd[0], c.cmd[1:]...)
	cmd.Stdin = bytes.NewReader(stream)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return c.name, fmt.Errorf("%s: %s: %w: %s", src, strings.Join(c.cmd, " "), err, strings.TrimSpace(stderr.String()))
	}
	if uint32(len(out)) != size || !bytes.HasPrefix(out, []byte(elf.ELFMAG)) {
		return c.name, fmt.Errorf("%s: %s gave %d bytes, not the %d-byte ELF the image announces", src, c.name, len(out), size)
	}
	return c.name, writeFileFrom(dst, bytes.NewReader(out), 0o644)
}

// hasPVHNote says whether qemu can boot the vmlinux directly: it needs the
// Xen PVH entry point note (XEN_ELFNOTE_PHYS32_ENTRY), which CONFIG_PVH adds.
func hasPVHNote(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	const xenElfnotePhys32Entry = 18
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return false, err
		}
		// Notes: namesz, descsz, type, then name and desc padded to 4.
		for len(b) >= 12 {
			namesz := int(binary.LittleEndian.Uint32(b))
			descsz := int(binary.LittleEndian.Uint32(b[4:]))
			typ := binary.LittleEndian.Uint32(b[8:])
			name := b[12:min(len(b), 12+namesz)]
			if typ == xenElfnotePhys32Entry && string(bytes.TrimRight(name, "\x00")) == "Xen" {
				return true, nil
			}
			next := 12 + align4(namesz) + align4(descsz)
			if next > len(b) {
				break
			}
			b = b[next:]
		}
	}
	return false, nil
}

func align4(n int) int { return (n + 3) &^ 3 }
