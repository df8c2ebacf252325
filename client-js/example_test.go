package clientjs_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	clientjs "github.com/starsgate/starsgate/client-js"
)

func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /client/", http.StripPrefix("/client", clientjs.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/client/index.js")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	// Output: 200 text/javascript; charset=utf-8
}
