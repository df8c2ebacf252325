package clientjs_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	clientjs "github.com/starsgate/starsgate/client-js"
)

func TestHandler(t *testing.T) {
	index, err := os.ReadFile("src/index.js")
	require.NoError(t, err)

	h := http.StripPrefix("/client", clientjs.Handler())
	etag := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/client/index.js", nil))
		return rec.Header().Get("ETag")
	}()
	require.NotEmpty(t, etag)

	tests := []struct {
		name       string
		whenMethod string
		whenPath   string
		whenHeader map[string]string
		expectCode int
		expectBody []byte
	}{
		{name: "ok, index.js", whenMethod: http.MethodGet, whenPath: "/client/index.js", expectCode: http.StatusOK, expectBody: index},
		{name: "ok, HEAD", whenMethod: http.MethodHead, whenPath: "/client/index.js", expectCode: http.StatusOK, expectBody: []byte{}},
		{name: "ok, revalidation with the ETag", whenMethod: http.MethodGet, whenPath: "/client/index.js", whenHeader: map[string]string{"If-None-Match": etag}, expectCode: http.StatusNotModified},
		{name: "ok, stale ETag gets the file", whenMethod: http.MethodGet, whenPath: "/client/index.js", whenHeader: map[string]string{"If-None-Match": `"old"`}, expectCode: http.StatusOK, expectBody: index},
		{name: "nok, unknown module", whenMethod: http.MethodGet, whenPath: "/client/nope.js", expectCode: http.StatusNotFound},
		{name: "nok, directory", whenMethod: http.MethodGet, whenPath: "/client/", expectCode: http.StatusNotFound},
		{name: "nok, src prefix", whenMethod: http.MethodGet, whenPath: "/client/src/index.js", expectCode: http.StatusNotFound},
		{name: "nok, Go source", whenMethod: http.MethodGet, whenPath: "/client/embed.go", expectCode: http.StatusNotFound},
		{name: "nok, type declarations are not served", whenMethod: http.MethodGet, whenPath: "/client/index.d.ts", expectCode: http.StatusNotFound},
		{name: "nok, POST", whenMethod: http.MethodPost, whenPath: "/client/index.js", expectCode: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.whenMethod, tt.whenPath, nil)
			for k, v := range tt.whenHeader {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			assert.Equal(t, tt.expectCode, rec.Code)
			if tt.expectCode == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
			}
			if tt.expectBody != nil {
				assert.Equal(t, clientjs.ContentType, rec.Header().Get("Content-Type"))
				assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
				assert.Equal(t, etag, rec.Header().Get("ETag"))
				assert.Equal(t, string(tt.expectBody), rec.Body.String())
			}
		})
	}
}

// Every module on disk is served as it is, so the page never runs a stale copy.
func TestHandlerServesEveryModule(t *testing.T) {
	onDisk, err := filepath.Glob("src/*.js")
	require.NoError(t, err)
	require.NotEmpty(t, onDisk)

	h := clientjs.Handler()
	for _, file := range onDisk {
		want, err := os.ReadFile(file)
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+filepath.Base(file), nil))
		require.Equal(t, http.StatusOK, rec.Code, file)
		assert.Equal(t, string(want), rec.Body.String(), file)
		assert.Equal(t, clientjs.ContentType, rec.Header().Get("Content-Type"), file)
	}
}

// importRE matches the relative specifiers of static imports and re-exports.
var importRE = regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^;]*?from\s+"(\./[^"]+)"`)

// A browser resolves index.js's imports against its URL: each must be a
// served sibling, and the modules must not need a bare specifier (no npm).
func TestFSImportsResolve(t *testing.T) {
	fsys := clientjs.FS()
	_, err := fs.Stat(fsys, "index.js")
	require.NoError(t, err)

	seen := map[string]bool{}
	queue := []string{"index.js"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		src, err := fs.ReadFile(fsys, name)
		require.NoError(t, err, "imported module %s is not embedded", name)
		assert.NotRegexp(t, `(?m)^\s*import\s[^;]*?from\s+"[^./]`, string(src), "%s imports a bare specifier", name)
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			queue = append(queue, m[1][len("./"):])
		}
	}
	assert.Greater(t, len(seen), 1, "index.js re-exports its sibling modules")
}
