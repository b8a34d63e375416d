package filter

import (
	"strconv"
	"strings"

	"github.com/counterspy/counterspy/internal/jsonenc"
)

// printPatterns prints a root-cause pattern as JSON, fields in X-Ray's
// order.
func printPatterns(b *strings.Builder, ps []rcPattern) {
	b.WriteByte('[')
	for i := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		o := jsonObject{b: b}
		o.open()
		if ps[i].services != nil {
			o.key("Services")
			b.WriteByte('[')
			for j := range ps[i].services {
				if j > 0 {
					b.WriteString(", ")
				}
				ps[i].services[j].print(b)
			}
			b.WriteByte(']')
		}
		o.bool("ClientImpacting", ps[i].clientImpacting)
		o.close()
	}
	b.WriteByte(']')
}

func (p *svcPattern) print(b *strings.Builder) {
	o := jsonObject{b: b}
	o.open()
	o.string("Name", p.name)
	if p.names != nil {
		o.key("Names")
		b.WriteByte('[')
		for i, n := range p.names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(jsonQuote(n))
		}
		b.WriteByte(']')
	}
	o.string("Type", p.typ)
	o.string("AccountId", p.account)
	o.bool("Inferred", p.inferred)
	if p.path != nil {
		o.key("EntityPath")
		b.WriteByte('[')
		for i := range p.path {
			if i > 0 {
				b.WriteString(", ")
			}
			p.path[i].print(b)
		}
		b.WriteByte(']')
	}
	o.close()
}

func (p *entPattern) print(b *strings.Builder) {
	o := jsonObject{b: b}
	o.open()
	o.string("Name", p.name)
	if p.exceptions != nil {
		o.key("Exceptions")
		b.WriteByte('[')
		for i := range p.exceptions {
			if i > 0 {
				b.WriteString(", ")
			}
			x := jsonObject{b: b}
			x.open()
			x.string("Name", p.exceptions[i].name)
			x.string("Message", p.exceptions[i].message)
			x.close()
		}
		b.WriteByte(']')
	}
	o.bool("Remote", p.remote)
	if p.coverage.set {
		o.key("Coverage")
		b.WriteString(formatNumber(p.coverage.v))
	}
	o.close()
}

// jsonQuote quotes s as a JSON string, with the project's one JSON string
// writer (strconv.Quote's \x escapes are not JSON).
func jsonQuote(s string) string { return string(jsonenc.AppendString(nil, s)) }

// jsonObject writes the fields of one JSON object, commas included.
type jsonObject struct {
	b      *strings.Builder
	fields int
}

func (o *jsonObject) open()  { o.b.WriteByte('{') }
func (o *jsonObject) close() { o.b.WriteByte('}') }

func (o *jsonObject) key(k string) {
	if o.fields > 0 {
		o.b.WriteString(", ")
	}
	o.fields++
	o.b.WriteString(jsonQuote(k) + ": ")
}

func (o *jsonObject) string(k string, v optString) {
	if v.set {
		o.key(k)
		o.b.WriteString(jsonQuote(v.v))
	}
}

func (o *jsonObject) bool(k string, v optBool) {
	if v.set {
		o.key(k)
		o.b.WriteString(strconv.FormatBool(v.v))
	}
}
