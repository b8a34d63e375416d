package filter

// keyword is a simple (boolean, number or string) keyword.
type keyword uint8

const (
	kwOK keyword = iota + 1
	kwError
	kwFault
	kwThrottle
	kwPartial
	kwInferred
	kwRoot
	kwFirst
	kwLast
	kwRemote
	kwResponseTime
	kwDuration
	kwHTTPStatus
	kwIndex
	kwCoverage
	kwHTTPURL
	kwHTTPMethod
	kwHTTPUserAgent
	kwHTTPClientIP
	kwUser
	kwName
	kwType
	kwMessage
	kwAvailabilityZone
	kwInstanceID
	kwResourceARN
	kwAccountID
	numKeywords
)

// scopeKind is where an expression is evaluated: the trace, or inside a
// block. Entity blocks of response-time root causes are a scope of their own
// because they have coverage and no exceptions.
type scopeKind uint8

const (
	scTrace scopeKind = iota
	scNode
	scEdge
	scRCService
	scRCEntity
	scRCTimeEntity
	scRCException
)

// scopes is a set of scopeKinds.
type scopes uint8

func in(ks ...scopeKind) scopes {
	var s scopes
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s scopes) has(k scopeKind) bool { return s&(1<<k) != 0 }

var (
	rcAll      = in(scRCService, scRCEntity, scRCTimeEntity, scRCException)
	rcEntities = in(scRCEntity, scRCTimeEntity)
)

type keywordInfo struct {
	name   string // canonical (lower-case) spelling
	typ    valueType
	scopes scopes
	// where completes "can only be used inside ..." for keywords that are
	// not valid at the trace level.
	where string
}

var keywordTable = [numKeywords]keywordInfo{
	kwOK:               {"ok", tyBool, in(scTrace, scNode, scEdge), ""},
	kwError:            {"error", tyBool, in(scTrace, scNode, scEdge), ""},
	kwFault:            {"fault", tyBool, in(scTrace, scNode, scEdge), ""},
	kwThrottle:         {"throttle", tyBool, in(scTrace, scNode, scEdge), ""},
	kwPartial:          {"partial", tyBool, in(scTrace, scNode, scEdge), ""},
	kwInferred:         {"inferred", tyBool, in(scTrace, scNode, scRCService) | rcEntities, ""},
	kwRoot:             {"root", tyBool, in(scNode), "service() { }"},
	kwFirst:            {"first", tyBool, rcAll, "a rootcause block"},
	kwLast:             {"last", tyBool, rcAll, "a rootcause block"},
	kwRemote:           {"remote", tyBool, rcEntities | in(scRCException), "a rootcause entity or exception block"},
	kwResponseTime:     {"responsetime", tyNumber, in(scTrace, scNode, scEdge), ""},
	kwDuration:         {"duration", tyNumber, in(scTrace), ""},
	kwHTTPStatus:       {"http.status", tyNumber, in(scTrace, scNode, scEdge), ""},
	kwIndex:            {"index", tyNumber, rcAll, "a rootcause block"},
	kwCoverage:         {"coverage", tyNumber, in(scRCTimeEntity), "rootcause.responsetime.entity { }"},
	kwHTTPURL:          {"http.url", tyString, in(scTrace, scNode, scEdge), ""},
	kwHTTPMethod:       {"http.method", tyString, in(scTrace, scNode, scEdge), ""},
	kwHTTPUserAgent:    {"http.useragent", tyString, in(scTrace, scNode, scEdge), ""},
	kwHTTPClientIP:     {"http.clientip", tyString, in(scTrace, scNode, scEdge), ""},
	kwUser:             {"user", tyString, in(scTrace, scNode), ""},
	kwName:             {"name", tyString, in(scNode) | rcAll, "service() { } or a rootcause block"},
	kwType:             {"type", tyString, in(scNode, scRCService) | rcEntities, "service() { } or a rootcause block"},
	kwMessage:          {"message", tyString, in(scRCEntity, scRCException), "a rootcause.fault or rootcause.error entity or exception block"},
	kwAvailabilityZone: {"availabilityzone", tyString, in(scTrace), ""},
	kwInstanceID:       {"instance.id", tyString, in(scTrace), ""},
	kwResourceARN:      {"resource.arn", tyString, in(scTrace), ""},
	kwAccountID:        {"account.id", tyString, in(scNode, scRCService) | rcEntities, "service() { } or a rootcause block"},
}

// keywordByName maps the lower-case spelling of every simple keyword.
var keywordByName = func() map[string]keyword {
	m := make(map[string]keyword, numKeywords)
	for k := kwOK; k < numKeywords; k++ {
		m[keywordTable[k].name] = k
	}
	return m
}()

func (k keyword) String() string { return keywordTable[k].name }

// typeName names a value type in error messages.
func (t valueType) String() string {
	switch t {
	case tyBool:
		return "boolean"
	case tyNumber:
		return "number"
	case tyString:
		return "string"
	}
	return "untyped"
}
