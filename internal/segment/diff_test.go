package segment

import (
	"reflect"

	"github.com/google/go-cmp/cmp"
)

// diff is cmp.Diff with unexported fields compared too (reflect.DeepEqual's
// semantics, with a readable difference).
func diff(want, got any) string {
	return cmp.Diff(want, got, cmp.Exporter(func(reflect.Type) bool { return true }))
}
