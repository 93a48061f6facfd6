package bpf

// The generated tlmon_x86_bpfel.go/.o are committed so that `go build` needs no
// clang; `make generate` reruns this and CI checks nothing drifted.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 -type event -type counts -type sys_counts -type proc_key -type errno_key -type proc_hist -type enter_rec -type call_event -type tcp_event -type io_counts -type counts_event -type young_table tlmon tlmon.bpf.c -- -I./headers/x86 -I./headers
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v1" -target amd64 -type legacy_settings legacy legacy.bpf.c -- -I./headers/x86 -I./headers
