package bpf

// The generated tlmon_{x86,arm64}_bpfel.go/.o and legacy_{x86,arm64}_bpfel.go/.o
// are committed so that `go build` needs no clang; `make generate` reruns this
// and CI checks nothing drifted. One line per architecture: each puts its own
// vmlinux.h (headers/x86, headers/arm64) first on the include path; bpf2go's
// -target defines __TARGET_ARCH_x86 or __TARGET_ARCH_arm64, which choose the
// syscall numbers (shared.h) and the register layout (bpf_tracing.h).
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -type event -type counts -type sys_counts -type proc_key -type errno_key -type proc_hist -type enter_rec -type call_event -type tcp_event -type io_counts -type counts_event -type young_table tlmon tlmon.bpf.c -- -I./headers/x86 -I./headers
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target arm64 -type event -type counts -type sys_counts -type proc_key -type errno_key -type proc_hist -type enter_rec -type call_event -type tcp_event -type io_counts -type counts_event -type young_table tlmon tlmon.bpf.c -- -I./headers/arm64 -I./headers
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v1" -target amd64 -type legacy_settings legacy legacy.bpf.c -- -I./headers/x86 -I./headers
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v1" -target arm64 -type legacy_settings legacy legacy.bpf.c -- -I./headers/arm64 -I./headers
// The test's object (histtest.bpf.c): its files end in _test, so that only the
// package's tests embed it.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -output-suffix _test histtest histtest.bpf.c -- -I./headers/x86 -I./headers
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target arm64 -output-suffix _test histtest histtest.bpf.c -- -I./headers/arm64 -I./headers
