package pebblestore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/counterspy/counterspy/internal/store/storetest"
)

func TestDiagBytes(t *testing.T) {
	for _, o := range []Options{{NoSync: true}} {
		s := openTest(t, o)
		w := storetest.NewWorkload(1, time.Now().Add(-time.Hour))
		n := 0
		for range 100 {
			b := w.Batch(1000)
			n += len(b.Records)
			if err := s.Write(context.Background(), b); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
		it, _ := s.db.NewIter(nil)
		cnt := map[byte]int{}
		kb := map[byte]int{}
		vb := map[byte]int{}
		for ok := it.First(); ok; ok = it.Next() {
			k := it.Key()
			v, _ := it.ValueAndErr()
			cnt[k[0]]++
			kb[k[0]] += len(k)
			vb[k[0]] += len(v)
		}
		it.Close()
		for p := range cnt {
			u, _ := s.db.EstimateDiskUsage([]byte{p}, []byte{p + 1})
			fmt.Printf("%c: keys %d (%.2f/rec) keyB/rec %.1f valB/rec %.1f disk/rec %.1f\n", p, cnt[p], float64(cnt[p])/float64(n), float64(kb[p])/float64(n), float64(vb[p])/float64(n), float64(u)/float64(n))
		}
		m := s.db.Metrics()
		fmt.Printf("tables %d blob %d per rec %.1f\n", m.Table.Local.LiveSize, m.BlobFiles.Local.LiveSize, float64(m.Table.Local.LiveSize+m.BlobFiles.Local.LiveSize)/float64(n))
	}
}
