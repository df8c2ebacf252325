package checkout

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
)

func TestReadBody(t *testing.T) {
	errBroken := errors.New("connection reset")
	tests := []struct {
		name           string
		givenBody      io.Reader
		givenLength    int64 // Content-Length; -1 unknown (chunked)
		givenLimit     int64
		expectBody     string
		expectTooLarge bool
		expectErr      error
	}{
		{name: "ok, length known", givenBody: strings.NewReader("hello"), givenLength: 5, givenLimit: 10, expectBody: "hello"},
		{name: "ok, length unknown", givenBody: strings.NewReader("hello"), givenLength: -1, givenLimit: 10, expectBody: "hello"},
		{name: "ok, empty", givenBody: strings.NewReader(""), givenLength: 0, givenLimit: 10, expectBody: ""},
		{name: "ok, exactly the limit, length unknown", givenBody: strings.NewReader("0123456789"), givenLength: -1, givenLimit: 10,
			expectBody: "0123456789"},
		{name: "ok, unknown length, grows past 512 bytes", givenBody: strings.NewReader(strings.Repeat("x", 5000)), givenLength: -1,
			givenLimit: 1 << 20, expectBody: strings.Repeat("x", 5000)},
		{name: "ok, one byte at a time", givenBody: iotest.OneByteReader(strings.NewReader(strings.Repeat("y", 700))), givenLength: -1,
			givenLimit: 700, expectBody: strings.Repeat("y", 700)},
		{name: "nok, length announced over the limit", givenBody: strings.NewReader("01234567890"), givenLength: 11, givenLimit: 10,
			expectTooLarge: true},
		{name: "nok, length unknown, one byte over the limit", givenBody: strings.NewReader("01234567890"), givenLength: -1,
			givenLimit: 10, expectTooLarge: true},
		{name: "nok, length unknown, far over the limit", givenBody: strings.NewReader(strings.Repeat("z", 5000)), givenLength: -1,
			givenLimit: 600, expectTooLarge: true},
		{name: "nok, read fails", givenBody: iotest.ErrReader(errBroken), givenLength: -1, givenLimit: 10, expectErr: errBroken},
		{name: "nok, read fails after some data", givenBody: io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errBroken)),
			givenLength: 6, givenLimit: 10, expectErr: errBroken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/webhook", tc.givenBody)
			req.ContentLength = tc.givenLength
			body, tooLarge, err := readBody(req, tc.givenLimit)
			assert.Equal(t, tc.expectTooLarge, tooLarge)
			if tc.expectErr != nil {
				assert.ErrorIs(t, err, tc.expectErr)
				return
			}
			assert.NoError(t, err)
			if !tc.expectTooLarge {
				assert.Equal(t, tc.expectBody, string(body))
			}
		})
	}
}
