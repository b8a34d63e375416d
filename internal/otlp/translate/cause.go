package translate

import (
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/counterspy/counterspy/internal/segment"
)

// maxFrames bounds the frames kept in cause.exceptions[].stack; the rest are
// counted in "truncated" (the full text stays in metadata.otel.events).
const maxFrames = 64

// appendCause writes cause.exceptions from the span's "exception" events
// (exception.type, exception.message, exception.stacktrace), as the
// translator's makeCause does; a failed span with a status message and no
// exception event gets one exception carrying the message.
func (t *Translator) appendCause(b []byte, sp ptrace.Span, spanID [8]byte, e *segment.Entity) []byte {
	evs := sp.Events()
	start := len(b)
	b = append(key(b, "cause"), '{')
	b = append(key(b, "exceptions"), '[')
	n := 0
	for i := 0; i < evs.Len(); i++ {
		ev := evs.At(i)
		if ev.Name() != "exception" {
			continue
		}
		a := ev.Attributes()
		typ, _ := attrStr(a, "exception.type")
		msg, _ := attrStr(a, "exception.message")
		stack, _ := attrStr(a, "exception.stacktrace")
		if n > 0 {
			b = append(b, ',')
		}
		b = t.appendException(b, exceptionID(spanID, n), typ, msg, stack, e)
		n++
	}
	if n == 0 {
		st := sp.Status()
		if st.Code() != ptrace.StatusCodeError || st.Message() == "" {
			return b[:start]
		}
		b = t.appendException(b, exceptionID(spanID, 0), "", st.Message(), "", e)
	}
	return append(b, ']', '}')
}

// appendException writes one exception, and adds it to e's cause when e is
// not nil.
func (t *Translator) appendException(b []byte, id [8]byte, typ, msg, stack string, e *segment.Entity) []byte {
	b = append(b, '{')
	b = hexField(b, "id", id[:])
	if typ != "" {
		b = strField(b, "type", t.cut(typ))
	}
	if msg != "" {
		b = strField(b, "message", t.cut(msg))
	}
	frames, truncated := parseStack(stack, t.res.language)
	if e != nil {
		x := segment.Exception{ID: hex.EncodeToString(id[:]), Type: t.dstr(t.cut(typ)), Message: t.dstr(t.cut(msg))}
		if len(frames) > 0 {
			x.Stack = make([]segment.StackFrame, len(frames))
			for i, f := range frames {
				x.Stack[i] = segment.StackFrame{Path: t.dstr(f.path), Line: f.line, Label: t.dstr(f.label)}
			}
			x.Truncated = truncated
		}
		e.Cause.Exceptions = append(e.Cause.Exceptions, x)
	}
	if len(frames) > 0 {
		b = append(key(b, "stack"), '[')
		for i, f := range frames {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if f.path != "" {
				b = strField(b, "path", f.path)
			}
			if f.line > 0 {
				b = intField(b, "line", int64(f.line))
			}
			if f.label != "" {
				b = strField(b, "label", f.label)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
		if truncated > 0 {
			b = intField(b, "truncated", int64(truncated))
		}
	}
	return append(b, '}')
}

// exceptionID makes a stable 16-hex exception ID from the span and the
// exception's position.
func exceptionID(span [8]byte, i int) [8]byte {
	h := fnv.New64a()
	h.Write(span[:])
	h.Write(strconv.AppendInt(nil, int64(i), 10))
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], h.Sum64())
	return id
}

type frame struct {
	path  string
	line  int
	label string
}

var (
	// Java:   at com.example.Foo.bar(Foo.java:42)
	reJava = regexp.MustCompile(`^\s*at ([^\s(]+)\(([^():]*)(?::(\d+))?\)\s*$`)
	// Node:   at handler (/var/task/index.js:10:5)   or   at /var/task/index.js:10:5
	reJS     = regexp.MustCompile(`^\s*at (.+?) \((.+?):(\d+):\d+\)\s*$`)
	reJSAnon = regexp.MustCompile(`^\s*at (.+?):(\d+):\d+\s*$`)
	// .NET:   at Ns.Type.Method() in /src/File.cs:line 12
	reDotNet = regexp.MustCompile(`^\s*at (.+?) in (.+):line (\d+)\s*$`)
	// Python: File "/app/x.py", line 12, in handler
	rePython = regexp.MustCompile(`^\s*File "(.+)", line (\d+), in (.+?)\s*$`)
	// Go:     \t/app/main.go:42 +0x1d (the function is on the line before)
	reGoFile = regexp.MustCompile(`^\t(.+\.go):(\d+)(?: \+0x[0-9a-f]+)?\s*$`)
)

// parseStack turns exception.stacktrace text into frames, trying the formats
// of the languages the translator knows (Java, Python, JavaScript, .NET, Go).
// Lines that match none are skipped; the text itself stays in metadata.
func parseStack(s, lang string) ([]frame, int) {
	if s == "" {
		return nil, 0
	}
	var frames []frame
	prev := ""
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		var f frame
		ok := true
		if m := rePython.FindStringSubmatch(line); m != nil {
			f = frame{path: m[1], line: atoi(m[2]), label: m[3]}
		} else if m := reDotNet.FindStringSubmatch(line); m != nil {
			f = frame{label: m[1], path: m[2], line: atoi(m[3])}
		} else if m := reJS.FindStringSubmatch(line); m != nil {
			f = frame{label: m[1], path: m[2], line: atoi(m[3])}
		} else if m := reJava.FindStringSubmatch(line); m != nil {
			f = frame{label: m[1], path: m[2], line: atoi(m[3])}
		} else if m := reJSAnon.FindStringSubmatch(line); m != nil {
			f = frame{path: m[1], line: atoi(m[2])}
		} else if m := reGoFile.FindStringSubmatch(line); m != nil {
			f = frame{path: m[1], line: atoi(m[2]), label: goFunc(prev)}
		} else {
			ok = false
		}
		prev = line
		if ok {
			frames = append(frames, f)
		}
	}
	if lang == "python" {
		// Python prints the innermost call last; X-Ray lists it first.
		for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
			frames[i], frames[j] = frames[j], frames[i]
		}
	}
	if len(frames) > maxFrames {
		return frames[:maxFrames], len(frames) - maxFrames
	}
	return frames, 0
}

// goFunc is the function of a Go stack line "main.handler(0x1, ...)".
func goFunc(line string) string {
	if i := strings.LastIndexByte(line, '('); i > 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
