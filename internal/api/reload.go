package api

import "context"

// ReloadShared reloads what other servers sharing the store may have
// changed and this API caches: the sampling rules (docs/scaling.md).
func (a *API) ReloadShared(ctx context.Context) error {
	_, err := a.rules.Reload(ctx)
	return err
}
