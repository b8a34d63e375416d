package filter

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// genExpr writes a random valid expression over the vocabulary of
// randomSummary, for property tests and fuzz seeds.
func genExpr(r *rand.Rand, depth int, sc scopeKind) string {
	if depth <= 0 || r.IntN(3) == 0 {
		return genTerm(r, depth, sc)
	}
	switch r.IntN(5) {
	case 0:
		return genExpr(r, depth-1, sc) + " AND " + genExpr(r, depth-1, sc)
	case 1:
		return genExpr(r, depth-1, sc) + " OR " + genExpr(r, depth-1, sc)
	case 2:
		return "!" + genParen(r, depth-1, sc)
	case 3:
		return genExpr(r, depth-1, sc) + " " + genParen(r, depth-1, sc) // implicit AND
	}
	return "NOT " + genParen(r, depth-1, sc)
}

func genParen(r *rand.Rand, depth int, sc scopeKind) string {
	return "(" + genExpr(r, depth, sc) + ")"
}

func genTerm(r *rand.Rand, depth int, sc scopeKind) string {
	var kws []keyword
	for k := kwOK; k < numKeywords; k++ {
		if keywordTable[k].scopes.has(sc) {
			kws = append(kws, k)
		}
	}
	n := len(kws)
	if sc == scTrace {
		n += 6 // the complex keywords
	} else if sc == scNode {
		n++ // annotations
	}
	i := r.IntN(n)
	if i < len(kws) {
		return genSimple(r, kws[i])
	}
	switch i - len(kws) {
	case 0:
		return genAnnotation(r)
	case 1:
		return "service(" + pick(r, []string{"", genRef(r)}) + ")" + genBlock(r, depth, scNode)
	case 2:
		return "edge(" + genRef(r) + ", " + genRef(r) + ")" + genBlock(r, depth, scEdge)
	case 3:
		l, t := pick(r, vocabLists), pick(r, vocabTarget)
		if l == "responsetime" && t == "exception" {
			t = "entity"
		}
		s := scRCService
		switch {
		case t == "exception":
			s = scRCException
		case t == "entity" && l == "responsetime":
			s = scRCTimeEntity
		case t == "entity":
			s = scRCEntity
		}
		return "rootcause." + l + "." + t + " {" + genExprOrEmpty(r, depth, s) + "}"
	case 4:
		return "rootcause.json = #" + pick(r, []string{`[]`, `[{}]`, `[{"Services": [{"Name": "a"}]}]`,
			`[{"ClientImpacting": true}]`, `[{"Services": [{"EntityPath": [{"Name": "b", "Remote": true}]}]}]`,
			`[{"Services": [{"Name": "a"}, {"Name": "b", "Inferred": false}]}]`,
			`[{"Services": [{"EntityPath": [{"Coverage": 1}]}]}]`})
	}
	o := pick(r, []string{" = ", " != "})
	if r.IntN(4) == 0 {
		return "group.arn" + o + `"arn:aws:xray:us-east-1:1:group/slow/x"`
	}
	return pick(r, []string{"group.name", "groupname"}) + o + pick(r, []string{`"slow"`, `"errors"`, `"Default"`, `"nested"`})
}

func genExprOrEmpty(r *rand.Rand, depth int, sc scopeKind) string {
	if r.IntN(4) == 0 {
		return ""
	}
	return " " + genExpr(r, depth-1, sc) + " "
}

func genBlock(r *rand.Rand, depth int, sc scopeKind) string {
	if r.IntN(3) == 0 {
		return ""
	}
	return " {" + genExprOrEmpty(r, depth, sc) + "}"
}

func genRef(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return fmt.Sprintf("%q", pick(r, vocabNames))
	}
	var args []string
	if r.IntN(2) == 0 {
		args = append(args, fmt.Sprintf("name: %q", pick(r, vocabNames)))
	}
	if t := pick(r, vocabTypes); t != "" && r.IntN(2) == 0 {
		args = append(args, fmt.Sprintf("type: %q", t))
	}
	if len(args) == 0 || r.IntN(4) == 0 {
		args = append(args, `account.id: "111"`)
	}
	r.Shuffle(len(args), func(i, j int) { args[i], args[j] = args[j], args[i] })
	return "id(" + strings.Join(args, ", ") + ")"
}

func genNumber(r *rand.Rand) string {
	v := pick(r, vocabNums)
	if r.IntN(5) == 0 {
		v += 0.25
	}
	return formatNumber(v)
}

func genSimple(r *rand.Rand, kw keyword) string {
	name := keywordTable[kw].name
	if r.IntN(4) == 0 {
		name = strings.ToUpper(name)
	}
	switch keywordTable[kw].typ {
	case tyBool:
		return name + pick(r, []string{"", "", " = true", " = false", " != true", " != false"})
	case tyNumber:
		return name + " " + pick(r, []string{"=", "!=", "<", "<=", ">", ">="}) + " " + genNumber(r)
	}
	o := pick(r, []string{"", "=", "!=", "CONTAINS", "BEGINSWITH", "ENDSWITH"})
	if o == "" {
		return name
	}
	v := fmt.Sprintf("%q", pick(r, append(vocabStrs, vocabNames...)))
	if kw == kwType {
		v = fmt.Sprintf("%q", pick(r, vocabTypes))
	}
	return name + " " + o + " " + v
}

func genAnnotation(r *rand.Rand) string {
	key := pick(r, vocabKeys)
	ref := "annotation." + key
	if r.IntN(2) == 0 {
		ref = "annotation[" + key + "]"
	}
	switch r.IntN(5) {
	case 0:
		return ref
	case 1:
		return ref + " " + pick(r, []string{"=", "!=", "<", "<=", ">", ">="}) + " " + genNumber(r)
	case 2:
		return ref + " " + pick(r, []string{"=", "!="}) + " " + pick(r, []string{"true", "false"})
	}
	return ref + " " + pick(r, []string{"=", "!=", "<", ">=", "CONTAINS", "BEGINSWITH", "ENDSWITH"}) +
		" " + fmt.Sprintf("%q", pick(r, vocabStrs))
}
