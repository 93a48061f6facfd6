package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"tlmon/model"
)

// bigSnapshot is a busy machine: n processes with 20 syscalls each.
func bigSnapshot(n int) *model.Snapshot {
	s := &model.Snapshot{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Interval: time.Second}
	for i := range n {
		var calls []model.SyscallStat
		for nr := range 20 {
			calls = append(calls, sc(nr, fmt.Sprintf("sys_%d", nr), model.ClassDesc, uint64(1000-nr*10+i), uint64(nr)))
		}
		p := proc(uint32(1000+i), uint32(1000+i/10), fmt.Sprintf("worker-%d", i), "/system.slice/app.service", i%7 != 0, calls...)
		s.Processes = append(s.Processes, p)
		s.Totals.Add(p.Counts)
	}
	s.Syscalls = s.Processes[0].Syscalls
	return s
}

func benchApp(b *testing.B, theme string) *app {
	f := newFake()
	f.snap = bigSnapshot(2000)
	m := newApp(f, Options{Interval: time.Second}, theme)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	return m
}

// BenchmarkView draws the processes view of 2,000 processes: only the rows
// on screen cost anything.
func BenchmarkView(b *testing.B) {
	for _, theme := range []string{"mono", "dark"} {
		b.Run(theme, func(b *testing.B) {
			m := benchApp(b, theme)
			b.ReportAllocs()
			for b.Loop() {
				m.View()
			}
		})
	}
}

// BenchmarkRefresh builds, sorts and filters the 2,000 rows, as each new
// snapshot does: when every process made calls since the last one (each
// process's P99 merged afresh) and when none did.
func BenchmarkRefresh(b *testing.B) {
	m := benchApp(b, "mono")
	b.Run("all-changed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, _ := newProcessViews()
			v.setSize(120, 35)
			v.refresh(&m.data)
		}
	})
	b.Run("none-changed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.top().refresh(&m.data)
		}
	})
}
