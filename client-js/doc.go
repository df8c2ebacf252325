// Package clientjs serves @starsgate/client, the browser client of starsgate,
// straight from the Go module.
//
// The client is plain ES modules with no dependencies and no build step, so
// the files in src/ are embedded as they are: a fresh clone serves them with
// no npm step. Mount [Handler] under a prefix and import index.js from the
// page:
//
//	e.GET("/client/*", echo.WrapHandler(http.StripPrefix("/client", clientjs.Handler())))
//
//	<script type="module">
//	  import { createStarsClient } from "/client/index.js";
//	</script>
package clientjs
