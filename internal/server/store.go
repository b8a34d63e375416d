package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/counterspy/counterspy/internal/store"
	"github.com/counterspy/counterspy/internal/store/clickhouse"
	"github.com/counterspy/counterspy/internal/store/memstore"
	"github.com/counterspy/counterspy/internal/store/pebblestore"
)

// openStore opens the backend cfg.Store names: "" or "pebble" is the
// embedded store in cfg.DataDir, clickhouse://HOST:PORT/DATABASE a
// ClickHouse server (native protocol port).
func openStore(cfg Config) (store.Store, error) {
	switch {
	case cfg.Store == "" || cfg.Store == "pebble":
		sopts := cfg.Pebble
		sopts.NoSync, sopts.Logger = cfg.NoSync, cfg.Logger
		sopts.ReadOnlyWhenFull = true // serve reads on a full disk (docs/durability.md)
		st, err := pebblestore.Open(filepath.Join(cfg.DataDir, "traces"), sopts)
		if err != nil {
			return nil, fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
		}
		return st, nil
	case cfg.Store == "memory":
		// The reference backend: nothing survives the process (tests, demos).
		return memstore.New(), nil
	case strings.HasPrefix(cfg.Store, "clickhouse://"):
		opts, err := clickhouse.ParseURL(cfg.Store)
		if err != nil {
			return nil, err
		}
		opts.Logger = cfg.Logger
		st, err := clickhouse.Open(context.Background(), opts)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown store %q: want pebble, memory or clickhouse://HOST:PORT/DATABASE", cfg.Store)
}
