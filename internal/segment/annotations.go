package segment

import (
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// MaxAnnotationKeyLength is the longest accepted annotation key, in
// characters. Any other key is accepted: AWS itself writes keys such as
// aws:responseLatency, which filters reach with annotation[...].
const MaxAnnotationKeyLength = 250

// annotations decodes the annotations object in document order. A key that
// appears twice keeps its first position and its last value, as a JSON
// object decoded into a map would.
func (d *Decoder) annotations(idx int32, v *fastjson.Value) ([]Annotation, *Error) {
	o, err := v.Object()
	if err != nil {
		return nil, d.typeErr(idx, "annotations", "an object", v)
	}
	if o.Len() == 0 {
		return nil, nil
	}
	anns := make([]Annotation, 0, o.Len())
	d.anns.reset()
	var e *Error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if e != nil {
			return
		}
		if len(k) == 0 {
			e = d.errf(CodeInvalidAnnotation, idx, "annotations", "keys must not be empty")
			return
		}
		if len(k) > MaxAnnotationKeyLength {
			if n := utf8.RuneCount(k); n > MaxAnnotationKeyLength {
				e = d.errf(CodeInvalidAnnotation, idx, annotationPath(k), "key is %d characters; the limit is %d", n, MaxAnnotationKeyLength)
				return
			}
		}
		var a Annotation
		if a, e = d.annotationValue(v); e != nil {
			e = d.at(idx, annotationPath(k), e)
			return
		}
		if i := d.anns.find(anns, k); i >= 0 {
			anns[i].Type, anns[i].String, anns[i].Number, anns[i].Bool = a.Type, a.String, a.Number, a.Bool
			return
		}
		a.Key = d.intern(k)
		anns = append(anns, a)
		d.anns.added(anns)
	})
	if e != nil {
		return nil, e
	}
	return anns, nil
}

func (d *Decoder) annotationValue(v *fastjson.Value) (Annotation, *Error) {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		// Values are not held to 250 characters: nothing breaks on longer ones.
		return Annotation{Type: AnnotationString, String: string(b)}, nil
	case fastjson.TypeNumber:
		f, e := d.number(v)
		if e != nil {
			e.Code = CodeInvalidAnnotation
			return Annotation{}, e
		}
		return Annotation{Type: AnnotationNumber, Number: f}, nil
	case fastjson.TypeTrue:
		return Annotation{Type: AnnotationBool, Bool: true}, nil
	case fastjson.TypeFalse:
		return Annotation{Type: AnnotationBool}, nil
	}
	return Annotation{}, problem(CodeInvalidAnnotation, "value must be a string, number or boolean, found %s", typeName(v))
}
