package filter

import (
	"fmt"
	"strings"
)

// parseBlock parses an optional { ... } evaluated in scope sc; an empty
// block is no block.
func (p *parser) parseBlock(sc scopeKind, label string) (*node, *Error) {
	if p.tok.kind != tLBrace {
		return nil, nil
	}
	if p.selector {
		return nil, p.errAt(p.tok.pos, "an entity selector takes no { } block")
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	open := p.tok
	p.next()
	if p.tok.kind == tRBrace {
		p.next()
		return nil, nil
	}
	if !p.startsTerm() {
		return nil, p.expected(`a filter expression or "}"`, open.pos)
	}
	outerScope, outerLabel := p.scope, p.label
	p.scope, p.label = sc, label
	n, err := p.parseOr()
	p.scope, p.label = outerScope, outerLabel
	if err == nil {
		err = p.closing(open, tRBrace, "}")
	}
	return n, err
}

func withBlock(n, block *node) *node {
	if block != nil {
		n.kids = []*node{block}
	}
	return n
}

// expectPunct consumes a punctuation token or reports what it follows.
func (p *parser) expectPunct(k tokKind, text string, ctx int) *Error {
	if p.tok.kind != k {
		return p.expected(fmt.Sprintf("%q", text), ctx)
	}
	p.next()
	return nil
}

func (p *parser) parseService() (*node, *Error) {
	if err := p.checkTraceScope("service()"); err != nil {
		return nil, err
	}
	ctx := p.tok.pos
	p.next()
	if err := p.expectPunct(tLParen, "(", ctx); err != nil {
		return nil, err
	}
	n := &node{kind: kService}
	if p.tok.kind != tRParen {
		var err *Error
		if n.from, err = p.parseRef(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.expectPunct(tRParen, ")", ctx); err != nil {
		return nil, err
	}
	block, err := p.parseBlock(scNode, "service() { }")
	return withBlock(n, block), err
}

func (p *parser) parseEdge() (*node, *Error) {
	if err := p.checkTraceScope("edge()"); err != nil {
		return nil, err
	}
	ctx := p.tok.pos
	p.next()
	n := &node{kind: kEdge}
	err := p.expectPunct(tLParen, "(", ctx)
	if err == nil {
		n.from, err = p.parseRef(ctx)
	}
	if err == nil {
		err = p.expectPunct(tComma, ",", ctx)
	}
	if err == nil {
		n.to, err = p.parseRef(ctx)
	}
	if err == nil {
		err = p.expectPunct(tRParen, ")", ctx)
	}
	if err != nil {
		return nil, err
	}
	block, err := p.parseBlock(scEdge, "edge() { }")
	return withBlock(n, block), err
}

// parseRef parses a quoted service name or id(...).
func (p *parser) parseRef(ctx int) (ref, *Error) {
	switch {
	case p.tok.kind == tString:
		if p.tok.str == "" {
			return ref{}, p.errAt(p.tok.pos, "a service name must not be empty")
		}
		r := ref{NodeRef: NodeRef{Name: p.tok.str}}
		p.next()
		return r, nil
	case p.isWord("id"):
		return p.parseID()
	}
	return ref{}, p.expected("a quoted service name or id(...)", ctx)
}

// parseID parses id(name: "...", type: "...", account.id: "...") with any
// non-empty subset of the arguments, in any order.
func (p *parser) parseID() (ref, *Error) {
	ctx := p.tok.pos
	p.next()
	if err := p.expectPunct(tLParen, "(", ctx); err != nil {
		return ref{}, err
	}
	r := ref{id: true}
	for {
		arg := strings.ToLower(p.tok.str)
		var field *string
		switch {
		case p.tok.kind != tWord:
		case arg == "name":
			field = &r.Name
		case arg == "type":
			field = &r.Type
		case arg == "account.id":
			field = &r.AccountID
		}
		if field == nil {
			return ref{}, p.expected("name:, type: or account.id:", ctx)
		}
		if *field != "" {
			return ref{}, p.errAt(p.tok.pos, "%s: is given twice in id()", arg)
		}
		argPos := p.tok.pos
		p.next()
		if err := p.expectPunct(tColon, ":", ctx); err != nil {
			return ref{}, err
		}
		if p.tok.kind != tString {
			return ref{}, p.expected("a quoted string", ctx)
		}
		if p.tok.str == "" {
			return ref{}, p.errAt(argPos, "%s: must not be empty", arg)
		}
		*field = p.tok.str
		p.next()
		if p.tok.kind != tComma {
			break
		}
		p.next()
	}
	return r, p.expectPunct(tRParen, ")", ctx)
}

func (p *parser) parseAnnotation() (*node, *Error) {
	if p.scope != scTrace && p.scope != scNode {
		return nil, p.errAt(p.tok.pos, "annotations cannot be used inside %s", p.label)
	}
	ctx := p.tok.pos
	var key string
	if len(p.tok.str) > len("annotation") {
		// annotation.KEY: take the loose characters a word stops at (aws:x).
		p.tok = scanLoose(p.src, p.tok.pos)
		key = p.tok.str[len("annotation."):]
		if key == "" {
			return nil, p.errAt(p.tok.end, "expected an annotation key after %q", p.tok.str)
		}
		p.next()
	} else {
		p.next()
		if p.tok.kind != tLBracket {
			return nil, p.expected(`"." or "[" and an annotation key`, ctx)
		}
		p.next()
		switch p.tok.kind {
		case tString, tRBracket:
			if key = p.tok.str; key == "" || p.tok.kind == tRBracket {
				return nil, p.errAt(p.tok.pos, "an annotation key must not be empty")
			}
		default:
			t := scanLoose(p.src, p.tok.pos)
			if t.str == "" {
				return nil, p.expected("an annotation key", ctx)
			}
			p.tok, key = t, t.str
		}
		p.next()
		if err := p.expectPunct(tRBracket, "]", ctx); err != nil {
			return nil, err
		}
	}
	n := &node{kind: kAnn, key: key}
	o, isOp := p.peekOp()
	if !isOp {
		return n, nil
	}
	n.op = o
	p.next()
	return n, p.annotationValue(n, ctx)
}

// annotationValue parses the operand of an annotation comparison: its type
// decides which values the comparison can match, and which operators apply.
func (p *parser) annotationValue(n *node, ctx int) *Error {
	isBool := p.isWord("true") || p.isWord("false")
	switch {
	case p.tok.kind == tNumber && !n.op.stringOp():
		n.typ, n.num = tyNumber, p.tok.num
	case isBool && (n.op == opEq || n.op == opNe):
		n.typ, n.b = tyBool, p.isWord("true")
	case p.tok.kind == tString || p.tok.kind == tWord && !isBool || p.tok.kind == tNumber:
		s, err := p.stringValue(ctx)
		n.typ, n.str = tyString, s
		return err
	case n.op.stringOp():
		return p.expected("a string", ctx)
	case n.op.ordered():
		return p.expected("a number or a string", ctx)
	default:
		return p.expected("a string, a number, true or false", ctx)
	}
	p.next()
	return nil
}

// rootcause.KIND.TARGET
var (
	rcListByName   = map[string]rcList{"fault": rcFault, "error": rcError, "responsetime": rcResponseTime}
	rcTargetByName = map[string]rcTarget{"service": rcService, "entity": rcEntity, "exception": rcException}
)

func (p *parser) parseRootCause() (*node, *Error) {
	word := strings.ToLower(p.tok.str)
	parts := strings.Split(word, ".")
	var (
		l, okL = rcListByName[parts[min(1, len(parts)-1)]]
		t, okT = rcTargetByName[parts[len(parts)-1]]
	)
	if len(parts) != 3 || !okL || !okT {
		return nil, p.errAt(p.tok.pos, "unknown keyword %s; expected rootcause.fault, rootcause.error or "+
			"rootcause.responsetime followed by .service, .entity or .exception, or rootcause.json", quote(p.tok.str))
	}
	if l == rcResponseTime && t == rcException {
		return nil, p.errAt(p.tok.pos, "response-time root causes have no exceptions; "+
			"use rootcause.fault.exception or rootcause.error.exception")
	}
	if err := p.checkTraceScope(word); err != nil {
		return nil, err
	}
	sc := scRCService
	switch {
	case t == rcException:
		sc = scRCException
	case t == rcEntity && l == rcResponseTime:
		sc = scRCTimeEntity
	case t == rcEntity:
		sc = scRCEntity
	}
	p.next()
	block, err := p.parseBlock(sc, word+" { }")
	return withBlock(&node{kind: kRootCause, list: l, target: t}, block), err
}

func (p *parser) parseGroup() (*node, *Error) {
	w := strings.ToLower(p.tok.str)
	if err := p.checkTraceScope(w); err != nil {
		return nil, err
	}
	ctx := p.tok.pos
	n := &node{kind: kGroup, arn: strings.HasSuffix(w, "arn")}
	p.next()
	o, isOp := p.peekOp()
	if !isOp || o != opEq && o != opNe {
		return nil, p.expected(boolOps, ctx)
	}
	n.op = o
	p.next()
	name, err := p.stringValue(ctx)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, p.errAt(ctx, "a group name must not be empty")
	}
	n.key = name
	kid, err := p.expandGroup(name, n.arn, ctx)
	if err != nil {
		return nil, err
	}
	n.kids = []*node{kid}
	return n, nil
}

// expandGroup parses the expression of the group a reference at pos names.
func (p *parser) expandGroup(name string, arn bool, pos int) (*node, *Error) {
	if !arn && name == "Default" {
		return &node{kind: kTrue}, nil
	}
	g := p.groups
	for i, s := range g.stack {
		if s == name {
			path := strings.Join(append(g.stack[i:len(g.stack):len(g.stack)], name), " -> ")
			return nil, p.errAt(pos, "group %q refers to itself (%s)", name, path)
		}
	}
	if g.expansions++; g.expansions > maxGroupExpansions {
		return nil, p.errAt(pos, "too many group references (more than %d, counting those inside groups)", maxGroupExpansions)
	}
	var expr string
	ok := false
	if p.opts.Group != nil {
		expr, ok = p.opts.Group(name)
	}
	if !ok {
		return nil, p.errAt(pos, "unknown group %q", name)
	}
	g.stack = append(g.stack, name)
	kid, err := parse(expr, p.opts, g)
	g.stack = g.stack[:len(g.stack)-1]
	if err != nil {
		return nil, p.errAt(pos, "group %q has an invalid filter expression: column %d: %s", name, err.Column, err.Msg)
	}
	if kid == nil {
		kid = &node{kind: kTrue}
	}
	return kid, nil
}
