// Package code unpacks a function's deployment package (a .zip, as
// CreateFunction's Code.ZipFile or a template's CodeUri carry it) into a
// directory the emulator manages, within Lambda's limits: 250 MB unzipped
// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
// no entry outside the directory, executable bits kept (a bootstrap must
// stay executable).
package code

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxUnzipped is Lambda's limit on a deployment package's unzipped size.
const MaxUnzipped = 250 << 20

// maxEntries bounds the number of files (a zip of millions of empty
// entries would otherwise exhaust inodes).
const maxEntries = 100_000

// Sha256 is CodeSha256 as Lambda reports it: the base64 SHA-256 of the
// deployment package.
func Sha256(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// Unzip extracts the zip archive b into dest, which must not exist yet
// (it is created; on error it is removed).
func Unzip(b []byte, dest string) (err error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return fmt.Errorf("the deployment package is not a valid zip file: %w", err)
	}
	if len(zr.File) > maxEntries {
		return fmt.Errorf("the deployment package has %d files, more than %d", len(zr.File), maxEntries)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dest, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest)
		}
	}()
	var total int64
	for _, f := range zr.File {
		name := filepath.FromSlash(f.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("the deployment package has an entry outside its root: %q", f.Name)
		}
		path := filepath.Join(dest, name)
		mode := f.Mode()
		switch {
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			continue
		case mode&os.ModeSymlink != 0:
			// Links could point outside the directory; Lambda keeps them,
			// but a local run does not need them.
			return fmt.Errorf("the deployment package has a symbolic link (%q), which is not supported here", f.Name)
		case !mode.IsRegular():
			return fmt.Errorf("the deployment package has a special file %q", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		perm := os.FileMode(0o644)
		if mode&0o111 != 0 || f.CreatorVersion>>8 == 0 && isBootstrap(name) {
			// Zips made on Windows (creator 0, FAT) carry no Unix mode;
			// Lambda's custom runtime still needs bootstrap executable.
			perm = 0o755
		}
		n, err := extract(f, path, perm, MaxUnzipped-total)
		total += n
		if err != nil {
			return err
		}
	}
	return nil
}

func isBootstrap(name string) bool { return filepath.Base(name) == "bootstrap" }

var errTooLarge = fmt.Errorf("the deployment package is larger than %d bytes unzipped (Lambda's limit)", MaxUnzipped)

func extract(f *zip.File, path string, perm os.FileMode, room int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, room+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("%s: %w", f.Name, err)
	}
	if n > room {
		return n, errTooLarge
	}
	return n, nil
}
