package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the data directory's lock: held (flock) by the server
// that uses the directory, holding its pid so a second one can say who.
const lockFileName = "counterspy.pid"

// dataDirLock is a held lock on a data directory.
type dataDirLock struct{ f *os.File }

// lockDataDir creates dir if needed and takes its lock, with errors a
// newcomer can act on: another server using it (and its pid), a directory
// that cannot be created or written.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the data directory %s: %w (choose another with --data-dir)", dir, err)
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("the data directory %s is not writable: %w (fix its permissions or choose another with --data-dir)", dir, err)
		}
		return nil, fmt.Errorf("lock the data directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
					who = fmt.Sprintf("pid %d", pid)
				}
			}
			return nil, fmt.Errorf("another counterspy is using %s (%s): stop it, or give this one its own --data-dir", dir, who)
		}
		return nil, fmt.Errorf("lock the data directory %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("the data directory %s is not writable: %w (free some space, fix its permissions or choose another with --data-dir)", dir, err)
		}
	}
	return &dataDirLock{f: f}, nil
}

// release drops the lock (the pid file stays: its content is only read
// while the lock is held by someone).
func (l *dataDirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// listenError turns a bind failure into a message that names the flag to
// change, once, instead of the bare "bind: address already in use".
func listenError(proto, addr, flag string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s %s is already in use (another counterspy, or an X-Ray daemon?): choose another address with %s", proto, addr, flag)
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("%s %s: permission denied (ports below 1024 need privileges): choose another address with %s", proto, addr, flag)
	}
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s address %q for %s: %v", proto, addr, flag, ae.Err)
	}
	return fmt.Errorf("listen %s %s (%s): %w", proto, addr, flag, err)
}
