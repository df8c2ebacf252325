package middleware

import (
	"log/slog"

	"github.com/labstack/echo/v4"
)

// logAt logs msg with the request's method and route; logger nil means
// slog.Default() at the time of the call.
func logAt(logger *slog.Logger, c echo.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if logger == nil {
		logger = slog.Default()
	}
	ctx := c.Request().Context()
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs = append(attrs, slog.String("method", c.Request().Method), slog.String("path", c.Path()))
	logger.LogAttrs(ctx, level, msg, attrs...)
}

func logDebug(logger *slog.Logger, c echo.Context, msg string, attrs ...slog.Attr) {
	logAt(logger, c, slog.LevelDebug, msg, attrs...)
}

func logWarn(logger *slog.Logger, c echo.Context, msg string, attrs ...slog.Attr) {
	logAt(logger, c, slog.LevelWarn, msg, attrs...)
}
