package filter

import (
	"fmt"
	"strings"
)

// Options configure Parse.
type Options struct {
	// Group returns the filter expression of the group with the given name
	// (group.name) or ARN (group.arn), and false for an unknown group. A nil
	// Group knows only "Default", which Parse handles itself.
	Group func(nameOrARN string) (expression string, ok bool)
}

// Expr is a parsed filter expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	root *node // nil: the empty expression, which matches everything
}

// Parse parses a filter expression. Errors are *Error.
func Parse(expr string, opts Options) (*Expr, error) {
	root, err := parse(expr, opts, &groupState{})
	if err != nil {
		return nil, err
	}
	return &Expr{root: root}, nil
}

const (
	// maxDepth bounds the nesting of parentheses, blocks and negations, so
	// that a hostile expression cannot make the parser recurse without end.
	maxDepth = 100
	// maxGroupExpansions bounds how many group references one expression
	// may expand, counting references inside groups: groups that refer to
	// each other twice at every level would otherwise grow exponentially.
	maxGroupExpansions = 100
)

type parser struct {
	src   string
	tok   token // the lookahead
	opts  Options
	scope scopeKind
	label string // the enclosing block, for messages: "service() { }"
	depth int
	// groups is shared with the parsers of expanded groups.
	groups *groupState
	// selector is set while parsing an entity selector, which has no blocks.
	selector bool
}

type groupState struct {
	stack      []string // groups being expanded, outermost first
	expansions int
}

func parse(src string, opts Options, g *groupState) (*node, *Error) {
	p := &parser{src: src, opts: opts, groups: g}
	p.tok = scan(src, 0)
	if p.tok.kind == tEOF {
		return nil, nil
	}
	if !p.startsTerm() {
		return nil, p.expected("a filter term", -1)
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.cannotContinue()
	}
	return n, nil
}

func (p *parser) next() { p.tok = scan(p.src, p.tok.end) }

func (p *parser) isWord(w string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.str, w)
}

// startsTerm reports whether the lookahead can begin a term, which is also
// when two terms side by side mean AND.
func (p *parser) startsTerm() bool {
	switch p.tok.kind {
	case tBang, tLParen:
		return true
	case tWord:
		_, isOp := p.peekOp()
		return !p.isWord("and") && !p.isWord("or") && !isOp
	}
	return false
}

func (p *parser) errAt(pos int, format string, args ...any) *Error {
	return newError(p.src, pos, fmt.Sprintf(format, args...))
}

// found describes the lookahead for "..., found X".
func (p *parser) found() string {
	if p.tok.kind == tEOF {
		return "end of expression"
	}
	return quote(p.src[p.tok.pos:p.tok.end])
}

// expected reports that the lookahead is not what, quoting the source from
// ctx up to the lookahead as what it should have followed (no context when
// ctx < 0). A lexical error in the lookahead is reported instead.
func (p *parser) expected(what string, ctx int) *Error {
	if p.tok.kind == tBad {
		return p.errAt(p.tok.pos, "%s", p.tok.str)
	}
	after := ""
	if ctx >= 0 {
		after = squeeze(p.src[ctx:p.tok.pos])
	}
	if after == "" {
		return p.errAt(p.tok.pos, "expected %s, found %s", what, p.found())
	}
	return p.errAt(p.tok.pos, "expected %s after %s, found %s", what, quoteTail(after), p.found())
}

// cannotContinue reports a lookahead that neither continues the expression
// nor ends it at the top level.
func (p *parser) cannotContinue() *Error {
	switch p.tok.kind {
	case tRParen:
		return p.errAt(p.tok.pos, `")" has no matching "("`)
	case tRBrace:
		return p.errAt(p.tok.pos, `"}" has no matching "{"`)
	}
	return p.expected("AND, OR or the end of the expression", -1)
}

// closing checks that the lookahead closes the group opened at open, and
// consumes it.
func (p *parser) closing(open token, closer tokKind, closeText string) *Error {
	if p.tok.kind == closer {
		p.next()
		return nil
	}
	switch p.tok.kind {
	case tEOF, tRParen, tRBrace:
		return p.expected(fmt.Sprintf("%q to close %q at column %d", closeText, p.src[open.pos:open.end],
			newError(p.src, open.pos, "").Column), -1)
	}
	return p.expected(fmt.Sprintf("AND, OR or %q", closeText), -1)
}

func (p *parser) enter() *Error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.tok.pos, "expression is nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseOr() (*node, *Error) {
	left, err := p.parseAnd()
	for err == nil && p.isWord("or") {
		ctx := p.tok.pos
		p.next()
		if !p.startsTerm() {
			return nil, p.expected("a filter term", ctx)
		}
		var right *node
		if right, err = p.parseAnd(); err == nil {
			left = join(kOr, left, right)
		}
	}
	return left, err
}

func (p *parser) parseAnd() (*node, *Error) {
	left, err := p.parseUnary()
	for err == nil {
		if p.isWord("and") {
			ctx := p.tok.pos
			p.next()
			if !p.startsTerm() {
				return nil, p.expected("a filter term", ctx)
			}
		} else if !p.startsTerm() {
			break // juxtaposition is AND only when a term follows
		}
		var right *node
		if right, err = p.parseUnary(); err == nil {
			left = join(kAnd, left, right)
		}
	}
	return left, err
}

// join makes l AND r (or l OR r), flattening operands of the same kind so
// that the tree, and so the printed form, does not depend on parentheses
// that change nothing.
func join(k kind, l, r *node) *node {
	if l.kind != k {
		l = &node{kind: k, kids: []*node{l}}
	}
	if r.kind == k {
		l.kids = append(l.kids, r.kids...)
	} else {
		l.kids = append(l.kids, r)
	}
	return l
}

func (p *parser) parseUnary() (*node, *Error) {
	if p.tok.kind != tBang && !p.isWord("not") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	ctx := p.tok.pos
	p.next()
	if !p.startsTerm() {
		return nil, p.expected("a filter term", ctx)
	}
	kid, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &node{kind: kNot, kids: []*node{kid}}, nil
}

func (p *parser) parsePrimary() (*node, *Error) {
	if p.tok.kind == tWord {
		return p.parseTerm()
	}
	if p.tok.kind != tLParen {
		return nil, p.expected("a filter term", -1)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	open := p.tok
	p.next()
	if !p.startsTerm() {
		return nil, p.expected("a filter expression", open.pos)
	}
	n, err := p.parseOr()
	if err == nil {
		err = p.closing(open, tRParen, ")")
	}
	return n, err
}

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
