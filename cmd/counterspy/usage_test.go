package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestEveryCommandsHelpHasOneForm: each command's -h starts with its usage
// line, then a description, examples and the flags, in that order.
func TestEveryCommandsHelpHasOneForm(t *testing.T) {
	if len(commands) < 10 {
		t.Fatalf("only %d commands registered", len(commands))
	}
	for name := range commands {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{name, "-h"}, &out, &errb); code != 0 {
			t.Errorf("%s -h: exit %d", name, code)
			continue
		}
		h := errb.String() + out.String()
		u := strings.Index(h, "usage: counterspy "+name)
		e := strings.Index(h, "\nExamples:\n  ")
		f := strings.Index(h, "\nFlags:\n")
		if u != 0 || e < 0 || f < e {
			t.Errorf("%s -h is not in the shared form (usage line, examples, flags):\n%s", name, h)
		}
	}
}
