package udp

import (
	"bytes"
	"testing"
)

func TestSplitDatagram(t *testing.T) {
	f := func(datagram, wantDoc, wantReason string) {
		t.Helper()
		doc, reason := splitDatagram([]byte(datagram))
		if string(doc) != wantDoc || reason != wantReason {
			t.Fatalf("splitDatagram(%q) = %q, %q; want %q, %q", datagram, doc, reason, wantDoc, wantReason)
		}
	}
	// What the SDKs send.
	f("{\"format\": \"json\", \"version\": 1}\n{\"a\":1}", `{"a":1}`, "")
	f("{\"format\":\"json\",\"version\":1}\n{\"a\":1}", `{"a":1}`, "")
	// The daemon JSON-decodes the header: spacing, key order and case of the
	// format value do not matter.
	f("{ \"version\" : 1 , \"format\" : \"JSON\" }\n{}", `{}`, "")
	f("{\"format\":\"json\",\"version\":1}\r\n{}", "{}", "") // "\r" is JSON whitespace
	// The document is whatever follows the first newline, newlines included.
	f("{\"format\":\"json\",\"version\":1}\n{\n}\n", "{\n}\n", "")
	f("{\"format\":\"json\",\"version\":1}", "", reasonMissingHeader)
	f("{\"format\":\"json\",\"version\":1}\n", "", reasonMissingHeader)
	f("{\"format\":\"json\",\"version\":1}\n  \n", "", reasonMissingHeader)
	f("{\"a\":1}", "", reasonMissingHeader)
	f("{\"format\":\"xml\",\"version\":1}\n{}", "", reasonInvalidHeader)
	f("{\"format\":\"json\",\"version\":2}\n{}", "", reasonInvalidHeader)
	f("{\"format\":\"json\"}\n{}", "", reasonInvalidHeader)
	f("garbage\n{}", "", reasonInvalidHeader)
	f("\n{}", "", reasonInvalidHeader)
	f("", "", reasonMissingHeader)
}

func FuzzSplitDatagram(f *testing.F) {
	f.Add([]byte("{\"format\": \"json\", \"version\": 1}\n{\"trace_id\":\"1-5759e988-bd862e3fe1be46a994272793\",\"id\":\"defdfd9912dc5a56\"}"))
	f.Add([]byte("{\"format\":\"json\",\"version\":1}\n{}"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte{0xff, 0xfe, '\n', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, reason := splitDatagram(b)
		switch reason {
		case "":
			if len(bytes.TrimSpace(doc)) == 0 || !bytes.HasSuffix(b, doc) {
				t.Fatalf("accepted %q with document %q", b, doc)
			}
		case reasonMissingHeader, reasonInvalidHeader:
			if doc != nil {
				t.Fatalf("rejected %q but returned a document", b)
			}
		default:
			t.Fatalf("unknown reason %q", reason)
		}
	})
}
