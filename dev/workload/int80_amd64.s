//go:build linux

#include "textflag.h"

// func int80(nr uintptr) (r1 uintptr)
//
// System call nr with no arguments through int $0x80, the i386 entry, which
// 64-bit processes may use too: the kernel then runs the call from its 32-bit
// table. The kernel keeps every register but AX, the result.
TEXT ·int80(SB), NOSPLIT, $0-16
	MOVQ	nr+0(FP), AX
	INT	$0x80
	MOVQ	AX, r1+8(FP)
	RET
