package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/internal/redistest"
)

func TestPrecheckoutInResponse(t *testing.T) {
	redistest.Client(t) // fails, never skips, without Redis
	var out bytes.Buffer
	c, err := precheckoutInResponse(t.Context(), smokeOptions(), &out)
	require.NoError(t, err)
	for _, s := range []*side{&c.baseline, &c.subject} {
		assert.Positive(t, s.requests, s.name)
		assert.Zero(t, s.errors, "%s: %v", s.name, s.firstErr)
	}
	assert.Contains(t, out.String(), "answer in the webhook response")
	assert.Contains(t, out.String(), "answers sent through the Bot API: 0 ok, 0 refused", "answered in the response body instead")
}
