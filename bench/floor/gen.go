package floor

// The generated floor_x86_bpfel.go/.o are committed so that `go run ./bench`
// needs no clang.
//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64 floor floor.bpf.c -- -I../../bpf/headers/x86 -I../../bpf/headers
