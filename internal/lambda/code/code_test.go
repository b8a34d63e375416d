package code

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func zipBytes(t *testing.T, entries map[string]os.FileMode) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, mode := range entries {
		h := &zip.FileHeader{Name: name}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if !mode.IsDir() {
			w.Write([]byte("content of " + name))
		}
	}
	zw.Close()
	return buf.Bytes()
}

func TestUnzip(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "fn")
	err := Unzip(zipBytes(t, map[string]os.FileMode{"bootstrap": 0o755, "lib/": os.ModeDir | 0o755, "lib/data.txt": 0o644}), dest)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dest, "bootstrap"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("bootstrap: %v %v", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "lib", "data.txt")); string(b) != "content of lib/data.txt" {
		t.Errorf("data: %q", b)
	}
	st, _ = os.Stat(filepath.Join(dest, "lib", "data.txt"))
	if st.Mode().Perm()&0o111 != 0 {
		t.Errorf("data.txt executable: %v", st.Mode())
	}
}

func TestUnzipRejects(t *testing.T) {
	for name, c := range map[string]struct {
		zip  []byte
		want string
	}{
		"not a zip": {[]byte("hello"), "not a valid zip"},
		"zip slip":  {zipBytes(t, map[string]os.FileMode{"../evil": 0o644}), "outside its root"},
		"absolute":  {zipBytes(t, map[string]os.FileMode{"/etc/evil": 0o644}), "outside its root"},
		"symlink":   {zipBytes(t, map[string]os.FileMode{"link": os.ModeSymlink | 0o777}), "symbolic link"},
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "fn")
			err := Unzip(c.zip, dest)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if _, err := os.Stat(dest); !os.IsNotExist(err) {
				t.Errorf("destination left behind: %v", err)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Errorf("files outside the destination: %v", ents)
			}
		})
	}
}

func FuzzUnzip(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("a/b.txt")
	w.Write([]byte("x"))
	zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "fn")
		if err := Unzip(b, dest); err != nil {
			if _, serr := os.Stat(dest); !os.IsNotExist(serr) {
				t.Fatalf("failed unzip left %s behind", dest)
			}
		}
		ents, _ := os.ReadDir(parent)
		if len(ents) > 1 {
			t.Fatalf("wrote outside the destination: %v", ents)
		}
	})
}
