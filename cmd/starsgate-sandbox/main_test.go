package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/botapi"
)

func TestRunServesUntilCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, outW := io.Pipe()
	env := map[string]string{"SANDBOX_TOKEN": "4242:env_token"}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-username", "my_bot"},
			func(k string) string { return env[k] }, outW, io.Discard)
		outW.Close()
	}()

	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan())
	first := lines.Text()
	url, ok := strings.CutPrefix(first, "starsgate sandbox listening on ")
	require.True(t, ok, first)
	require.True(t, lines.Scan())
	assert.Contains(t, lines.Text(), "4242:env_token", "the token from the environment")
	go func() { // keep the pipe drained
		for lines.Scan() {
		}
	}()

	bot, err := botapi.New(botapi.Config{Token: "4242:env_token", BaseURL: url})
	require.NoError(t, err)
	reqCtx, reqCancel := context.WithTimeout(ctx, 10*time.Second)
	defer reqCancel()
	me, err := bot.GetMe(reqCtx)
	require.NoError(t, err)
	assert.EqualValues(t, 4242, me.ID)
	assert.Equal(t, "my_bot", me.Username)

	resp, err := http.Get(url + "/sandbox/info")
	require.NoError(t, err)
	var info map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	resp.Body.Close()
	assert.EqualValues(t, 4242, info["bot_id"])

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	_, err = http.Get(url + "/sandbox/info")
	assert.Error(t, err, "the listener is closed")
}

func TestRunRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"nok, malformed token", []string{"-addr", "127.0.0.1:0", "-token", "nope"}, 1},
		{"nok, unknown flag", []string{"-bogus"}, 2},
		{"ok, help", []string{"-h"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			code := run(t.Context(), tt.args, func(string) string { return "" }, io.Discard, &stderr)
			assert.Equal(t, tt.want, code)
			if tt.want == 1 {
				assert.Contains(t, stderr.String(), "invalid bot token")
				assert.NotContains(t, stderr.String(), "nope")
			}
		})
	}
}
