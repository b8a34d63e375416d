package api

import (
	"context"
	"errors"
)

// ReloadShared reloads what other servers sharing the store may have
// changed and this API caches: the sampling rules, and the insights of
// the groups another node evaluates (docs/scaling.md).
func (a *API) ReloadShared(ctx context.Context) error {
	_, err := a.rules.Reload(ctx)
	return errors.Join(err, a.insights.Reload(ctx))
}
