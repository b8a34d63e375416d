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
