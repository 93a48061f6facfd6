package model

import "math/bits"

// Latency histograms use half-octave buckets: every power of two is split in two,
// so a bucket's width is at most half its lower bound. Reporting a bucket's
// midpoint is therefore never more than 25% away from the true value. The kernel
// computes the same index (bpf/tlmon.bpf.c: hist_bucket); keep both in step.
const (
	HistMaxLog2 = 39 // 2^39 ns ≈ 550 s: slower calls land in the last bucket
	HistBuckets = 2*HistMaxLog2 + 2
)

// Hist counts latency samples per bucket.
type Hist [HistBuckets]uint64

// HistBucket returns the bucket index of a latency in nanoseconds.
func HistBucket(ns uint64) int {
	if ns < 2 {
		return int(ns)
	}
	l := bits.Len64(ns) - 1 // floor(log2)
	if l > HistMaxLog2 {
		return HistBuckets - 1
	}
	half := int(ns>>(l-1)) & 1
	return 2*l + half
}

// HistBounds returns the range [lo, hi) of latencies (ns) a bucket holds.
func HistBounds(i int) (lo, hi uint64) {
	if i < 2 {
		return uint64(i), uint64(i) + 1
	}
	l, half := uint(i/2), uint64(i%2)
	lo = 1<<l + half<<(l-1)
	return lo, lo + 1<<(l-1)
}

// Add adds o into h.
func (h *Hist) Add(o *Hist) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count is the number of samples in h.
func (h *Hist) Count() uint64 {
	var n uint64
	for _, v := range h {
		n += v
	}
	return n
}

// Quantile estimates the q-quantile (0 < q <= 1) in nanoseconds, interpolating
// linearly inside the bucket that holds it. It returns 0 for an empty histogram.
func (h *Hist) Quantile(q float64) uint64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen float64
	for i, v := range h {
		if v == 0 {
			continue
		}
		if seen+float64(v) >= rank {
			lo, hi := HistBounds(i)
			frac := (rank - seen) / float64(v)
			return lo + uint64(frac*float64(hi-lo))
		}
		seen += float64(v)
	}
	lo, _ := HistBounds(HistBuckets - 1)
	return lo
}

// Quantiles sets out[i] to Quantile(qs[i]) for every i < len(qs); out must be at
// least as long as qs. It counts the samples once and, when qs is in ascending
// order, finds every quantile in a single further pass over the buckets. It does
// not allocate.
func (h *Hist) Quantiles(qs []float64, out []uint64) {
	out = out[:len(qs)]
	n := h.Count()
	if n == 0 {
		clear(out)
		return
	}
	for j := 0; j < len(qs); {
		// qs[j:k] is the next ascending run: one pass over the buckets for it.
		k := j + 1
		for k < len(qs) && qs[k] >= qs[k-1] {
			k++
		}
		h.quantileRun(n, qs[j:k], out[j:k])
		j = k
	}
}

// quantileRun sets out[i] to the qs[i]-quantile of h, which holds n > 0 samples,
// for qs in ascending order. Each quantile is computed exactly as a pass of its
// own would: the same running sum, comparison and interpolation.
func (h *Hist) quantileRun(n uint64, qs []float64, out []uint64) {
	j := 0
	rank := qs[0] * float64(n)
	var seen float64
	for i, v := range h {
		if v == 0 {
			continue
		}
		for seen+float64(v) >= rank {
			lo, hi := HistBounds(i)
			frac := (rank - seen) / float64(v)
			out[j] = lo + uint64(frac*float64(hi-lo))
			if j++; j == len(qs) {
				return
			}
			rank = qs[j] * float64(n)
		}
		seen += float64(v)
	}
	lo, _ := HistBounds(HistBuckets - 1)
	for ; j < len(qs); j++ {
		out[j] = lo
	}
}
