// Package tlsreload serves a TLS certificate from files that may change
// while the server runs (a renewed certificate): each handshake checks the
// files' modification times and reloads the pair when either changed.
package tlsreload

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Reloader holds the current certificate of a cert/key file pair.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu                sync.Mutex
	cert              *tls.Certificate
	certMod, keyMod   time.Time
	certSize, keySize int64
	lastErr           string // logged once, not at every handshake
}

// New loads the pair once; an unreadable or mismatched pair is an error
// here, at start, rather than at the first handshake.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func stat(path string) (time.Time, int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, 0, err
	}
	return fi.ModTime(), fi.Size(), nil
}

// load reads the pair if either file changed since the last load.
// r.mu is held, or r is not shared yet.
func (r *Reloader) load() error {
	cm, cs, err := stat(r.certFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	km, ks, err := stat(r.keyFile)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	if r.cert != nil && cm.Equal(r.certMod) && km.Equal(r.keyMod) && cs == r.certSize && ks == r.keySize {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	if r.cert != nil {
		r.log.Info("tls certificate reloaded", "cert", r.certFile, "key", r.keyFile)
	}
	r.cert, r.certMod, r.keyMod, r.certSize, r.keySize = &cert, cm, km, cs, ks
	return nil
}

// GetCertificate is a tls.Config.GetCertificate. While a renewal is half
// written (the new certificate with the old key, say) the pair does not
// load: the last good certificate keeps being served and the next
// handshake tries again.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.load(); err != nil {
		if err.Error() != r.lastErr {
			r.log.Warn("tls certificate not reloaded, serving the previous one", "err", err)
		}
		r.lastErr = err.Error()
	} else {
		r.lastErr = ""
	}
	return r.cert, nil
}

// Config is a server TLS configuration serving the reloaded certificate
// (TLS 1.2 or later), for the HTTP and gRPC listeners alike.
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
