package loadgen

import (
	"math"
	"math/bits"
)

// rng is a small splitmix64 generator. It is a value type so that a trace can
// be generated without allocating a source, and its whole state is one word,
// which makes "pure function of (seed, i)" easy to see.
type rng struct{ s uint64 }

// mix derives an independent stream seed from a scenario seed and one or
// more indexes (trace number, purpose), so streams never overlap by accident.
func mix(seed uint64, xs ...uint64) uint64 {
	h := seed ^ 0x6a09e667f3bcc909
	for _, x := range xs {
		h = splitmix(h ^ splitmix(x+0x9e3779b97f4a7c15))
	}
	return h
}

func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func newRng(seed uint64) rng { return rng{s: seed} }

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a uniform number in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// intn returns a uniform int in [0, n); n <= 0 gives 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// between returns a uniform int in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// uniform returns a uniform float in [lo, hi).
func (r *rng) uniform(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// normal returns a standard normal deviate (Box-Muller).
func (r *rng) normal() float64 {
	u := 1 - r.float() // (0, 1]: log must not see 0
	v := r.float()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// lognormal returns a latency with the given median and spread; service
// latencies are roughly log-normal, with a long right tail.
func (r *rng) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.normal())
}

// pick returns a uniformly chosen element.
func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// ms converts milliseconds to nanoseconds.
func ms(v float64) int64 { return int64(v * 1e6) }

// msBetween returns a uniform duration in [lo, hi) milliseconds, in ns.
func (r *rng) msBetween(lo, hi float64) int64 { return ms(r.uniform(lo, hi)) }

const hexDigits = "0123456789abcdef"

// appendHex appends n random lowercase hex digits.
func (r *rng) appendHex(b []byte, n int) []byte {
	for n > 0 {
		v := r.u64()
		for k := 0; k < 16 && n > 0; k++ {
			b = append(b, hexDigits[v&15])
			v >>= 4
			n--
		}
	}
	return b
}

// hex returns n random lowercase hex digits.
func (r *rng) hex(n int) string { return string(r.appendHex(make([]byte, 0, n), n)) }

// uuid returns a random version-4 UUID, the form of Lambda and API Gateway
// request IDs.
func (r *rng) uuid() string {
	b := make([]byte, 0, 36)
	b = r.appendHex(b, 8)
	b = append(b, '-')
	b = r.appendHex(b, 4)
	b = append(b, '-', '4')
	b = r.appendHex(b, 3)
	b = append(b, '-', "89ab"[r.intn(4)])
	b = r.appendHex(b, 3)
	b = append(b, '-')
	b = r.appendHex(b, 12)
	return string(b)
}

// awsRequestID returns an ID in the style of DynamoDB and SQS request IDs:
// 52 uppercase letters and digits.
func (r *rng) awsRequestID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 52)
	for k := range b {
		b[k] = alphabet[r.intn(len(alphabet))]
	}
	return string(b)
}
