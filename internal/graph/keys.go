package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ClientType is the Type of client nodes: the callers of a trace's entry
// service, named after that service (X-Ray's convention).
const ClientType = "client"

// NodeID is a service identity: one node of the graph.
type NodeID struct {
	Name, Type, AccountID string
}

// IsClient reports whether n is a client node.
func (n NodeID) IsClient() bool { return n.Type == ClientType }

// Key is a decoded counter key: a node, or an edge.
type Key struct {
	Edge bool
	// Node is the node of a node key.
	Node NodeID
	// From and To are an edge's caller and callee; From is a client node
	// for the calls that enter a trace.
	From, To NodeID
	// Link marks an asynchronous link edge (span links: SQS → consumer).
	Link bool
	// Aliases are the names the caller used for the callee that differ
	// from its name, sorted and unique.
	Aliases []string
}

// Key encodings (persisted: never change one; add a new kind byte
// instead). After the kind byte, strings are uvarint length + bytes.
const (
	kindNode     = 'n' // name, type, account
	kindEdge     = 'e' // from (name, type, account), to (...), alias count, aliases
	kindLinkEdge = 'l' // as kindEdge, for link edges
)

// NodeKey encodes a node's counter key.
func NodeKey(n NodeID) string {
	b := make([]byte, 0, 4+len(n.Name)+len(n.Type)+len(n.AccountID))
	b = append(b, kindNode)
	return string(appendNode(b, n))
}

// EdgeKey encodes an edge's counter key. aliases need not be sorted; empty
// ones and duplicates are dropped.
func EdgeKey(from, to NodeID, link bool, aliases []string) string {
	b := make([]byte, 0, 16+len(from.Name)+len(from.Type)+len(from.AccountID)+len(to.Name)+len(to.Type)+len(to.AccountID))
	return string(appendEdge(b, from, to, link, aliases))
}

func appendEdge(b []byte, from, to NodeID, link bool, aliases []string) []byte {
	kind := byte(kindEdge)
	if link {
		kind = kindLinkEdge
	}
	b = append(b, kind)
	b = appendNode(b, from)
	b = appendNode(b, to)
	als := normAliases(aliases)
	b = binary.AppendUvarint(b, uint64(len(als)))
	for _, a := range als {
		b = appendStr(b, a)
	}
	return b
}

// normAliases returns aliases sorted, unique and without empty names,
// reusing aliases when it already is.
func normAliases(aliases []string) []string {
	ok := true
	for i, a := range aliases {
		if a == "" || i > 0 && aliases[i-1] >= a {
			ok = false
			break
		}
	}
	if ok {
		return aliases
	}
	out := make([]string, 0, len(aliases))
	for _, a := range aliases {
		if a != "" {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func appendNode(b []byte, n NodeID) []byte {
	b = appendStr(b, n.Name)
	b = appendStr(b, n.Type)
	return appendStr(b, n.AccountID)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ParseKey decodes a key made by NodeKey or EdgeKey.
func ParseKey(s string) (Key, error) {
	var k Key
	if s == "" {
		return k, errors.New("graph key: empty")
	}
	d := keyDecoder{s: s, pos: 1}
	switch s[0] {
	case kindNode:
		k.Node = d.node()
	case kindEdge, kindLinkEdge:
		k.Edge, k.Link = true, s[0] == kindLinkEdge
		k.From, k.To = d.node(), d.node()
		n := d.uvarint()
		if d.err == nil && n > uint64(len(s)) {
			d.fail("alias count")
		}
		if d.err == nil && n > 0 {
			k.Aliases = make([]string, 0, n)
			for range n {
				k.Aliases = append(k.Aliases, d.str())
			}
		}
	default:
		return k, fmt.Errorf("graph key %q: unknown kind %q", abbreviate(s), s[0])
	}
	if d.err == nil && d.pos != len(s) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return Key{}, d.err
	}
	return k, nil
}

type keyDecoder struct {
	s   string
	pos int
	err error
}

func (d *keyDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("graph key %q: bad %s at byte %d", abbreviate(d.s), what, d.pos)
	}
}

func (d *keyDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.pos >= len(d.s) {
			d.fail("length")
			return 0
		}
		c := d.s[d.pos]
		d.pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if c == 0 && shift > 0 {
				break // not the shortest encoding: keys have one form
			}
			return v
		}
	}
	d.fail("length")
	return 0
}

func (d *keyDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.pos) {
		d.fail("string")
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

func (d *keyDecoder) node() NodeID {
	return NodeID{Name: d.str(), Type: d.str(), AccountID: d.str()}
}

func abbreviate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
