package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// histSamples are latencies spread over the whole range: every small value, then
// powers of two and their neighbours, then pseudo-random values on a log scale.
func histSamples() []uint64 {
	var s []uint64
	for ns := uint64(0); ns < 4096; ns++ {
		s = append(s, ns)
	}
	for l := 1; l < 64; l++ {
		p := uint64(1) << l
		s = append(s, p-1, p, p+1, p+p/2-1, p+p/2, p+p/2+1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		s = append(s, uint64(math.Exp2(r.Float64()*45)))
	}
	s = append(s, math.MaxUint64)
	slices.Sort(s)
	return s
}

func TestHistBucketIsMonotonicAndInRange(t *testing.T) {
	prev := 0
	for _, ns := range histSamples() {
		b := HistBucket(ns)
		if b < 0 || b >= HistBuckets {
			t.Fatalf("HistBucket(%d) = %d, outside [0, %d)", ns, b, HistBuckets)
		}
		if b < prev {
			t.Fatalf("HistBucket(%d) = %d, below %d for a smaller latency", ns, b, prev)
		}
		prev = b
	}
	if got := HistBucket(math.MaxUint64); got != HistBuckets-1 {
		t.Errorf("HistBucket(MaxUint64) = %d, want the last bucket %d", got, HistBuckets-1)
	}
}

func TestHistBoundsHoldWhatHistBucketPutsThere(t *testing.T) {
	lastLo, _ := HistBounds(HistBuckets - 1)
	for _, ns := range histSamples() {
		b := HistBucket(ns)
		lo, hi := HistBounds(b)
		if b == HistBuckets-1 {
			// The last bucket also takes everything slower than its upper bound.
			if ns < lastLo {
				t.Errorf("%d ns is in the last bucket, which starts at %d", ns, lastLo)
			}
			continue
		}
		if ns < lo || ns >= hi {
			t.Errorf("%d ns is in bucket %d, whose bounds are [%d, %d)", ns, b, lo, hi)
		}
	}
}

func TestHistBucketsTileTheLatencies(t *testing.T) {
	for i := 0; i < HistBuckets; i++ {
		lo, hi := HistBounds(i)
		if hi <= lo {
			t.Fatalf("bucket %d is empty: [%d, %d)", i, lo, hi)
		}
		if HistBucket(lo) != i || HistBucket(hi-1) != i {
			t.Errorf("bucket %d = [%d, %d), but HistBucket puts its ends in %d and %d", i, lo, hi, HistBucket(lo), HistBucket(hi-1))
		}
		if i+1 < HistBuckets {
			if next, _ := HistBounds(i + 1); next != hi {
				t.Errorf("bucket %d ends at %d, bucket %d starts at %d", i, hi, i+1, next)
			}
		}
	}
}

func TestBucketMidpointIsWithin25PercentOfEveryValueInIt(t *testing.T) {
	for _, ns := range histSamples() {
		b := HistBucket(ns)
		if b == HistBuckets-1 {
			continue
		}
		lo, hi := HistBounds(b)
		mid := lo + (hi-lo)/2
		if diff := math.Abs(float64(mid) - float64(ns)); diff > 0.25*float64(ns) {
			t.Errorf("%d ns: bucket [%d, %d) midpoint %d is %.0f%% off", ns, lo, hi, mid, 100*diff/float64(ns))
		}
	}
}

func TestQuantileIsWithin25PercentOfTheExactQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	dists := []struct {
		name string
		draw func() float64
	}{
		{"uniform 1µs-1ms", func() float64 { return 1e3 + r.Float64()*(1e6-1e3) }},
		{"exponential mean 50µs", func() float64 { return r.ExpFloat64() * 50e3 }},
		{"log-normal around 20µs", func() float64 { return math.Exp(math.Log(20e3) + 1.5*r.NormFloat64()) }},
		{"bimodal 2µs and 10ms", func() float64 {
			if r.IntN(10) < 9 {
				return 2e3 * (1 + 0.2*r.Float64())
			}
			return 10e6 * (1 + 0.2*r.Float64())
		}},
	}
	for _, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			var h Hist
			samples := make([]uint64, 50000)
			for i := range samples {
				samples[i] = uint64(d.draw())
				h[HistBucket(samples[i])]++
			}
			slices.Sort(samples)
			if h.Count() != uint64(len(samples)) {
				t.Fatalf("Count() = %d, want %d", h.Count(), len(samples))
			}
			// Not q = 1: see TestQuantileOfOneIsInTheBucketOfTheMaximum.
			for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.99, 0.999} {
				exact := samples[int(math.Ceil(q*float64(len(samples))))-1]
				got := h.Quantile(q)
				if diff := math.Abs(float64(got) - float64(exact)); diff > 0.25*float64(exact) {
					t.Errorf("Quantile(%v) = %d, exact %d: %.0f%% off", q, got, exact, 100*diff/float64(exact))
				}
			}
		})
	}
}

// Quantile interpolates inside a bucket, so for q = 1 it gives the bucket's upper
// bound: up to 50% above the slowest sample (a half-octave bucket [lo, 1.5 lo)).
// The 25% guarantee is for bucket midpoints and for quantiles amid many samples.
func TestQuantileOfOneIsInTheBucketOfTheMaximum(t *testing.T) {
	for _, max := range []uint64{1000, 810147, 1 << 20, 3<<20 - 1} {
		var h Hist
		h[HistBucket(max/3)]++
		h[HistBucket(max)]++
		lo, hi := HistBounds(HistBucket(max))
		got := h.Quantile(1)
		if got < lo || got > hi {
			t.Errorf("max %d: Quantile(1) = %d, outside its bucket [%d, %d]", max, got, lo, hi)
		}
		if float64(got) > 1.5*float64(max) || float64(got) < 0.5*float64(max) {
			t.Errorf("max %d: Quantile(1) = %d, more than 50%% off", max, got)
		}
	}
}

func TestQuantileOfAnEmptyHistIsZero(t *testing.T) {
	var h Hist
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("Quantile(0.5) of an empty Hist = %d, want 0", got)
	}
}

func TestHistAddSumsBuckets(t *testing.T) {
	var a, b Hist
	a[3], a[10] = 2, 5
	b[10], b[HistBuckets-1] = 1, 7
	a.Add(&b)
	if a[3] != 2 || a[10] != 6 || a[HistBuckets-1] != 7 || a.Count() != 15 {
		t.Errorf("after Add: buckets 3, 10, last = %d, %d, %d; count %d", a[3], a[10], a[HistBuckets-1], a.Count())
	}
}

// TestQuantilesMatchesQuantile checks that the one-pass Quantiles gives exactly
// what Quantile gives for each q, for ascending, unsorted and repeated qs, on
// sparse, dense, single-bucket and empty histograms.
func TestQuantilesMatchesQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var hists []Hist
	hists = append(hists, Hist{}, Hist{10: 10}, Hist{0: 1}, Hist{HistBuckets - 1: 3})
	for range 200 {
		var h Hist
		for range r.IntN(20) {
			h[r.IntN(HistBuckets)] += uint64(r.IntN(1000)) + 1
		}
		hists = append(hists, h)
	}
	qsets := [][]float64{
		{0.50, 0.95, 0.99},
		{0.99, 0.5, 0.95},
		{0, 0.5, 0.5, 1},
		{1, 1, 0.001},
		{0.25},
		{},
	}
	for hi, h := range hists {
		for _, qs := range qsets {
			out := make([]uint64, len(qs)+1)
			out[len(qs)] = 12345 // beyond len(qs): untouched
			h.Quantiles(qs, out)
			for i, q := range qs {
				if want := h.Quantile(q); out[i] != want {
					t.Fatalf("hist %d %v: Quantiles(%v)[%d] = %d, Quantile(%v) = %d", hi, h, qs, i, out[i], q, want)
				}
			}
			if out[len(qs)] != 12345 {
				t.Fatalf("Quantiles wrote past len(qs)")
			}
		}
	}
}

func TestQuantilesDoesNotAllocate(t *testing.T) {
	h := Hist{3: 1, 10: 5, 40: 2}
	qs := []float64{0.50, 0.95, 0.99}
	var out [3]uint64
	if n := testing.AllocsPerRun(100, func() { h.Quantiles(qs, out[:]) }); n != 0 {
		t.Errorf("Quantiles allocates %v times", n)
	}
}
