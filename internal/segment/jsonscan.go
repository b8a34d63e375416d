package segment

import "github.com/counterspy/counterspy/internal/jsonlex"

// Byte-level questions about documents, answered with the project's one
// lexer with byte offsets (package jsonlex): fastjson's parse tree keeps no
// offsets.

type span struct{ start, end int }

// splitArray returns the byte span of each element of the JSON array doc,
// which fastjson validated, so every element of an array document can keep
// its exact bytes as Raw.
func splitArray(doc []byte, spans []span) []span {
	jsonlex.WalkArray(doc, jsonlex.SkipWS(doc, 0), func(start int) (int, error) {
		end := jsonlex.SkipValid(doc, start)
		spans = append(spans, span{start, end})
		return end, nil
	})
	return spans
}

// trimSpace drops the JSON whitespace around doc.
func trimSpace(doc []byte) []byte {
	i := jsonlex.SkipWS(doc, 0)
	j := len(doc)
	for j > i && (doc[j-1] == ' ' || doc[j-1] == '\t' || doc[j-1] == '\n' || doc[j-1] == '\r') {
		j--
	}
	return doc[i:j]
}

// controlInString reports whether a string (key or value) of the JSON doc,
// which fastjson validated, holds a raw control character, which JSON
// forbids. (A string the strict lexer rejects for another reason counts too:
// the document could not be read back.)
func controlInString(doc []byte) bool {
	for i := 0; i < len(doc); i++ {
		if doc[i] != '"' {
			continue
		}
		end, _, err := jsonlex.ScanString(doc, i)
		if err != nil {
			return true
		}
		i = end - 1
	}
	return false
}

// depthOffset returns the offset of the first bracket that opens nesting level
// limit+1, or -1 if doc never nests that deep (or a string before it is not
// valid JSON).
func depthOffset(doc []byte, limit int) int {
	depth := 0
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			end, _, err := jsonlex.ScanString(doc, i)
			if err != nil {
				return -1
			}
			i = end - 1
		case '{', '[':
			depth++
			if depth > limit {
				return i
			}
		case '}', ']':
			depth--
		}
	}
	return -1
}
