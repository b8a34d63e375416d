//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || zos)

package render

import "os"

// IsTerminal reports whether f is a terminal; here, a character device.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// TerminalWidth is not known on this platform: callers fall back to
// $COLUMNS or DefaultWidth.
func TerminalWidth(*os.File) (int, bool) { return 0, false }
