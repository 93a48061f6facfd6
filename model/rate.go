package model

// Rate is n events over secs, per second (0 over no time).
func Rate(n uint64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// RateWithin is the rate of n events over secs, never above total, all the
// events counted so far. Over an interval shorter than a second (the first
// read, about 50 ms in, a read forced by attach, -i 100ms) n/secs extrapolates
// to a whole second: a process that made 30 calls in its 20 ms of life would
// read 1,500 calls/s beside a total of 30, a second no part of its life had.
// Nothing made more calls in any second than it made in all, so the total
// bounds the rate; over a second or more the cap never applies (n <= total).
// The aggregator computes its snapshots' rates with it, and the history
// predicts them with it.
func RateWithin(n, total uint64, secs float64) float64 {
	return min(Rate(n, secs), float64(total))
}
