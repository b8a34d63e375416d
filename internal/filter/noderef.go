package filter

import "github.com/counterspy/counterspy/internal/summary"

// NodeRef identifies service-graph nodes, as service("name") and
// id(name:, type:, account.id:) do. Every field that is set must match, so
// the zero NodeRef (service()) matches every node.
type NodeRef struct {
	// Name matches the node's Name or any of its Names, exactly.
	Name      string
	Type      string
	AccountID string
}

// IsZero reports whether r matches every node.
func (r NodeRef) IsZero() bool { return r == NodeRef{} }

// Match reports whether n is one of the nodes r identifies.
func (r NodeRef) Match(n *summary.Node) bool {
	return (r.Name == "" || hasName(n, r.Name)) &&
		(r.Type == "" || n.Type == r.Type) &&
		(r.AccountID == "" || n.AccountID == r.AccountID)
}

// MatchClient reports whether r identifies the implicit client node that
// calls entry, the trace's entry-point service. X-Ray names the client after
// that service and types it "client"; only a reference that asks for that
// type matches it, so that edge("api", "api") does not mean client → api.
func (r NodeRef) MatchClient(entry *summary.Node) bool {
	return r.Type == "client" && r.AccountID == "" &&
		(r.Name == "" || entry != nil && hasName(entry, r.Name))
}

func hasName(n *summary.Node, name string) bool {
	if n.Name == name {
		return true
	}
	for _, s := range n.Names {
		if s == name {
			return true
		}
	}
	return false
}
