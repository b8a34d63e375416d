package server

import "time"

// Listener is one address the server answers on, for the startup banner.
type Listener struct {
	// Name says what it serves ("X-Ray API and console").
	Name string
	// Addr is the bound address: a URL for HTTP listeners, host:port
	// otherwise.
	Addr string
	// Hint says how clients are pointed at it.
	Hint string
}

// Listeners lists every bound listener, in the order a user looks for them.
func (s *Server) Listeners() []Listener {
	ls := []Listener{
		{Name: "X-Ray API + console", Addr: s.baseURL() + "/", Hint: "aws --endpoint-url, AWS_ENDPOINT_URL_XRAY"},
		{Name: "X-Ray daemon (UDP)", Addr: s.UDPAddr(), Hint: "AWS_XRAY_DAEMON_ADDRESS"},
	}
	if a := s.OTLPHTTPAddr(); a != "" {
		ls = append(ls, Listener{Name: "OTLP/HTTP", Addr: "http://" + a, Hint: "OTEL_EXPORTER_OTLP_ENDPOINT"})
	}
	if a := s.OTLPGRPCAddr(); a != "" {
		ls = append(ls, Listener{Name: "OTLP/gRPC", Addr: a, Hint: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"})
	}
	if s.lambda != nil {
		ls = append(ls, Listener{Name: "Lambda Invoke API", Addr: s.baseURL(), Hint: "aws lambda --endpoint-url, AWS_ENDPOINT_URL_LAMBDA"})
	}
	return ls
}

// baseURL is the HTTP API's URL (https with --tls-cert).
func (s *Server) baseURL() string {
	if s.sec.tls != nil {
		return "https://" + s.HTTPAddr()
	}
	return "http://" + s.HTTPAddr()
}

// DataDir is the data directory in use.
func (s *Server) DataDir() string { return s.cfg.DataDir }

// Retention is how long traces are kept.
func (s *Server) Retention() time.Duration { return s.cfg.Retention }
