package filter

import "strings"

// parseTerm parses a term that starts with a word.
func (p *parser) parseTerm() (*node, *Error) {
	w := strings.ToLower(p.tok.str)
	switch {
	case w == "service":
		return p.parseService()
	case w == "edge":
		return p.parseEdge()
	case w == "id":
		return nil, p.errAt(p.tok.pos, "id() can only be used inside service() or edge()")
	case w == "annotation" || strings.HasPrefix(w, "annotation."):
		return p.parseAnnotation()
	case w == "json" || w == "rootcause.json":
		return p.parseJSON()
	case w == "rootcause" || strings.HasPrefix(w, "rootcause."):
		return p.parseRootCause()
	case w == "group.name" || w == "groupname" || w == "group.arn" || w == "grouparn":
		return p.parseGroup()
	}
	kw, ok := keywordByName[w]
	if !ok {
		return nil, p.errAt(p.tok.pos, "unknown keyword %s", quote(p.tok.str))
	}
	if err := p.checkScope(kw); err != nil {
		return nil, err
	}
	switch keywordTable[kw].typ {
	case tyBool:
		return p.parseBoolTerm(kw)
	case tyNumber:
		return p.parseNumTerm(kw)
	}
	return p.parseStrTerm(kw)
}

// checkScope reports a keyword used where it means nothing.
func (p *parser) checkScope(kw keyword) *Error {
	info := keywordTable[kw]
	if info.scopes.has(p.scope) {
		return nil
	}
	if p.scope == scTrace {
		return p.errAt(p.tok.pos, "%q can only be used inside %s", info.name, info.where)
	}
	hint := ""
	switch {
	case kw == kwType && p.scope == scRCException:
		hint = "; an exception's type is its name"
	case info.where != "":
		hint = "; use it inside " + info.where
	case info.scopes.has(scTrace):
		hint = "; it applies to the whole trace"
	}
	return p.errAt(p.tok.pos, "%q cannot be used inside %s%s", info.name, p.label, hint)
}

// checkTraceScope reports a complex keyword used inside a block.
func (p *parser) checkTraceScope(what string) *Error {
	if p.scope == scTrace {
		return nil
	}
	return p.errAt(p.tok.pos, "%s cannot be used inside %s", what, p.label)
}

// peekOp returns the operator in the lookahead, if it is one.
func (p *parser) peekOp() (op, bool) {
	switch p.tok.kind {
	case tOp:
		switch p.tok.str {
		case "=":
			return opEq, true
		case "!=":
			return opNe, true
		case "<":
			return opLt, true
		case "<=":
			return opLe, true
		case ">":
			return opGt, true
		case ">=":
			return opGe, true
		}
	case tWord:
		switch {
		case strings.EqualFold(p.tok.str, "contains"):
			return opContains, true
		case strings.EqualFold(p.tok.str, "beginswith"):
			return opBeginsWith, true
		case strings.EqualFold(p.tok.str, "endswith"):
			return opEndsWith, true
		}
	}
	return 0, false
}

// badOp reports an operator that does not apply to a keyword's type.
func (p *parser) badOp(subject string, t valueType, valid string) *Error {
	return p.errAt(p.tok.pos, "operator %s does not apply to %s, a %s keyword; use %s",
		quote(p.src[p.tok.pos:p.tok.end]), subject, t, valid)
}

const (
	boolOps   = "= or !="
	numberOps = "=, !=, <, <=, > or >="
	stringOps = "=, !=, CONTAINS, BEGINSWITH or ENDSWITH"
)

func (p *parser) parseBoolTerm(kw keyword) (*node, *Error) {
	ctx := p.tok.pos
	p.next()
	o, isOp := p.peekOp()
	if !isOp {
		return &node{kind: kBool, kw: kw, b: true}, nil
	}
	if o != opEq && o != opNe {
		return nil, p.badOp(kw.String(), tyBool, boolOps)
	}
	p.next()
	v, ok := p.boolValue()
	if !ok {
		return nil, p.expected("true or false", ctx)
	}
	p.next()
	return &node{kind: kBool, kw: kw, b: v == (o == opEq)}, nil
}

func (p *parser) boolValue() (v, ok bool) {
	switch {
	case p.isWord("true"):
		return true, true
	case p.isWord("false"):
		return false, true
	}
	return false, false
}

func (p *parser) parseNumTerm(kw keyword) (*node, *Error) {
	ctx := p.tok.pos
	p.next()
	o, isOp := p.peekOp()
	if !isOp {
		return nil, p.expected("a comparison ("+numberOps+")", ctx)
	}
	if o.stringOp() {
		return nil, p.badOp(kw.String(), tyNumber, numberOps)
	}
	p.next()
	if p.tok.kind != tNumber {
		return nil, p.expected("a number", ctx)
	}
	n := &node{kind: kNum, kw: kw, op: o, num: p.tok.num}
	p.next()
	return n, nil
}

func (p *parser) parseStrTerm(kw keyword) (*node, *Error) {
	ctx := p.tok.pos
	p.next()
	o, isOp := p.peekOp()
	if !isOp {
		return &node{kind: kStr, kw: kw, op: opExists}, nil
	}
	if o.ordered() {
		return nil, p.badOp(kw.String(), tyString, stringOps)
	}
	p.next()
	s, err := p.stringValue(ctx)
	if err != nil {
		return nil, err
	}
	return &node{kind: kStr, kw: kw, op: o, typ: tyString, str: s}, nil
}

// reserved are the words a bare value cannot be: they would read as part of
// the expression.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "true": true, "false": true,
	"contains": true, "beginswith": true, "endswith": true,
}

// stringValue consumes a quoted string or a bare value: a word, or a run
// of loose characters that starts with a digit (account.id = 0123,
// http.clientip = 10.0.0.1), taken as written.
func (p *parser) stringValue(ctx int) (string, *Error) {
	switch {
	case p.tok.kind == tString:
		s := p.tok.str
		p.next()
		return s, nil
	case p.tok.kind == tWord && reserved[strings.ToLower(p.tok.str)]:
		e := p.expected("a string", ctx)
		e.Msg += " (quote it to use it as a value)"
		return "", e
	case p.tok.kind == tWord || p.tok.kind == tNumber || p.tok.kind == tBad && isDigit(p.src[p.tok.pos]):
		p.tok = scanLoose(p.src, p.tok.pos)
		s := p.tok.str
		p.next()
		return s, nil
	}
	return "", p.expected("a string", ctx)
}
