package filter

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConsoleKeywordsMatchParser: the console completes the simple keywords
// from its own list (web/src/filter/complete.ts, `keywords`); every one
// must be a keyword the parser accepts, with the same type and the same
// scopes, and none the parser accepts may be missing. Adding a keyword to
// keywordTable without the console (or the reverse) fails here.
func TestConsoleKeywordsMatchParser(t *testing.T) {
	const path = "../../web/src/filter/complete.ts"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(src), "export const keywords: Kw[] = [")
	if !ok {
		t.Fatalf("%s: no `export const keywords: Kw[] = [` (update this test if the list moved)", path)
	}
	list, _, ok = strings.Cut(list, "\n];")
	if !ok {
		t.Fatalf("%s: the keywords list does not end with `];`", path)
	}
	entry := regexp.MustCompile(`^\{ name: '([^']+)', type: '(bool|num|str)', scopes: (\[[^\]]*\]|\w+), detail: '[^']*' \},$`)
	tsTypes := map[string]valueType{"bool": tyBool, "num": tyNumber, "str": tyString}
	tsScopes := map[string]scopes{
		"T": in(scTrace), "'node'": in(scNode), "'edge'": in(scEdge), "'rcservice'": in(scRCService),
		"'rcentity'": in(scRCEntity), "'rctimeentity'": in(scRCTimeEntity), "'rcexception'": in(scRCException),
		"rcAll": rcAll, "rcEntities": rcEntities,
	}
	console := map[string]string{}
	for line := range strings.Lines(list) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := entry.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s: cannot read keyword entry %q (update this test if the format changed)", path, line)
		}
		var sc scopes
		for _, s := range strings.Split(strings.Trim(m[3], "[]"), ",") {
			s = strings.TrimPrefix(strings.TrimSpace(s), "...")
			v, ok := tsScopes[s]
			if !ok {
				t.Fatalf("%s: unknown scope %q in %q", path, s, line)
			}
			sc |= v
		}
		console[m[1]] = describeKeyword(tsTypes[m[2]], sc)
	}
	parser := map[string]string{}
	for k := kwOK; k < numKeywords; k++ {
		info := keywordTable[k]
		parser[info.name] = describeKeyword(info.typ, info.scopes)
	}
	if d := cmp.Diff(parser, console); d != "" {
		t.Errorf("the console's keywords (%s) differ from the parser's (internal/filter/keywords.go) (-parser +console):\n%s", path, d)
	}
}

func describeKeyword(typ valueType, sc scopes) string {
	var names []string
	for k, name := range []string{"trace", "node", "edge", "rcservice", "rcentity", "rctimeentity", "rcexception"} {
		if sc.has(scopeKind(k)) {
			names = append(names, name)
		}
	}
	return fmt.Sprintf("%v in %s", typ, strings.Join(names, ","))
}
