// Package controlplane is the part of the Lambda API beyond Invoke that
// tools use to see and change functions: GetFunction,
// GetFunctionConfiguration, ListFunctions, CreateFunction,
// UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction and the
// reserved-concurrency operations, on Lambda's REST paths with its JSON
// shapes and errors (https://docs.aws.amazon.com/lambda/latest/api/API_Operations.html),
// so `aws lambda list-functions --endpoint-url ...`, the AWS SDKs and
// deployment scripts work against the emulator.
//
// Code arrives as a zip (Code.ZipFile, base64 in the JSON body, what
// `aws lambda create-function --zip-file fileb://code.zip` sends) and is
// unpacked into a directory under the code root that this package owns;
// code in S3 or in a container image cannot be fetched here and is refused
// with a clear error. The functions themselves live in a Backend (the
// emulator), which starts new instances with the new code while running
// invocations finish on the old ones.
package controlplane

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/counterspy/counterspy/internal/lambda/code"
	"github.com/counterspy/counterspy/internal/lambda/invoke"
)

// Function is a function's definition as the control plane sees it.
type Function struct {
	Name, Runtime, Handler string
	Role, Description      string
	MemoryMB               int
	Timeout                time.Duration
	Environment            map[string]string
	Tracing                string // Active or PassThrough
	// Reserved is the reserved concurrency (nil: none set; 0 throttles
	// every invocation).
	Reserved *int
	// CodeDir holds the code; Managed says this package unpacked it there
	// (and the backend removes it once no instance uses it).
	CodeDir    string
	Managed    bool
	CodeSize   int64
	CodeSha256 string
	// Command, when set, is how the emulator's configuration starts the
	// function (functions.json); the API never sets it.
	Command      []string
	LastModified time.Time
	RevisionID   string
}

// Errors a Backend returns.
var (
	ErrExists   = errors.New("function already exists")
	ErrNotFound = errors.New("function not found")
)

// Backend holds the functions (the emulator).
type Backend interface {
	Functions() []Function
	Function(name string) (Function, bool)
	// Create adds a function (ErrExists when the name is taken).
	Create(Function) error
	// Update replaces a function's definition; invocations running on the
	// old one finish there (ErrNotFound when there is none).
	Update(Function) error
	// Delete removes a function (ErrNotFound).
	Delete(name string) error
	// ARN is a function's ARN.
	ARN(name string) string
}

// Limits of the API (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
const (
	// MaxZipped is the largest deployment package uploaded directly (50 MB);
	// base64 in JSON makes the request about 4/3 of it.
	MaxZipped      = 50 << 20
	maxRequestBody = MaxZipped*4/3 + 1<<20
	maxListItems   = 10000
	defaultList    = 50
)

// Service serves the control plane operations.
type Service struct {
	b        Backend
	codeRoot string
	log      *slog.Logger
	// mu serializes changes, so a read-modify-write (UpdateFunctionCode on
	// a configuration) does not lose a concurrent one.
	mu sync.Mutex
}

// New returns the service; uploaded code is unpacked under codeRoot.
func New(b Backend, codeRoot string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{b: b, codeRoot: codeRoot, log: log}
}

// Register adds the routes to mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /2015-03-31/functions", s.list)
	mux.HandleFunc("GET /2015-03-31/functions/{$}", s.list)
	mux.HandleFunc("POST /2015-03-31/functions", s.create)
	mux.HandleFunc("POST /2015-03-31/functions/{$}", s.create)
	mux.HandleFunc("GET /2015-03-31/functions/{name}", s.get)
	mux.HandleFunc("DELETE /2015-03-31/functions/{name}", s.delete)
	mux.HandleFunc("GET /2015-03-31/functions/{name}/configuration", s.getConfiguration)
	mux.HandleFunc("PUT /2015-03-31/functions/{name}/configuration", s.updateConfiguration)
	mux.HandleFunc("PUT /2015-03-31/functions/{name}/code", s.updateCode)
	mux.HandleFunc("PUT /2017-10-31/functions/{name}/concurrency", s.putConcurrency)
	mux.HandleFunc("DELETE /2017-10-31/functions/{name}/concurrency", s.deleteConcurrency)
	mux.HandleFunc("GET /2019-09-30/functions/{name}/concurrency", s.getConcurrency)
}

func apiError(status int, typ, format string, args ...any) *invoke.Error {
	return &invoke.Error{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *invoke.Error {
	return apiError(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// lookup resolves the {name} of a path: a name, an ARN or a partial ARN,
// with an optional qualifier (only $LATEST exists here).
func (s *Service) lookup(r *http.Request) (Function, error) {
	name := r.PathValue("name")
	n, qualifier := splitName(name)
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	f, ok := s.b.Function(n)
	if !ok {
		return Function{}, invoke.NotFound(s.b.ARN(n))
	}
	if qualifier != "" && qualifier != "$LATEST" {
		return Function{}, invoke.NotFound(s.b.ARN(n) + ":" + qualifier)
	}
	return f, nil
}

// splitName reads "name", "name:qualifier", "account:function:name[:q]"
// and "arn:aws:lambda:region:account:function:name[:q]".
func splitName(s string) (name, qualifier string) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function":
		name = parts[6]
		if len(parts) > 7 {
			qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
		if len(parts) > 3 {
			qualifier = parts[3]
		}
	case len(parts) == 2:
		name, qualifier = parts[0], parts[1]
	default:
		name = s
	}
	return name, qualifier
}

// configuration is FunctionConfiguration
// (https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html).
type configuration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime,omitempty"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler,omitempty"`
	CodeSize         int64             `json:"CodeSize"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	CodeSha256       string            `json:"CodeSha256"`
	Version          string            `json:"Version"`
	Environment      *environment      `json:"Environment,omitempty"`
	TracingConfig    tracingConfig     `json:"TracingConfig"`
	RevisionID       string            `json:"RevisionId"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	EphemeralStorage map[string]int    `json:"EphemeralStorage"`
	LoggingConfig    map[string]string `json:"LoggingConfig"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

type tracingConfig struct {
	Mode string `json:"Mode"`
}

// lastModified is Lambda's timestamp format: "2026-11-25T10:00:00.000+0000".
const lastModified = "2006-01-02T15:04:05.000-0700"

func (s *Service) configuration(f Function) configuration {
	c := configuration{
		FunctionName: f.Name, FunctionArn: s.b.ARN(f.Name), Runtime: f.Runtime, Handler: f.Handler,
		Role: f.Role, CodeSize: f.CodeSize, Description: f.Description,
		Timeout: int(math.Ceil(f.Timeout.Seconds())), MemorySize: f.MemoryMB,
		LastModified: f.LastModified.UTC().Format(lastModified), CodeSha256: f.CodeSha256, Version: "$LATEST",
		TracingConfig: tracingConfig{Mode: f.Tracing}, RevisionID: f.RevisionID, State: "Active",
		LastUpdateStatus: "Successful", PackageType: "Zip", Architectures: []string{"x86_64"},
		EphemeralStorage: map[string]int{"Size": 512},
		LoggingConfig:    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + f.Name},
	}
	if c.Role == "" {
		c.Role = "arn:aws:iam::" + accountOf(c.FunctionArn) + ":role/counterspy-local"
	}
	if len(f.Environment) > 0 {
		c.Environment = &environment{Variables: f.Environment}
	}
	return c
}

func accountOf(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) > 4 {
		return parts[4]
	}
	return ""
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	f, err := s.lookup(r)
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	out := map[string]any{
		"Configuration": s.configuration(f),
		// Lambda hands out a presigned S3 URL; here the code is a local
		// directory.
		"Code": map[string]string{"RepositoryType": "S3", "Location": "file://" + f.CodeDir},
		"Tags": map[string]string{},
	}
	if f.Reserved != nil {
		out["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *f.Reserved}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) getConfiguration(w http.ResponseWriter, r *http.Request) {
	f, err := s.lookup(r)
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.configuration(f))
}

// list is ListFunctions: functions in name order, MaxItems per page,
// NextMarker naming the first function of the next page (a marker stays
// valid when that function is deleted meanwhile).
func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultList
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListItems {
			invoke.WriteError(w, invalid("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and %d", v, maxListItems))
			return
		}
		limit = n
	}
	fns := s.b.Functions()
	slices.SortFunc(fns, func(a, b Function) int { return strings.Compare(a.Name, b.Name) })
	start := 0
	if m := q.Get("Marker"); m != "" {
		start, _ = slices.BinarySearchFunc(fns, m, func(f Function, m string) int { return strings.Compare(f.Name, m) })
	}
	page := fns[start:min(start+limit, len(fns))]
	out := struct {
		Functions  []configuration `json:"Functions"`
		NextMarker string          `json:"NextMarker,omitempty"`
	}{Functions: make([]configuration, 0, len(page))}
	for _, f := range page {
		out.Functions = append(out.Functions, s.configuration(f))
	}
	if end := start + len(page); end < len(fns) {
		out.NextMarker = fns[end].Name
	}
	writeJSON(w, http.StatusOK, out)
}

// codeInput is FunctionCode
// (https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCode.html);
// encoding/json decodes ZipFile from base64 as the API sends it.
type codeInput struct {
	ZipFile         []byte `json:"ZipFile"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	ImageURI        string `json:"ImageUri"`
}

// configInput holds the fields CreateFunction and
// UpdateFunctionConfiguration share; pointers tell "absent" from zero.
type configInput struct {
	Runtime       *string      `json:"Runtime"`
	Handler       *string      `json:"Handler"`
	Role          *string      `json:"Role"`
	Description   *string      `json:"Description"`
	Timeout       *int         `json:"Timeout"`
	MemorySize    *int         `json:"MemorySize"`
	Environment   *environment `json:"Environment"`
	TracingConfig *struct {
		Mode string `json:"Mode"`
	} `json:"TracingConfig"`
	PackageType string `json:"PackageType"`
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// apply validates in and sets it on f.
func (in *configInput) apply(f *Function) error {
	if in.PackageType == "Image" {
		return invalid("PackageType Image is not supported by the local emulator: use a Zip package")
	}
	if in.Runtime != nil {
		f.Runtime = *in.Runtime
	}
	if in.Handler != nil {
		f.Handler = *in.Handler
	}
	if in.Role != nil {
		f.Role = *in.Role
	}
	if in.Description != nil {
		if len(*in.Description) > 256 {
			return invalid("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
		}
		f.Description = *in.Description
	}
	if in.Timeout != nil {
		if *in.Timeout < 1 || *in.Timeout > 900 {
			return invalid("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", *in.Timeout)
		}
		f.Timeout = time.Duration(*in.Timeout) * time.Second
	}
	if in.MemorySize != nil {
		if *in.MemorySize < 128 || *in.MemorySize > 10240 {
			return invalid("1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240", *in.MemorySize)
		}
		f.MemoryMB = *in.MemorySize
	}
	if in.Environment != nil {
		f.Environment = in.Environment.Variables
		for k := range f.Environment {
			if strings.HasPrefix(k, "AWS_") && k != "AWS_LAMBDA_EXEC_WRAPPER" {
				// Lambda reserves these names.
				return invalid("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", k)
			}
		}
	}
	if in.TracingConfig != nil {
		switch in.TracingConfig.Mode {
		case "Active", "PassThrough":
			f.Tracing = in.TracingConfig.Mode
		default:
			return invalid("1 validation error detected: Value '%s' at 'tracingConfig.mode' failed to satisfy constraint: Member must satisfy enum value set: [Active, PassThrough]", in.TracingConfig.Mode)
		}
	}
	return nil
}

// readBody decodes a JSON request body of at most limit bytes.
func readBody(r *http.Request, limit int64, op string, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return apiError(http.StatusBadRequest, "InvalidRequestContentException", "reading the request: %v", err)
	}
	if int64(len(b)) > limit {
		return apiError(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
			"Request must be smaller than %d bytes for the %s operation", limit, op)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return apiError(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: %v", err)
	}
	return nil
}

// unpack checks a FunctionCode and unpacks its zip into a new directory.
func (s *Service) unpack(name string, c codeInput) (dir string, size int64, sha string, err error) {
	switch {
	case c.S3Bucket != "" || c.S3Key != "":
		return "", 0, "", invalid("Code.S3Bucket/S3Key: the local emulator cannot fetch code from S3; upload the package itself (Code.ZipFile, aws lambda create-function --zip-file fileb://function.zip)")
	case c.ImageURI != "":
		return "", 0, "", invalid("Code.ImageUri: container images are not supported by the local emulator; upload a zip (Code.ZipFile)")
	case len(c.ZipFile) == 0:
		return "", 0, "", invalid("Code.ZipFile is required (aws lambda create-function --zip-file fileb://function.zip)")
	case len(c.ZipFile) > MaxZipped:
		return "", 0, "", apiError(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException",
			"Zipped size %d bytes exceeds the direct upload limit of %d bytes", len(c.ZipFile), MaxZipped)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	dir = filepath.Join(s.codeRoot, name+"-"+hex.EncodeToString(rnd[:]))
	if err := code.Unzip(c.ZipFile, dir); err != nil {
		return "", 0, "", invalid("Could not unzip uploaded file. Please check your file, then try to upload again. (%v)", err)
	}
	return dir, int64(len(c.ZipFile)), code.Sha256(c.ZipFile), nil
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FunctionName string    `json:"FunctionName"`
		Code         codeInput `json:"Code"`
		configInput
		ReservedConcurrentExecutions *int     `json:"ReservedConcurrentExecutions"`
		Layers                       []string `json:"Layers"`
	}
	if err := readBody(r, maxRequestBody, "CreateFunction", &in); err != nil {
		invoke.WriteError(w, err)
		return
	}
	if !nameRE.MatchString(in.FunctionName) {
		invoke.WriteError(w, invalid("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]{1,64}", in.FunctionName))
		return
	}
	f := Function{Name: in.FunctionName, MemoryMB: 128, Timeout: 3 * time.Second, Tracing: "PassThrough"}
	if err := in.configInput.apply(&f); err != nil {
		invoke.WriteError(w, err)
		return
	}
	if f.Runtime == "" {
		invoke.WriteError(w, invalid("Runtime is required for a Zip package"))
		return
	}
	if f.Handler == "" && !strings.HasPrefix(f.Runtime, "provided") {
		invoke.WriteError(w, invalid("Handler is required for runtime %s", f.Runtime))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.b.Function(f.Name); ok {
		invoke.WriteError(w, apiError(http.StatusConflict, "ResourceConflictException", "Function already exist: %s", f.Name))
		return
	}
	dir, size, sha, err := s.unpack(f.Name, in.Code)
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	f.CodeDir, f.Managed, f.CodeSize, f.CodeSha256 = dir, true, size, sha
	f.LastModified, f.RevisionID = time.Now(), uuid.NewString()
	f.Reserved = in.ReservedConcurrentExecutions
	if err := s.b.Create(f); err != nil {
		os.RemoveAll(dir)
		if errors.Is(err, ErrExists) {
			err = apiError(http.StatusConflict, "ResourceConflictException", "Function already exist: %s", f.Name)
		} else {
			err = invalid("%v", err)
		}
		invoke.WriteError(w, err)
		return
	}
	s.log.Info("lambda: function created", "function", f.Name, "runtime", f.Runtime, "code", dir)
	if len(in.Layers) > 0 {
		s.log.Warn("lambda: layers are not fetched locally; put extensions in the package's extensions/ directory",
			"function", f.Name, "layers", in.Layers)
	}
	writeJSON(w, http.StatusCreated, s.configuration(f))
}

func (s *Service) updateCode(w http.ResponseWriter, r *http.Request) {
	var in struct {
		codeInput
		DryRun     bool   `json:"DryRun"`
		RevisionID string `json:"RevisionId"`
	}
	if err := readBody(r, maxRequestBody, "UpdateFunctionCode", &in); err != nil {
		invoke.WriteError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.lookup(r)
	if err == nil && in.RevisionID != "" && in.RevisionID != f.RevisionID {
		err = revisionConflict()
	}
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	dir, size, sha, err := s.unpack(f.Name, in.codeInput)
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	if in.DryRun {
		os.RemoveAll(dir)
		writeJSON(w, http.StatusOK, s.configuration(f))
		return
	}
	f.CodeDir, f.Managed, f.CodeSize, f.CodeSha256, f.Command = dir, true, size, sha, nil
	s.save(w, f)
}

func (s *Service) updateConfiguration(w http.ResponseWriter, r *http.Request) {
	var in struct {
		configInput
		RevisionID string `json:"RevisionId"`
	}
	if err := readBody(r, 1<<20, "UpdateFunctionConfiguration", &in); err != nil {
		invoke.WriteError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.lookup(r)
	if err == nil && in.RevisionID != "" && in.RevisionID != f.RevisionID {
		err = revisionConflict()
	}
	if err == nil {
		err = in.configInput.apply(&f)
	}
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	s.save(w, f)
}

func revisionConflict() error {
	return apiError(http.StatusPreconditionFailed, "PreconditionFailedException", "%s",
		"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

// save stores a changed definition and answers with its configuration.
func (s *Service) save(w http.ResponseWriter, f Function) {
	f.LastModified, f.RevisionID = time.Now(), uuid.NewString()
	if err := s.b.Update(f); err != nil {
		if errors.Is(err, ErrNotFound) {
			err = invoke.NotFound(s.b.ARN(f.Name))
		} else {
			err = invalid("%v", err)
		}
		invoke.WriteError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.configuration(f))
}

func (s *Service) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.lookup(r)
	if err == nil {
		if err = s.b.Delete(f.Name); errors.Is(err, ErrNotFound) {
			err = invoke.NotFound(s.b.ARN(f.Name))
		}
	}
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	s.log.Info("lambda: function deleted", "function", f.Name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) putConcurrency(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
	}
	if err := readBody(r, 1<<20, "PutFunctionConcurrency", &in); err != nil {
		invoke.WriteError(w, err)
		return
	}
	n := in.ReservedConcurrentExecutions
	if n == nil || *n < 0 || *n > 1000 {
		invoke.WriteError(w, invalid("ReservedConcurrentExecutions must be between 0 and 1000 (the account's default limit)"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.lookup(r)
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	f.Reserved = n
	if err := s.b.Update(f); err != nil {
		invoke.WriteError(w, invalid("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"ReservedConcurrentExecutions": *n})
}

func (s *Service) deleteConcurrency(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.lookup(r)
	if err == nil {
		f.Reserved = nil
		err = s.b.Update(f)
	}
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) getConcurrency(w http.ResponseWriter, r *http.Request) {
	f, err := s.lookup(r)
	if err != nil {
		invoke.WriteError(w, err)
		return
	}
	out := map[string]int{}
	if f.Reserved != nil {
		out["ReservedConcurrentExecutions"] = *f.Reserved
	}
	writeJSON(w, http.StatusOK, out)
}
