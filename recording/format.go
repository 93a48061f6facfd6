// Package recording is the container of a tlmon recording file: a versioned,
// self-describing header and then typed, checksummed blocks, each frame's
// payload compressed with zstd. It carries opaque payloads (the caller gives
// each frame a kind and encodes what is in it) and knows nothing of snapshots
// or events, so it imports none of tlmon's packages.
//
// The layout follows pcapng, for pcapng's reasons: every block says its type
// and length at its start and its length again at its end, so a reader can
// skip a block it does not know (a newer tlmon's recording still opens in an
// older one) and can tell a whole block from a torn one (a tlmon killed with
// SIGKILL leaves whole blocks and at most one torn one, the last interval).
//
//	file    = magic section block*
//	magic   = 89 'T' 'L' 'M' '\r' '\n' 1A '\n'   (PNG's trick: 8-bit, CRLF and ^Z damage show)
//	block   = type u32 | length u32 | body, zero-padded to 4 bytes | crc u32 | length u32
//	          length counts the whole block (16 bytes of framing and the padded
//	          body); crc is CRC-32C of everything before it, the type and length
//	          included, so a flipped bit anywhere (even one making a frame look
//	          like an unknown block) is found
//	section = type 1: byte-order magic 0x1A2B3C4D u32 | major u16 | minor u16 |
//	          JSON length u32 | the Header as JSON
//	frame   = type 2: time ns since the epoch i64 | kind u16 | flags u16 |
//	          payload length u32 | stored length u32 | stored bytes
//	          (flags bit 0: the stored bytes are one zstd frame, else the payload as is)
//
// All integers are little-endian. What may change in a minor version: new
// block types (older readers skip them) and new header fields (older readers
// ignore them). Anything else (the framing, the section's first 16 bytes, the
// frame's fields, new frame flags) takes a new major version, which older
// readers refuse with one clear error rather than misread.
package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The format version this package writes; it reads any minor of Major.
const (
	Major = 1
	Minor = 0
)

// MaxPayload is the largest payload a frame may carry, uncompressed. A
// reader refuses a frame declaring more, so a hostile or damaged file cannot
// make it allocate without bound; a keyframe of a very busy machine is a few
// MB, far below.
const MaxPayload = 256 << 20

const (
	magic = "\x89TLM\r\n\x1a\n"

	blockSection = 1
	blockFrame   = 2

	byteOrderMagic = 0x1A2B3C4D
	framing        = 16 // type, length, crc, length
	sectionFixed   = 12 // byte order, major, minor, JSON length
	frameFixed     = 20 // time, kind, flags, payload length, stored length
	// maxBlock bounds a block's declared length: a frame of MaxPayload that
	// did not compress, its fixed fields and framing. A larger length is
	// damage, found before reading on.
	maxBlock = MaxPayload + frameFixed + framing + 3

	flagZstd   = 1
	knownFlags = flagZstd
)

var (
	le         = binary.LittleEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// appendBlock appends a whole block of type typ around body to dst.
func appendBlock(dst []byte, typ uint32, body []byte) []byte {
	start := len(dst)
	dst = le.AppendUint32(dst, typ)
	dst = le.AppendUint32(dst, 0)
	dst = append(dst, body...)
	return finishBlock(dst, start)
}

// finishBlock pads the block begun at dst[start:] (type, a length to fill,
// the body) and appends its checksum and trailing length.
func finishBlock(dst []byte, start int) []byte {
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	length := uint32(len(dst) - start + 8)
	le.PutUint32(dst[start+4:], length)
	dst = le.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
	return le.AppendUint32(dst, length)
}

// Sentinels of what went wrong reading a recording, for errors.Is; the
// *Error carrying one says where.
var (
	// ErrEmpty: the file has no bytes at all.
	ErrEmpty = errors.New("empty file, not a recording")
	// ErrNotRecording: the file does not start as a recording does.
	ErrNotRecording = errors.New("not a tlmon recording")
	// ErrUnsupported: a recording this tlmon cannot read (a newer major
	// version, another byte order, flags it does not know).
	ErrUnsupported = errors.New("unsupported recording")
	// ErrCorrupt: a block is damaged (checksum, lengths, a payload that does
	// not decompress). Nothing after it is read.
	ErrCorrupt = errors.New("corrupt block")
	// ErrTruncated: the file ends inside a block, as when tlmon was killed
	// while writing one, or in zeros, as when the machine went down before
	// the last writes reached the disk. Every frame before Offset is whole:
	// a replay shows them and says the recording was cut short.
	ErrTruncated = errors.New("truncated")
)

// Error is what a Reader returns for a file it cannot read on: which file,
// which of the sentinels above, at what byte offset (the start of the block
// at fault, or for ErrTruncated the end of the last whole block), and what
// was wrong. Its message is one line.
type Error struct {
	Name   string // the file's path, or "recording" for a plain io.Reader
	Kind   error  // ErrEmpty, ErrNotRecording, ErrUnsupported, ErrCorrupt or ErrTruncated
	Offset int64
	What   string
}

func (e *Error) Error() string {
	if e.Kind == ErrEmpty {
		return e.Name + ": " + e.Kind.Error()
	}
	s := fmt.Sprintf("%s: %v at byte %d", e.Name, e.Kind, e.Offset)
	if e.What != "" {
		s += ": " + e.What
	}
	return s
}

func (e *Error) Unwrap() error { return e.Kind }
