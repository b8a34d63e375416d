package segment

import (
	"github.com/valyala/fastjson"

	"github.com/counterspy/counterspy/internal/jsonenc"
)

// appendValue writes v as JSON. fastjson's own MarshalTo cannot be used for
// a repaired document: it quotes any string it has unescaped with
// strconv.AppendQuote, whose Go escapes (\x95, \a, \v, \U0010ffff) are not
// JSON, so a name like "\f" followed by a byte that is not UTF-8 came out as
// a document no JSON parser reads. Strings and keys go through jsonenc
// instead, their bytes kept as sent; numbers and literals are copied.
func appendValue(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return jsonenc.AppendStringVerbatim(dst, b)
	case fastjson.TypeObject:
		o, _ := v.Object()
		return appendObject(dst, o)
	case fastjson.TypeArray:
		items, _ := v.Array()
		dst = append(dst, '[')
		for i, it := range items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, it)
		}
		return append(dst, ']')
	default: // numbers, true, false, null: their bytes need no quoting
		return v.MarshalTo(dst)
	}
}

func appendObject(dst []byte, o *fastjson.Object) []byte {
	dst = append(dst, '{')
	first := true
	o.Visit(func(k []byte, v *fastjson.Value) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonenc.AppendStringVerbatim(dst, k)
		dst = append(dst, ':')
		dst = appendValue(dst, v)
	})
	return append(dst, '}')
}
