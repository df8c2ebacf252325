package middleware

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Auth keeps the verified init data in the request's context.Context only
// (not in echo's c.Set store), so one value serves both the echo.Context and
// the context.Context accessors. Putting a value in a request's context
// normally costs two allocations (context.WithValue and the copy made by
// Request.WithContext) and c.Set costs two more (echo allocates the map on
// the first Set of each request); attach costs one.

// ctxKey is the context key of the verified *InitData.
type ctxKey struct{}

// initDataContext is a context.Context that carries the verified init data
// and delegates everything else to the request's context.
type initDataContext struct {
	context.Context
	data *InitData
}

func (c *initDataContext) Value(key any) any {
	if key == (ctxKey{}) {
		return c.data
	}
	return c.Context.Value(key)
}

// authedRequest holds the new request and its context in one allocation.
type authedRequest struct {
	req http.Request
	ctx initDataContext
}

// attach makes d visible to InitDataFrom and InitDataFromContext for the rest
// of the chain. The request is replaced by a shallow copy with a derived
// context, exactly as Request.WithContext does; the original is not modified.
func attach(c echo.Context, d *InitData) {
	r := c.Request()
	ar := &authedRequest{ctx: initDataContext{Context: r.Context(), data: d}}
	// WithContext is inlined and its result does not escape: copying it into
	// ar avoids a second allocation.
	ar.req = *r.WithContext(&ar.ctx)
	c.SetRequest(&ar.req)
}

// WithInitData returns a copy of ctx that carries d, for code that runs
// outside Auth (tests, background jobs acting for a user).
func WithInitData(ctx context.Context, d *InitData) context.Context {
	return &initDataContext{Context: ctx, data: d}
}

// InitDataFromContext returns the init data that Auth verified for the
// request ctx belongs to (or that WithInitData put there).
func InitDataFromContext(ctx context.Context) (*InitData, bool) {
	d, ok := ctx.Value(ctxKey{}).(*InitData)
	return d, ok && d != nil
}

// UserFromContext returns the authenticated user carried by ctx.
func UserFromContext(ctx context.Context) (User, bool) {
	if d, ok := InitDataFromContext(ctx); ok {
		return d.User, true
	}
	return User{}, false
}

// UserIDFromContext returns the authenticated user's ID carried by ctx.
func UserIDFromContext(ctx context.Context) (int64, bool) {
	if d, ok := InitDataFromContext(ctx); ok {
		return d.User.ID, true
	}
	return 0, false
}

// InitDataFrom returns the init data that Auth verified for this request.
// The value is shared with other requests of the same session: read-only.
func InitDataFrom(c echo.Context) (*InitData, bool) {
	return InitDataFromContext(c.Request().Context())
}

// UserFrom returns the authenticated user of this request.
func UserFrom(c echo.Context) (User, bool) {
	return UserFromContext(c.Request().Context())
}

// UserID returns the authenticated user's ID of this request.
func UserID(c echo.Context) (int64, bool) {
	return UserIDFromContext(c.Request().Context())
}
