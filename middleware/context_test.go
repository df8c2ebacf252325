package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type otherKey struct{}

func TestAccessors(t *testing.T) {
	mw := AuthWithConfig(AuthConfig{BotToken: testToken, Now: fixedClock(testNow)})
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "kept"))
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(parent)
	req.Header.Set(echo.HeaderAuthorization, "tma "+signed(testToken, nil))
	c := echo.New().NewContext(req, httptest.NewRecorder())

	var seen bool
	err := mw(func(c echo.Context) error {
		seen = true
		d, ok := InitDataFrom(c)
		require.True(t, ok)
		assert.Equal(t, testUser, d.User)
		u, ok := UserFrom(c)
		require.True(t, ok)
		assert.Equal(t, testUser, u)
		id, ok := UserID(c)
		require.True(t, ok)
		assert.Equal(t, testUser.ID, id)

		ctx := c.Request().Context()
		dc, ok := InitDataFromContext(ctx)
		require.True(t, ok)
		assert.Same(t, d, dc)
		u, ok = UserFromContext(ctx)
		require.True(t, ok)
		assert.Equal(t, testUser, u)
		id, ok = UserIDFromContext(ctx)
		require.True(t, ok)
		assert.Equal(t, testUser.ID, id)

		// The derived context keeps the parent's values and cancellation,
		// also through contexts derived from it later.
		assert.Equal(t, "kept", ctx.Value(otherKey{}))
		child, stop := context.WithCancel(ctx)
		defer stop()
		_, ok = UserIDFromContext(child)
		assert.True(t, ok)
		cancel()
		<-child.Done()
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		return nil
	})(c)
	require.NoError(t, err)
	require.True(t, seen)

	// The caller's request is not modified: Auth works on a copy.
	_, ok := InitDataFromContext(req.Context())
	assert.False(t, ok)
	assert.NotSame(t, req, c.Request())
	assert.Equal(t, req.Header, c.Request().Header)
}

func TestAccessors_absent(t *testing.T) {
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	_, ok := InitDataFrom(c)
	assert.False(t, ok)
	_, ok = UserFrom(c)
	assert.False(t, ok)
	id, ok := UserID(c)
	assert.False(t, ok)
	assert.Zero(t, id)
	_, ok = InitDataFromContext(WithInitData(context.Background(), nil))
	assert.False(t, ok, "a nil *InitData is not an authenticated user")
}

func TestWithInitData(t *testing.T) {
	d := &InitData{User: testUser}
	ctx := WithInitData(context.WithValue(context.Background(), otherKey{}, 1), d)
	got, ok := InitDataFromContext(ctx)
	require.True(t, ok)
	assert.Same(t, d, got)
	id, ok := UserIDFromContext(ctx)
	assert.True(t, ok)
	assert.Equal(t, testUser.ID, id)
	assert.Equal(t, 1, ctx.Value(otherKey{}))
}
