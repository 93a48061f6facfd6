//go:build linux && !amd64

package main

// haveInt80 says whether int80 exists: the i386 entry is x86's.
const haveInt80 = false

// int80 is never called where haveInt80 is false.
func int80(nr uintptr) (r1 uintptr) { panic("int $0x80 exists on amd64 only") }
