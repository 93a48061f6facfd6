package output

import "testing"

// TestDurationHasThreeDigitsAndNoExponent: a duration that rounds up to the
// next unit is said in it, never as 1e+03.
func TestDurationHasThreeDigitsAndNoExponent(t *testing.T) {
	for ns, want := range map[uint64]string{
		850:               "850ns",
		999:               "999ns",
		1000:              "1µs",
		12_345:            "12.3µs",
		999_400:           "999µs",
		999_700:           "1ms",
		4_560_000:         "4.56ms",
		999_800_000:       "1s",
		1_230_000_000:     "1.23s",
		999_600_000_000:   "1000s",
		1_234_000_000_000: "1234s",
	} {
		if got := Duration(ns); got != want {
			t.Errorf("Duration(%d) = %q, want %q", ns, got, want)
		}
	}
}
