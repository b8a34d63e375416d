package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/counterspy/counterspy/internal/httpbody"
)

// Options configures an Authenticator.
type Options struct {
	// Keys are the principals of the auth file.
	Keys *Keys
	// MaxBodyBytes caps the body read for a SigV4 payload hash; the handler
	// gets the same bytes back (see httpbody). Default 8 MiB, the API's cap.
	MaxBodyBytes int64
	// Public reports requests served without credentials (the console's
	// assets, /healthz). Nil: none.
	Public func(*http.Request) bool
	// Action classifies a request as a read or a write. Default
	// DefaultAction.
	Action func(*http.Request) Action
	// Unsigned, when set, lets in requests that carry no credentials at
	// all as the principal it returns (the X-Ray SDKs' sampling calls, sent
	// unsigned to the daemon address). A request with bad credentials is
	// refused whatever Unsigned says.
	Unsigned func(*http.Request) (Principal, bool)
	// LoginToken, when set, is the console's login token: GET ?token=LoginToken
	// on a public page sets a session cookie that authenticates as a
	// read-write principal.
	LoginToken string
	// WriteError answers a refused request. Default WriteAWSError.
	WriteError func(http.ResponseWriter, *Error)
	// Now is the clock X-Amz-Date is checked against. Default time.Now.
	Now func() time.Time
	// Metrics, when set, counts refusals by code:
	// counterspy_auth_refused_total{code="..."}.
	Metrics *metrics.Set
	Logger  *slog.Logger
}

// Authenticator checks the credentials of HTTP requests and gRPC calls
// against an auth file.
type Authenticator struct {
	opts Options
}

// New builds an Authenticator. Nil Keys know no principal.
func New(opts Options) *Authenticator {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.Public == nil {
		opts.Public = func(*http.Request) bool { return false }
	}
	if opts.Action == nil {
		opts.Action = DefaultAction
	}
	if opts.WriteError == nil {
		opts.WriteError = WriteAWSError
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Keys == nil {
		opts.Keys = &Keys{}
	}
	return &Authenticator{opts: opts}
}

// NewLoginToken returns a random console login token.
func NewLoginToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type principalKey struct{}

// PrincipalFrom returns the principal a request or call was authenticated
// as (false when authentication is off or the request was public).
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// SessionCookie is the console's session cookie.
const SessionCookie = "counterspy_session"

// MiddlewareWith is Middleware with another Public predicate, for routes
// known only once the handler is built.
func (a *Authenticator) MiddlewareWith(next http.Handler, public func(*http.Request) bool) http.Handler {
	b := *a
	b.opts.Public = public
	return b.Middleware(next)
}

// Middleware refuses requests that do not carry valid credentials for
// their action: a SigV4 signature (header or presigned URL), a bearer
// token, or the console's session cookie.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.opts.Public(r) {
			if a.login(w, r) {
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		p, e := a.Authenticate(w, r)
		if e == nil {
			e = a.allow(p, a.opts.Action(r))
		}
		if e != nil {
			a.refuse(w, r, e)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// Authenticate finds who r comes from. For a SigV4 signature it reads the
// body (at most MaxBodyBytes, a larger one is a 413) and keeps it in r for
// the handler.
func (a *Authenticator) Authenticate(w http.ResponseWriter, r *http.Request) (Principal, *Error) {
	h := r.Header.Get("Authorization")
	switch {
	case isSigV4(r):
		s, key, e := a.opts.Keys.checkSigV4Header(r, a.opts.Now())
		if e != nil {
			return Principal{}, e
		}
		body, err := httpbody.Read(w, r, a.opts.MaxBodyBytes)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return Principal{}, &Error{http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
					fmt.Sprintf("request body exceeds the %d-byte limit", a.opts.MaxBodyBytes)}
			}
			return Principal{}, &Error{http.StatusBadRequest, "InvalidRequestException", "reading request body: " + err.Error()}
		}
		httpbody.Keep(r, body)
		return s.verify(r, body, key)
	case h != "":
		return a.bearer(h)
	}
	if p, ok := a.cookie(r); ok {
		return p, nil
	}
	if a.opts.Unsigned != nil {
		if p, ok := a.opts.Unsigned(r); ok {
			return p, nil
		}
	}
	return Principal{}, errMissing()
}

// bearer checks an Authorization: Bearer TOKEN header.
func (a *Authenticator) bearer(h string) (Principal, *Error) {
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, errIncomplete(fmt.Sprintf("Authorization header: unsupported scheme %q, want %s or Bearer", scheme, algorithm))
	}
	p, ok := a.opts.Keys.Token(strings.TrimSpace(token))
	if !ok {
		return Principal{}, errUnrecognized()
	}
	return p, nil
}

func (a *Authenticator) allow(p Principal, act Action) *Error {
	if act.Write && p.Role != RoleWrite {
		return &Error{http.StatusForbidden, "AccessDeniedException",
			fmt.Sprintf("User: %s is not authorized to perform: %s (the key is read-only in the auth file)", p.Name, act.Name)}
	}
	return nil
}

func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, e *Error) {
	a.count(e.Code)
	a.opts.Logger.Debug("request refused", "code", e.Code, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "message", e.Message)
	a.opts.WriteError(w, e)
}

// cookie accepts the console's session cookie.
func (a *Authenticator) cookie(r *http.Request) (Principal, bool) {
	if a.opts.LoginToken == "" {
		return Principal{}, false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.opts.LoginToken)) != 1 {
		return Principal{}, false
	}
	return Principal{Name: "console", Role: RoleWrite}, true
}

// login handles GET ?token=... on a public page: the right token sets the
// session cookie and redirects to the page without the token, so it does
// not stay in the address bar or the history; a wrong one is refused.
func (a *Authenticator) login(w http.ResponseWriter, r *http.Request) bool {
	if a.opts.LoginToken == "" || r.Method != http.MethodGet || !r.URL.Query().Has("token") {
		return false
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("token")), []byte(a.opts.LoginToken)) != 1 {
		a.refuse(w, r, &Error{http.StatusForbidden, "UnrecognizedClientException",
			"The login token is not this server's: use the URL counterspy serve printed at its latest start."})
		return true
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: a.opts.LoginToken, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	q.Del("token")
	u := *r.URL
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	return true
}
