package auth

import (
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	k, err := ParseKeys(strings.NewReader(`# team keys
AKIAWRITER  s3cr3t/with+slash
  AKIAREADER secret2 read   
AKIAEXPLICIT secret3 write

token 0123456789abcdef0123 read
token fedcba9876543210fedc
`))
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 5 {
		t.Fatalf("Len = %d, want 5", k.Len())
	}
	for id, want := range map[string]keyEntry{
		"AKIAWRITER":   {"s3cr3t/with+slash", RoleWrite},
		"AKIAREADER":   {"secret2", RoleRead},
		"AKIAEXPLICIT": {"secret3", RoleWrite},
	} {
		if got, ok := k.secret(id); !ok || got != want {
			t.Errorf("secret(%s) = %+v, %v; want %+v", id, got, ok, want)
		}
	}
	if p, ok := k.Token("0123456789abcdef0123"); !ok || p.Role != RoleRead || p.Name != "token:6" {
		t.Errorf("read token = %+v, %v", p, ok)
	}
	if p, ok := k.Token("fedcba9876543210fedc"); !ok || p.Role != RoleWrite {
		t.Errorf("write token = %+v, %v", p, ok)
	}
	if _, ok := k.Token("fedcba9876543210fedX"); ok {
		t.Error("an unknown token was accepted")
	}
	if _, ok := k.secret("token"); ok {
		t.Error(`"token" became an access key ID`)
	}
}

func TestParseKeysErrors(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"", "no key pair or token"},
		{"# only a comment\n\n", "no key pair or token"},
		{"AKIA1 secret\nAKIA2\n", "line 2: want ACCESS_KEY_ID SECRET_ACCESS_KEY"},
		{"AKIA1 secret admin\n", `line 1: role "admin": want read or write`},
		{"AKIA1 secret read extra\n", "line 1: want ACCESS_KEY_ID"},
		{"\n\nAKIA/1 secret\n", `line 3: access key ID "AKIA/1"`},
		{"AKIA1 a\nAKIA1 b\n", "line 2: access key ID AKIA1 is already on an earlier line"},
		{"token short\n", "line 1: token of 5 characters: want at least 16"},
		{"token 0123456789abcdef\ntoken 0123456789abcdef read\n", "line 2: this token is already"},
	} {
		_, err := ParseKeys(strings.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKeys(%q) error = %v, want it to contain %q", c.file, err, c.want)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add("AKIA1 secret read\n# c\ntoken 0123456789abcdef\n")
	f.Add("AKIA1\n")
	f.Fuzz(func(t *testing.T, file string) {
		k, err := ParseKeys(strings.NewReader(file))
		if err == nil && k.Len() == 0 {
			t.Fatal("an empty key set was accepted")
		}
	})
}
