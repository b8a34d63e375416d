package auth

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Role is what a principal may do.
type Role int

const (
	// RoleRead may call the operations that only read (BatchGetTraces,
	// GetTraceSummaries, GetServiceGraph, ...).
	RoleRead Role = iota + 1
	// RoleWrite may call every operation.
	RoleWrite
)

func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleWrite:
		return "write"
	}
	return "none"
}

// Principal is who a request was authenticated as.
type Principal struct {
	// Name identifies the principal in logs and errors: the access key ID,
	// "token:<line>" for a bearer token, or "console" for the login cookie.
	Name string
	Role Role
}

// Keys is the content of an auth file: SigV4 key pairs and bearer tokens.
type Keys struct {
	secrets map[string]keyEntry    // access key ID → secret and role
	tokens  map[[32]byte]Principal // sha256(token) → principal
}

type keyEntry struct {
	secret string
	role   Role
}

// Len is the number of key pairs and tokens.
func (k *Keys) Len() int { return len(k.secrets) + len(k.tokens) }

// minTokenLength keeps bearer tokens out of guessing range: a token has no
// date or signature around it, so its length is all its strength.
const minTokenLength = 16

// LoadKeys reads an auth file (see ParseKeys).
func LoadKeys(path string) (*Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	defer f.Close()
	k, err := ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	return k, nil
}

// ParseKeys reads an auth file: one principal a line,
//
//	ACCESS_KEY_ID SECRET_ACCESS_KEY [read|write]
//	token TOKEN [read|write]
//
// fields separated by blanks, the role write when left out; blank lines and
// lines starting with # are ignored. An access key ID is 1 to 128 letters
// and digits (as AWS's are); a secret is any run of non-blank characters; a
// token at least 16. The word "token" as the first field marks a bearer
// token, so it cannot be an access key ID. A file with no principal is an
// error: it would lock everyone out.
func ParseKeys(r io.Reader) (*Keys, error) {
	k := &Keys{secrets: map[string]keyEntry{}, tokens: map[[32]byte]Principal{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if err := k.addLine(text, line); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if k.Len() == 0 {
		return nil, errors.New("no key pair or token in the file (want lines of ACCESS_KEY_ID SECRET_ACCESS_KEY [read|write] or token TOKEN [read|write])")
	}
	return k, nil
}

func (k *Keys) addLine(text string, line int) error {
	f := strings.Fields(text)
	if len(f) < 2 || len(f) > 3 {
		return fmt.Errorf("want ACCESS_KEY_ID SECRET_ACCESS_KEY [read|write] or token TOKEN [read|write], got %d fields", len(f))
	}
	role := RoleWrite
	if len(f) == 3 {
		switch f[2] {
		case "read":
			role = RoleRead
		case "write":
			role = RoleWrite
		default:
			return fmt.Errorf("role %q: want read or write", f[2])
		}
	}
	if f[0] == "token" {
		if len(f[1]) < minTokenLength {
			return fmt.Errorf("token of %d characters: want at least %d", len(f[1]), minTokenLength)
		}
		h := sha256.Sum256([]byte(f[1]))
		if _, dup := k.tokens[h]; dup {
			return errors.New("this token is already on an earlier line")
		}
		k.tokens[h] = Principal{Name: fmt.Sprintf("token:%d", line), Role: role}
		return nil
	}
	if !validAccessKeyID(f[0]) {
		return fmt.Errorf("access key ID %q: want 1 to 128 letters and digits", f[0])
	}
	if _, dup := k.secrets[f[0]]; dup {
		return fmt.Errorf("access key ID %s is already on an earlier line", f[0])
	}
	k.secrets[f[0]] = keyEntry{secret: f[1], role: role}
	return nil
}

func validAccessKeyID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// secret returns the secret and role of an access key ID.
func (k *Keys) secret(accessKeyID string) (keyEntry, bool) {
	e, ok := k.secrets[accessKeyID]
	return e, ok
}

// Token returns the principal a bearer token stands for. Tokens are looked
// up by their SHA-256, so the lookup's timing says nothing useful about the
// token.
func (k *Keys) Token(token string) (Principal, bool) {
	p, ok := k.tokens[sha256.Sum256([]byte(token))]
	return p, ok
}
