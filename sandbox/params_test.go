package sandbox

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseParams(t *testing.T) {
	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	require.NoError(t, mw.WriteField("chat_id", "42"))
	require.NoError(t, mw.WriteField("text", "héllo"))
	require.NoError(t, mw.Close())

	tests := []struct {
		name        string
		query       string
		contentType string
		body        string
		want        params
		wantErr     bool
	}{
		{"ok, query only", "a=1&b=x", "", "", params{"a": "1", "b": "x"}, false},
		{"ok, form body overrides query", "a=1", "application/x-www-form-urlencoded", "a=2&c=%5B1%5D", params{"a": "2", "c": "[1]"}, false},
		{"ok, JSON scalars become text", "", "application/json", `{"s":"x","n":12,"f":1.5,"t":true,"z":null}`,
			params{"s": "x", "n": "12", "f": "1.5", "t": "true"}, false},
		{"ok, JSON arrays and objects stay JSON", "", "application/json", `{"prices":[{"label":"a","amount":1}],"o":{"k":"v"}}`,
			params{"prices": `[{"label":"a","amount":1}]`, "o": `{"k":"v"}`}, false},
		{"ok, JSON null body", "", "application/json", `null`, params{}, false},
		{"ok, multipart", "", mw.FormDataContentType(), multi.String(), params{"chat_id": "42", "text": "héllo"}, false},
		{"ok, unknown content type ignored", "q=1", "text/plain", "a=2", params{"q": "1"}, false},
		{"ok, empty body with JSON type", "", "application/json", "  ", params{}, false},
		{"nok, JSON array body", "", "application/json", `[1]`, nil, true},
		{"nok, broken JSON", "", "application/json", `{"a":1`, nil, true},
		{"nok, bad form escape", "", "application/x-www-form-urlencoded", "a=%zz", nil, true},
		{"nok, multipart without boundary", "", "multipart/form-data", "x", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			got, err := parseParams(q, tt.contentType, []byte(tt.body))
			if tt.wantErr {
				require.ErrorIs(t, err, errBadParams)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParamsGetters(t *testing.T) {
	p := params{"n": " 42 ", "bad": "4x", "t": "TRUE", "y": "yes", "one": "1", "f": "false", "list": `["message"]`, "empty": ""}
	assert.EqualValues(t, 42, p.int("n"))
	assert.Zero(t, p.int("bad"), "non-numeric is 0, as in the Bot API")
	assert.Zero(t, p.int("missing"))
	for _, k := range []string{"t", "y", "one"} {
		assert.True(t, p.bool(k), k)
	}
	assert.False(t, p.bool("f"))
	assert.False(t, p.bool("missing"))
	list, ok, err := p.stringList("list")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{"message"}, list)
	list, ok, err = p.stringList("empty")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, []string{}, list)
	_, ok, _ = p.stringList("missing")
	assert.False(t, ok)
	_, _, err = params{"x": "message"}.stringList("x")
	assert.Error(t, err)
}

// FuzzParseParams checks that no body crashes the decoder and that every
// string field of a JSON object comes back unchanged.
func FuzzParseParams(f *testing.F) {
	f.Add(uint8(0), []byte(`{"title":"T","prices":[{"label":"a","amount":1}],"ok":true}`))
	f.Add(uint8(1), []byte("title=T&prices=%5B%5D&ok=1"))
	f.Add(uint8(2), []byte("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--B--\r\n"))
	f.Add(uint8(0), []byte(`null`))
	f.Add(uint8(3), []byte(`anything`))
	types := []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=B", "text/plain"}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		ct := types[int(kind)%len(types)]
		p, err := parseParams(nil, ct, body)
		if err != nil {
			return
		}
		if ct != "application/json" {
			return
		}
		var obj map[string]any
		if json.Unmarshal(body, &obj) != nil {
			return
		}
		for k, v := range obj {
			if s, ok := v.(string); ok && p[k] != s {
				t.Fatalf("field %q: got %q, want %q", k, p[k], s)
			}
		}
	})
}
