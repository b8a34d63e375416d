package filter

import (
	"strconv"
	"strings"
)

// String returns the canonical form of e: lower-case keywords, upper-case
// operators, quoted strings, flattened AND/OR with the parentheses the
// precedence needs. Parsing it (with the same Options) gives back e.
func (e *Expr) String() string {
	if e.root == nil {
		return ""
	}
	var b strings.Builder
	e.root.print(&b)
	return b.String()
}

func (n *node) print(b *strings.Builder) {
	switch n.kind {
	case kAnd, kOr:
		sep := " AND "
		if n.kind == kOr {
			sep = " OR "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.printOperand(b, n.kind == kAnd && k.kind == kOr)
		}
	case kNot:
		b.WriteByte('!')
		k := n.kids[0]
		// Parentheses are needed around AND and OR, and read better around
		// a comparison: !(http.status = 200).
		k.printOperand(b, k.kind == kAnd || k.kind == kOr || k.kind == kJSON ||
			k.op != opExists && k.kind != kNot && k.kind != kBool)
	case kTrue:
		// Only inside a group, which prints its reference instead.
	case kBool:
		b.WriteString(n.kw.String())
		if !n.b {
			b.WriteString(" = false")
		}
	case kNum:
		b.WriteString(n.kw.String())
		printOp(b, n.op)
		b.WriteString(formatNumber(n.num))
	case kStr:
		b.WriteString(n.kw.String())
		if n.op != opExists {
			printOp(b, n.op)
			b.WriteString(quoteString(n.str))
		}
	case kAnn:
		printAnnotationKey(b, n.key)
		if n.op != opExists {
			printOp(b, n.op)
			printValue(b, n)
		}
	case kService:
		b.WriteString("service(")
		if !n.from.IsZero() {
			n.from.print(b)
		}
		b.WriteByte(')')
		printBlock(b, n.block(), false)
	case kEdge:
		b.WriteString("edge(")
		n.from.print(b)
		b.WriteString(", ")
		n.to.print(b)
		b.WriteByte(')')
		printBlock(b, n.block(), false)
	case kRootCause:
		b.WriteString("rootcause." + rcListNames[n.list] + "." + rcTargetNames[n.target])
		printBlock(b, n.block(), true)
	case kJSON:
		b.WriteString("rootcause.json = #")
		printPatterns(b, n.pattern)
	case kGroup:
		if n.arn {
			b.WriteString("group.arn")
		} else {
			b.WriteString("group.name")
		}
		printOp(b, n.op)
		b.WriteString(quoteString(n.key))
	}
}

func (n *node) printOperand(b *strings.Builder, parens bool) {
	if parens {
		b.WriteByte('(')
	}
	n.print(b)
	if parens {
		b.WriteByte(')')
	}
}

func printOp(b *strings.Builder, o op) {
	b.WriteByte(' ')
	b.WriteString(opNames[o])
	b.WriteByte(' ')
}

// printBlock prints " { ... }"; rootcause blocks print an empty one, as the
// grammar asks for one.
func printBlock(b *strings.Builder, block *node, always bool) {
	switch {
	case block != nil:
		b.WriteString(" { ")
		block.print(b)
		b.WriteString(" }")
	case always:
		b.WriteString(" {}")
	}
}

func (r ref) print(b *strings.Builder) {
	if !r.id {
		b.WriteString(quoteString(r.Name))
		return
	}
	b.WriteString("id(")
	sep := ""
	for _, f := range [...]struct{ name, v string }{{"name", r.Name}, {"type", r.Type}, {"account.id", r.AccountID}} {
		if f.v != "" {
			b.WriteString(sep + f.name + ": " + quoteString(f.v))
			sep = ", "
		}
	}
	b.WriteByte(')')
}

// printAnnotationKey uses the dotted form for plain keys and the bracket
// form with a quoted key for any other.
func printAnnotationKey(b *strings.Builder, key string) {
	plain := key != ""
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isLetter(c) && !isDigit(c) {
			plain = false
		}
	}
	if plain {
		b.WriteString("annotation." + key)
		return
	}
	b.WriteString("annotation[" + quoteString(key) + "]")
}

func printValue(b *strings.Builder, n *node) {
	switch n.typ {
	case tyNumber:
		b.WriteString(formatNumber(n.num))
	case tyBool:
		b.WriteString(strconv.FormatBool(n.b))
	default:
		b.WriteString(quoteString(n.str))
	}
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// quoteString quotes s with the language's only escapes, \" and \\.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
