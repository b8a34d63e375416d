package profile

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Thresholds under which a change is reported as not significant: fewer
// invocations on either side than MinInvocations, or a p-value of
// Alpha or more (strict, because a profile tests many parts at once).
const (
	MinInvocations = 20
	Alpha          = 0.01
)

// Result is the API's answer: a profile, and its comparison with a base
// window when one was asked for.
type Result struct {
	*Profile
	Compare *Comparisons `json:"compare,omitempty"`
}

// Sample says how a profile of a filter expression was made: from the
// documents of the matching traces, at most a bounded number of them.
type Sample struct {
	Filter string `json:"filter"`
	// Traces is how many matching traces were read; Complete is false
	// when the bound stopped the scan (the profile is then a sample of
	// the newest matching traces).
	Traces   int    `json:"traces"`
	Complete bool   `json:"complete"`
	Note     string `json:"note,omitempty"`
}

// Comparisons is a base window's profile and the changes from it.
type Comparisons struct {
	Base *Profile `json:"base"`
	// All, Cold and Warm compare the breakdowns of the same name.
	All  *Comparison `json:"all"`
	Cold *Comparison `json:"cold,omitempty"`
	Warm *Comparison `json:"warm,omitempty"`
}

// Comparison is what changed between a base breakdown and another.
type Comparison struct {
	BaseInvocations int64   `json:"base_invocations"`
	Invocations     int64   `json:"invocations"`
	BaseMean        float64 `json:"base_mean_s"`
	Mean            float64 `json:"mean_s"`
	// Delta is Mean − BaseMean.
	Delta float64 `json:"delta_s"`
	// Changes are ranked by |Delta|: their contribution to the change of
	// the mean invocation time.
	Changes []Change `json:"changes"`
}

// Change is one part's change of mean self time per invocation.
type Change struct {
	Path     []string `json:"path"`
	BaseMean float64  `json:"base_self_mean_s"`
	Mean     float64  `json:"self_mean_s"`
	Delta    float64  `json:"delta_s"`
	// Contribution is Delta over the change of the mean invocation time
	// (0 when that did not change).
	Contribution float64 `json:"contribution"`
	// T, DF and P are Welch's t-test of the per-invocation self times
	// (docs/profile.md); P is two-sided.
	T           float64 `json:"t"`
	DF          float64 `json:"df"`
	P           float64 `json:"p"`
	Significant bool    `json:"significant"`
}

// Compare compares breakdown b with base, part by part.
func Compare(base, b *Breakdown) *Comparison {
	c := &Comparison{BaseInvocations: base.Invocations, Invocations: b.Invocations,
		BaseMean: base.Mean, Mean: b.Mean, Delta: b.Mean - base.Mean, Changes: []Change{}}
	n0, n1 := float64(base.Invocations), float64(b.Invocations)
	parts := map[string][2]*acc{}
	for _, p := range base.Parts {
		k := strings.Join(p.Path, sep)
		v := parts[k]
		v[0] = p.acc
		parts[k] = v
	}
	for _, p := range b.Parts {
		k := strings.Join(p.Path, sep)
		v := parts[k]
		v[1] = p.acc
		parts[k] = v
	}
	for k, v := range parts {
		var s0, q0, s1, q1 float64
		if v[0] != nil {
			s0, q0 = v[0].selfSum, v[0].selfSumSq
		}
		if v[1] != nil {
			s1, q1 = v[1].selfSum, v[1].selfSumSq
		}
		ch := Change{Path: strings.Split(k, sep)}
		if n0 > 0 {
			ch.BaseMean = s0 / n0 / 1e6
		}
		if n1 > 0 {
			ch.Mean = s1 / n1 / 1e6
		}
		ch.Delta = ch.Mean - ch.BaseMean
		if c.Delta != 0 {
			ch.Contribution = ch.Delta / c.Delta
		}
		ch.T, ch.DF, ch.P = Welch(n0, s0/1e6, q0/1e12, n1, s1/1e6, q1/1e12)
		ch.Significant = n0 >= MinInvocations && n1 >= MinInvocations && ch.P < Alpha
		c.Changes = append(c.Changes, ch)
	}
	slices.SortFunc(c.Changes, func(x, y Change) int {
		return cmp.Or(cmp.Compare(math.Abs(y.Delta), math.Abs(x.Delta)), slices.Compare(x.Path, y.Path))
	})
	return c
}

// Welch is Welch's unequal-variances t-test of two samples given by their
// size n, sum s and sum of squares q: the statistic t (second minus
// first), the Welch–Satterthwaite degrees of freedom and the two-sided
// p-value. Without enough data (n < 2) it returns p = 1; two samples
// without variance give p = 0 if their means differ.
func Welch(n0, s0, q0, n1, s1, q1 float64) (t, df, p float64) {
	if n0 < 2 || n1 < 2 {
		return 0, 0, 1
	}
	m0, m1 := s0/n0, s1/n1
	v0 := max((q0-s0*m0)/(n0-1), 0)
	v1 := max((q1-s1*m1)/(n1-1), 0)
	a, b := v0/n0, v1/n1
	se := math.Sqrt(a + b)
	if se == 0 {
		if m0 == m1 {
			return 0, n0 + n1 - 2, 1
		}
		return math.Copysign(math.Inf(1), m1-m0), n0 + n1 - 2, 0
	}
	t = (m1 - m0) / se
	df = (a + b) * (a + b) / (a*a/(n0-1) + b*b/(n1-1))
	return t, df, tTwoSided(t, df)
}

// tTwoSided is P(|T| > |t|) for Student's t with df degrees of freedom:
// the regularized incomplete beta I_x(df/2, 1/2) at x = df/(df+t²).
func tTwoSided(t, df float64) float64 {
	return min(max(betaInc(df/2, 0.5, df/(df+t*t)), 0), 1)
}

// betaInc is the regularized incomplete beta function I_x(a, b), by its
// continued fraction (Numerical Recipes, 3rd ed., §6.4).
func betaInc(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	const eps, tiny = 1e-15, 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
