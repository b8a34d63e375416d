// Package filter implements X-Ray filter expressions: the language of
// GetTraceSummaries.FilterExpression and group definitions, and the entity
// selectors of GetTimeSeriesServiceStatistics.
//
// Parse turns an expression into an Expr; Expr.Match evaluates it against a
// trace's summary.Summary without allocating; Expr.Necessary tells a query
// planner what every matching trace has; Expr.String prints the canonical
// form, which parses back to the same expression.
//
// The grammar is that of X-Ray's filter expressions
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html). Where AWS documents nothing, this
// package decides as follows.
//
// Syntax
//   - Keywords, AND, OR, NOT, CONTAINS, BEGINSWITH, ENDSWITH, true and false
//     are case-insensitive; annotation keys, names and values are not.
//   - Precedence: ! (and NOT) > comparison > AND (explicit, or implicit by
//     juxtaposition) > OR. A ! applies to the whole term after it, so
//     !http.status = 200 is !(http.status = 200).
//   - A string value may be bare on the right-hand side of a comparison: a
//     word (name = traces, name = my-service:v2) or a run that starts with a
//     digit (account.id = 123456789012, http.clientip = 10.0.0.1), taken as
//     written. AND, OR, NOT, true, false and the string operators must be
//     quoted to be used as values. An annotation's bare number is a number,
//     except after CONTAINS, BEGINSWITH or ENDSWITH. Strings escape \" and
//     \\; a backslash before any other character stands for that character.
//   - annotation.KEY takes letters, digits, _, ., : and -; annotation[KEY]
//     takes the same or any quoted string.
//   - An empty expression, and an empty block { }, match everything.
//   - rootcause.X.Y may omit its block: it then means "the list has an entry".
//   - Columns in errors count runes from 1, over the whole expression.
//
// Types
//   - Boolean keywords take = and != with true or false; number keywords the
//     six comparisons with a number; string keywords =, !=, CONTAINS,
//     BEGINSWITH, ENDSWITH with a string, or nothing (the field is set).
//   - An annotation compares with a value of its own type only: a number with
//     the six comparisons, a string with the string operators and with <, <=,
//     >, >= (byte-wise order), a boolean with = and !=. A value of another
//     type never satisfies the comparison: annotation.n = 5 does not match
//     the string "5".
//
// Evaluation
//   - Trace-level ok, error, fault, responsetime and http.* describe the entry
//     segment; ok is "neither fault nor error". throttle is any segment's
//     flag, partial any in-progress or unresolved segment, inferred any
//     inferred segment, duration the whole trace.
//   - user, availabilityzone, instance.id, resource.arn and annotations are
//     multi-valued: a comparison holds when some value satisfies it, and !=
//     holds when no value equals the operand. An absent field (empty string,
//     http.status 0) has no value: comparisons are false, != is true, a bare
//     keyword is false. http.status 0 is absent; responsetime and duration are
//     always present.
//   - service(ref) { f } holds when some node matches ref and f holds for it;
//     inside, flags, responsetime, http.*, partial, inferred and root describe
//     that node's own requests, user and annotation.* the values that node
//     set, name is any of its names. The implicit client node is not a
//     service.
//   - edge(a, b) { f } holds when some edge from a node matching a to one
//     matching b satisfies f, from the caller's view. The client end of an
//     entry edge is matched only by id(type: "client"), optionally with the
//     entry service's name.
//   - A name in service("x"), edge() or id(name:) matches a node's Name or any
//     of its Names, exactly. Empty names are rejected.
//   - rootcause.K.service { f }, .entity { f } and .exception { f } hold when
//     some element of some root cause in the K list satisfies f. Elements are
//     enumerated per root cause: services in path order; entities of all the
//     root cause's services, in path order (so last is the culprit entity);
//     exceptions of all those entities. index is the 0-based position in that
//     enumeration, first is index 0, last the final element. Inside an entity
//     block, type, account.id and inferred describe the entity's service and
//     message any of its exceptions; inside an exception block, name is the
//     exception type and remote the entity's flag.
//   - rootcause.json = #[...] holds when the pattern matches one of the
//     trace's three root-cause lists, in X-Ray's JSON shape. Objects match
//     when every field given matches (omitted fields and null are
//     wildcards; field names are case-insensitive); arrays match when the
//     given elements match distinct elements of the actual array in the same
//     order (a subsequence), so a trimmed copy of an EntityPath still matches.
//     Scalars match exactly.
//   - group.name = "G" is replaced by G's expression at parse time
//     (Options.Group); "Default" always matches everything.
package filter
