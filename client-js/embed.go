package clientjs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"sync"
	"time"
)

// Every module of the client; src/ holds nothing else, so all of it ships.
//
//go:embed src/*.js
var files embed.FS

// ContentType is the type the modules are served with: browsers refuse to
// run a module script served with a non-JavaScript MIME type.
const ContentType = "text/javascript; charset=utf-8"

// FS returns the client's modules (index.js and the files it imports) at its
// root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "src")
	if err != nil { // only for an invalid directory name, and "src" is valid
		return files
	}
	return sub
}

type module struct {
	data []byte
	etag string
}

// modules reads the embedded files once; they never change in a binary.
var modules = sync.OnceValue(func() map[string]module {
	m := make(map[string]module)
	entries, _ := fs.ReadDir(files, "src") // embedded: cannot fail
	for _, e := range entries {
		data, err := fs.ReadFile(files, "src/"+e.Name())
		if err != nil {
			continue
		}
		sum := sha256.Sum256(data)
		m[e.Name()] = module{data: data, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return m
})

// Handler serves the modules by file name ("/index.js" or "index.js", …):
// GET and HEAD only, Content-Type [ContentType], an ETag so browsers
// revalidate instead of refetching, 404 for anything else. Mount it with
// [http.StripPrefix] so that every module sits under one prefix: index.js
// imports its siblings by relative URL.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	dir, name := path.Split(r.URL.Path)
	m, ok := modules()[name]
	if (dir != "/" && dir != "") || !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", m.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(m.data))
}
