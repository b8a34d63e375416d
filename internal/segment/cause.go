package segment

import (
	"github.com/valyala/fastjson"
)

// cause accepts the three shapes SDKs send: an exception ID string (Python,
// when an exception recorded elsewhere bubbles up), {"id": ...} (Node), or a
// full object with exceptions. Exception IDs are kept as sent, unvalidated:
// they only link exceptions to each other.
func (d *Decoder) cause(idx int32, v *fastjson.Value) *Error {
	c := &d.ents[idx].Cause
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		c.ExceptionID = string(b)
		return nil
	case fastjson.TypeObject:
	default:
		return d.typeErr(idx, "cause", "a string or an object", v)
	}
	o, _ := v.Object()
	var e *Error
	o.Visit(func(k []byte, v *fastjson.Value) {
		if e != nil || v.Type() == fastjson.TypeNull {
			return
		}
		switch string(k) {
		case "id":
			c.ExceptionID, e = d.str(idx, "cause.id", v)
		case "working_directory":
			c.WorkingDirectory, e = d.internedString(idx, "cause.working_directory", v)
		case "exceptions":
			c.Exceptions, e = d.exceptions(idx, v)
		}
	})
	return e
}

func (d *Decoder) exceptions(idx int32, v *fastjson.Value) ([]Exception, *Error) {
	arr, err := v.Array()
	if err != nil {
		return nil, d.typeErr(idx, "cause.exceptions", "an array", v)
	}
	if len(arr) == 0 {
		return nil, nil
	}
	list := make([]Exception, len(arr))
	for i, xv := range arr {
		xo, err := xv.Object()
		if err != nil {
			return nil, d.typeErr(idx, indexed("cause.exceptions", i), "an object", xv)
		}
		// Paths are only built when something is wrong.
		if field, e := d.exception(xo, &list[i]); e != nil {
			return nil, d.at(idx, indexed("cause.exceptions", i)+"."+field, e)
		}
	}
	return list, nil
}

// exception decodes one exception; on failure it returns the field's path
// relative to the exception.
func (d *Decoder) exception(o *fastjson.Object, x *Exception) (string, *Error) {
	var (
		field string
		e     *Error
	)
	o.Visit(func(k []byte, v *fastjson.Value) {
		if e != nil || v.Type() == fastjson.TypeNull {
			return
		}
		var n int64
		switch string(k) {
		case "id":
			field = "id"
			x.ID, e = stringCopy(v)
		case "message":
			field = "message"
			x.Message, e = stringCopy(v)
		case "type":
			field = "type"
			x.Type, e = d.internValue(v)
		case "remote":
			field = "remote"
			x.Remote, e = boolValue(v)
		case "truncated":
			field = "truncated"
			n, e = intValue(v)
			x.Truncated = int(n)
		case "skipped":
			field = "skipped"
			n, e = intValue(v)
			x.Skipped = int(n)
		case "cause":
			field = "cause"
			x.Cause, e = stringCopy(v)
		case "stack":
			x.Stack, field, e = d.stack(v)
		}
	})
	return field, e
}

// stack decodes stack frames; "line": null (Node, for native frames) means no
// line.
func (d *Decoder) stack(v *fastjson.Value) ([]StackFrame, string, *Error) {
	arr, err := v.Array()
	if err != nil {
		return nil, "stack", wrongType("an array", v)
	}
	if len(arr) == 0 {
		return nil, "", nil
	}
	frames := make([]StackFrame, len(arr))
	for i, fv := range arr {
		fo, err := fv.Object()
		if err != nil {
			return nil, indexed("stack", i), wrongType("an object", fv)
		}
		f := &frames[i]
		var (
			field string
			e     *Error
		)
		fo.Visit(func(k []byte, v *fastjson.Value) {
			if e != nil || v.Type() == fastjson.TypeNull {
				return
			}
			switch string(k) {
			case "path":
				field = "path"
				f.Path, e = d.internValue(v)
			case "line":
				field = "line"
				var n int64
				n, e = intValue(v)
				f.Line = int(n)
			case "label":
				field = "label"
				f.Label, e = d.internValue(v)
			}
		})
		if e != nil {
			return nil, indexed("stack", i) + "." + field, e
		}
	}
	return frames, "", nil
}
