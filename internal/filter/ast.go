package filter

import "github.com/counterspy/counterspy/internal/summary"

// kind is what a node of the syntax tree is.
type kind uint8

const (
	kAnd kind = iota + 1
	kOr
	kNot
	kTrue      // the Default group: matches everything
	kBool      // boolean keyword compared with n.b
	kNum       // number keyword compared with n.num
	kStr       // string keyword compared with n.str, or set (opExists)
	kAnn       // annotation n.key set, or compared with a typed value
	kService   // service(n.from) with an optional block in kids
	kEdge      // edge(n.from, n.to) with an optional block in kids
	kRootCause // rootcause.n.list.n.target with an optional block in kids
	kJSON      // rootcause.json = #n.pattern
	kGroup     // group reference; kids[0] is the group's expression
)

// op is a comparison operator; opExists is a bare keyword.
type op uint8

const (
	opExists op = iota
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
	opBeginsWith
	opEndsWith
)

var opNames = [...]string{"", "=", "!=", "<", "<=", ">", ">=", "CONTAINS", "BEGINSWITH", "ENDSWITH"}

func (o op) ordered() bool  { return o >= opLt && o <= opGe }
func (o op) stringOp() bool { return o >= opContains }

// valueType is the type of a keyword or of an annotation operand.
type valueType uint8

const (
	tyNone valueType = iota
	tyBool
	tyNumber
	tyString
)

// rcList says which root-cause list a rootcause block iterates.
type rcList uint8

const (
	rcFault rcList = iota
	rcError
	rcResponseTime
)

var rcListNames = [...]string{"fault", "error", "responsetime"}

// rcTarget says which elements of a root cause a rootcause block iterates.
type rcTarget uint8

const (
	rcService rcTarget = iota
	rcEntity
	rcException
)

var rcTargetNames = [...]string{"service", "entity", "exception"}

// node is one node of the syntax tree. It is a tagged union rather than an
// interface so that evaluation is one switch with no dynamic calls, which
// keeps Match free of allocations (see eval.go).
type node struct {
	kind kind
	kw   keyword // kBool, kNum, kStr
	op   op      // kNum, kStr, kAnn, kGroup (opEq or opNe)

	// The operand: b for kBool; typ tells which of str, num, b holds an
	// annotation's operand.
	typ valueType
	str string
	num float64
	b   bool

	key string // kAnn: the annotation key; kGroup: the group name or ARN
	arn bool   // kGroup: key is an ARN (group.arn)

	from, to ref // kService (from only), kEdge

	list   rcList   // kRootCause
	target rcTarget // kRootCause

	pattern []rcPattern // kJSON

	// kAnd, kOr: the operands (never nested in a node of the same kind);
	// kNot, kGroup: one; kService, kEdge, kRootCause: the block, if not empty.
	kids []*node
}

// ref is a node reference in service() or edge(): a quoted name or id().
type ref struct {
	NodeRef
	id bool // written as id(...), for printing
}

// block returns n's block, or nil when it has none.
func (n *node) block() *node {
	if len(n.kids) == 0 {
		return nil
	}
	return n.kids[0]
}

// rootCauses returns the list a rootcause block iterates.
func rootCauses(s *summary.Summary, l rcList) []summary.RootCause {
	switch l {
	case rcFault:
		return s.FaultRootCauses
	case rcError:
		return s.ErrorRootCauses
	}
	return s.ResponseTimeRootCauses
}
