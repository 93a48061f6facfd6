//go:build linux

package main

// haveInt80 says whether int80 exists: the i386 entry is x86's.
const haveInt80 = true

// int80 makes system call nr of the i386 table, without arguments, through
// int $0x80 (int80_amd64.s). The result is 32 bits wide: an errno is
// -1..-4095 as an int32.
//
//go:noescape
func int80(nr uintptr) (r1 uintptr)
