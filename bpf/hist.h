/* hist_bucket for tlmon.bpf.c, and for histtest.bpf.c, which holds it to
 * model.HistBucket in a test. legacy.bpf.c has its own: this one needs global
 * data. */
#ifndef TLMON_HIST_H
#define TLMON_HIST_H

/* log2_table[(2^l * DEBRUIJN) >> 58] is l: a de Bruijn sequence's table. */
static const __u8 log2_table[64] = {
	0, 1, 2, 53, 3, 7, 54, 27, 4, 38, 41, 8, 34, 55, 48, 28,
	62, 5, 39, 46, 44, 42, 22, 9, 24, 35, 59, 56, 49, 18, 29, 11,
	63, 52, 6, 26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
	51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
};
#define DEBRUIJN 0x022fdd63cc95386dULL

/* hist_bucket mirrors model.HistBucket: half-octave buckets. Without a branch
 * (the octave's power of two looked up in log2_table): with one per halving
 * (legacy.bpf.c's), the verifier walked the rest of every caller once per
 * octave a latency could be in (a bucket is an index, so it keeps each path's
 * value apart), some 10 k instructions at every load. It costs no more a call. */
static __always_inline __u32 hist_bucket(__u64 ns)
{
	if (ns < 2)
		return ns;
	__u64 v = ns; /* all ones from the highest bit of ns down */
	v |= v >> 1;
	v |= v >> 2;
	v |= v >> 4;
	v |= v >> 8;
	v |= v >> 16;
	v |= v >> 32;
	__u64 l = log2_table[((v ^ (v >> 1)) * DEBRUIJN) >> 58];
	__u64 b = 2 * l + ((ns >> (l - 1)) & 1);
	if (b > HIST_BUCKETS - 1)
		b = HIST_BUCKETS - 1;
	barrier_var(b); /* clang knows the bound: the callers' checks must stay, for the verifier */
	return b;
}

#endif
