package loadgen

import "testing"

func TestAppendTime(t *testing.T) {
	const ns = 1681574429596123456 // 2023-04-15T15:20:29.596123456Z
	f := func(ts timeStyle, want string) {
		t.Helper()
		if got := string(appendTime(nil, ns, ts)); got != want {
			t.Errorf("style %d: got %s, want %s", ts, got, want)
		}
	}
	f(timeGo, "1681574429.5961235")
	f(timeMilli, "1681574429.596")
	f(timeAWSMilli, "1.681574429596E9")
	f(timeAWSMicro, "1.681574429596123E9")
	if got := string(appendJavaDouble(nil, 2e9)); got != "2.0E9" {
		t.Errorf("2e9: got %s, want 2.0E9 as Java prints it", got)
	}
}

func TestWriterSeparators(t *testing.T) {
	w := jw{spaced: true}
	w.beginDoc()
	w.str("a", "x")
	w.arr("b")
	w.elemStr("y")
	w.elemObj()
	w.int("c", 1)
	w.end()
	w.endArr()
	w.boolean("d", false)
	w.end()
	if want := `{"a": "x", "b": ["y", {"c": 1}], "d": false}`; string(w.b) != want {
		t.Fatalf("got %s, want %s", w.b, want)
	}
}
