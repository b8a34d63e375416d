package tlsreload

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pair returns a self-signed certificate and its key, PEM-encoded.
func pair(t *testing.T, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func write(t *testing.T, path string, b []byte, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	base := time.Now().Add(-time.Hour)
	c1, k1 := pair(t, 1)
	write(t, certFile, c1, base)
	write(t, keyFile, k1, base)
	r, err := New(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		t.Helper()
		c, err := r.Config().GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return x.SerialNumber.Int64()
	}
	if s := serial(); s != 1 {
		t.Fatalf("serial %d, want 1", s)
	}
	// Half a renewal: the new certificate with the old key does not load;
	// the old pair keeps being served.
	c2, k2 := pair(t, 2)
	write(t, certFile, c2, base.Add(time.Minute))
	if s := serial(); s != 1 {
		t.Fatalf("with a mismatched pair: serial %d, want the previous 1", s)
	}
	write(t, keyFile, k2, base.Add(2*time.Minute))
	if s := serial(); s != 2 {
		t.Fatalf("after the renewal: serial %d, want 2", s)
	}
	// A bad pair at start is an error then.
	write(t, keyFile, k1, base.Add(3*time.Minute))
	if _, err := New(certFile, keyFile, nil); err == nil {
		t.Fatal("a mismatched pair loaded at start")
	}
	if _, err := New(filepath.Join(dir, "none"), keyFile, nil); err == nil {
		t.Fatal("a missing certificate loaded at start")
	}
}
