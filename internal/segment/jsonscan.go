package segment

// Byte-level helpers for documents that already passed validation: fastjson's
// parse tree keeps no offsets, and these answer the two questions that need
// them.

type span struct{ start, end int }

// splitArray returns the byte span of each element of the JSON array doc, so
// every element of an array document can keep its exact bytes as Raw.
func splitArray(doc []byte, spans []span) []span {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '[' {
		return spans
	}
	i = skipSpace(doc, i+1)
	if i < len(doc) && doc[i] == ']' {
		return spans
	}
	for i < len(doc) {
		end := skipValue(doc, i)
		spans = append(spans, span{i, end})
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ',' {
			break
		}
		i = skipSpace(doc, i+1)
	}
	return spans
}

// skipValue returns the offset just past the value starting at i.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return i
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i) + 1
	case '{', '[':
		depth := 0
		for ; i < len(doc); i++ {
			switch doc[i] {
			case '"':
				i = skipString(doc, i)
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	// A number or a literal runs to the next delimiter.
	for ; i < len(doc); i++ {
		switch doc[i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// skipString returns the offset of the quote closing the string opened at i.
func skipString(doc []byte, i int) int {
	for i++; i < len(doc); i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return i
}

// trimSpace drops the JSON whitespace around doc.
func trimSpace(doc []byte) []byte {
	i := skipSpace(doc, 0)
	j := len(doc)
	for j > i && (doc[j-1] == ' ' || doc[j-1] == '\t' || doc[j-1] == '\n' || doc[j-1] == '\r') {
		j--
	}
	return doc[i:j]
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// controlInString reports whether a string (key or value) of the valid JSON
// doc holds a raw control character, which JSON forbids.
func controlInString(doc []byte) bool {
	in := false
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; {
		case !in:
			in = c == '"'
		case c == '\\':
			i++
		case c == '"':
			in = false
		case c < 0x20:
			return true
		}
	}
	return false
}

// depthOffset returns the offset of the first bracket that opens nesting level
// limit+1, or -1 if doc never nests that deep.
func depthOffset(doc []byte, limit int) int {
	depth := 0
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			i = skipString(doc, i)
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
