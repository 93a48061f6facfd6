package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"tlmon/dev/internal/devtool"
)

// The initramfs is written here, in the kernel's "newc" cpio format, rather
// than by the cpio tool: the host needs no cpio, needs no root to put
// /dev/console in it (the kernel opens it before running /init; without it the
// init has no stdout), and the archive is the same bytes on every machine.
// It is not compressed: the kernel copies an uncompressed archive faster under
// TCG than it would inflate a gzipped one, and qemu loads it from a file.

// cpioWriter writes a newc archive. Entries need their parent directories
// written before them.
type cpioWriter struct {
	w   *bufio.Writer
	ino uint32
	off int64
	err error
}

func newCpioWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), ino: 1}
}

// cpio modes: the file type bits of stat(2).
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// header writes one entry's header and name: "070701", thirteen 8-digit hex
// fields, the name with its NUL, padded to 4 bytes.
func (c *cpioWriter) header(name string, mode uint32, size int64, rdevMajor, rdevMinor uint32) {
	if c.err != nil {
		return
	}
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	ino := c.ino
	c.ino++
	if name == cpioTrailer {
		ino = 0
	}
	_, c.err = fmt.Fprintf(c.w, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.off += 110
	c.write([]byte(name + "\x00"))
	c.pad()
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	var n int
	n, c.err = c.w.Write(b)
	c.off += int64(n)
}

func (c *cpioWriter) pad() {
	if r := c.off % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// Dir adds a directory; perm is its permission bits.
func (c *cpioWriter) Dir(name string, perm uint32) {
	c.header(name, modeDir|perm, 0, 0, 0)
}

// File adds a regular file with the given contents.
func (c *cpioWriter) File(name string, perm uint32, data []byte) {
	c.header(name, modeRegular|perm, int64(len(data)), 0, 0)
	c.write(data)
	c.pad()
}

// FileFrom adds the regular file at src on the host.
func (c *cpioWriter) FileFrom(name string, perm uint32, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	c.File(name, perm, data)
	return nil
}

// Symlink adds a symbolic link; its target is its data.
func (c *cpioWriter) Symlink(name, target string) {
	c.header(name, modeSymlink|0o777, int64(len(target)), 0, 0)
	c.write([]byte(target))
	c.pad()
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, perm, major, minor uint32) {
	c.header(name, modeCharDev|perm, 0, major, minor)
}

const cpioTrailer = "TRAILER!!!"

// Close writes the trailer and flushes; it does not close the underlying
// writer.
func (c *cpioWriter) Close() error {
	c.header(cpioTrailer, 0, 0, 0, 0)
	if c.err != nil {
		return c.err
	}
	return c.w.Flush()
}

// vmPackage is one test binary and where it runs inside the VM.
type vmPackage struct {
	importPath string // as given: ./bpf/
	name       string // bpf: the binary is /tests/bpf.test
	binary     string // on the host
	testdata   string // the package's testdata dir on the host, if any
}

// initramfs is everything the VM gets.
type initramfs struct {
	busybox  string // a static busybox on the host
	workload string // the project's static workload command on the host
	pkgs     []vmPackage
	init     string // the /init script
}

// write writes the archive: busybox as /bin/sh, the tests under /tests, the
// workload at /bin/workload, and /init.
func (fs initramfs) write(w io.Writer) error {
	c := newCpioWriter(w)
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "tests", "etc", "sbin", "usr", "usr/bin", "usr/sbin"} {
		c.Dir(d, 0o755)
	}
	c.CharDev("dev/console", 0o600, 5, 1)
	c.Dir("root", 0o700)
	if err := c.FileFrom("bin/busybox", 0o755, fs.busybox); err != nil {
		return err
	}
	c.Symlink("bin/sh", "busybox")
	if err := c.FileFrom("bin/workload", 0o755, fs.workload); err != nil {
		return err
	}
	for _, p := range fs.pkgs {
		if err := c.FileFrom("tests/"+p.name+".test", 0o755, p.binary); err != nil {
			return err
		}
		if p.testdata != "" {
			c.Dir("tests/"+p.name, 0o755)
			if err := addTree(c, "tests/"+p.name+"/testdata", p.testdata); err != nil {
				return err
			}
		}
	}
	c.File("init", 0o755, []byte(fs.init))
	return c.Close()
}

// addTree adds the host directory src as name, recursively, with regular
// files, directories and symlinks. name's parents must be in the archive
// already: each directory is written once, before what it holds.
func addTree(c *cpioWriter, name, src string) error {
	c.Dir(name, 0o755)
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, n := src+"/"+e.Name(), name+"/"+e.Name()
		switch t := e.Type(); {
		case t.IsDir():
			if err := addTree(c, n, s); err != nil {
				return err
			}
		case t&os.ModeSymlink != 0:
			target, err := os.Readlink(s)
			if err != nil {
				return err
			}
			c.Symlink(n, target)
		case t.IsRegular():
			if err := c.FileFrom(n, 0o644, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// Lines the init prints for the host to read. Each is alone on its line; the
// host finds them anywhere in a line, since the kernel may print into the
// same console at any time.
const (
	markBooted = "TLMON-VM-BOOTED"  // uname -r, once userspace runs
	markRun    = "TLMON-VM-RUN"     // package name, before its tests
	markPkg    = "TLMON-VM-PKG"     // package name and the test binary's exit status
	markResult = "TLMON-VM-RESULT"  // pass or fail, last
	markMount  = "TLMON-VM-NOMOUNT" // a file system the init could not mount
)

// initScript is /init: mount what BPF tests use, run every test binary from a
// copy of its package dir on a tmpfs with env set, print the result, power
// off. reboot -f makes the kernel reset the machine (reboot=t), which with
// qemu's -no-reboot ends qemu.
func initScript(pkgs []vmPackage, env map[string]string, testArgs []string) string {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in bpf:/sys/fs/bpf tracefs:/sys/kernel/tracing debugfs:/sys/kernel/debug; do
	mount -t "${m%%:*}" "${m%%:*}" "${m#*:}" || echo "` + markMount + ` ${m%%:*}"
done
echo "` + markBooted + ` $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)"
`)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "export %s=%s\n", k, devtool.ShellQuote(env[k]))
	}
	b.WriteString("result=pass\n")
	args := make([]string, len(testArgs))
	for i, a := range testArgs {
		args[i] = devtool.ShellQuote(a)
	}
	for _, p := range pkgs {
		// A copy of the package dir, so that the test's working directory
		// is writable and holds the package's testdata.
		fmt.Fprintf(&b, "echo \"%s %s\"\n", markRun, p.name)
		fmt.Fprintf(&b, "mkdir -p /tmp/%[1]s && cd /tmp/%[1]s\n", p.name)
		if p.testdata != "" {
			fmt.Fprintf(&b, "cp -a /tests/%s/testdata .\n", p.name)
		}
		fmt.Fprintf(&b, "/tests/%s.test %s\nrc=$?\n", p.name, strings.Join(args, " "))
		fmt.Fprintf(&b, "echo \"%s %s $rc\"\n", markPkg, p.name)
		b.WriteString("[ $rc = 0 ] || result=fail\ncd /\n")
	}
	fmt.Fprintf(&b, "echo \"%s $result\"\nsync\nreboot -f\n", markResult)
	return b.String()
}
