// @starsgate/client: the browser side of starsgate (SPEC §4, §9).
//
// Plain ES modules with no dependencies and no build step, so the Go module
// can serve these files as they are (see embed.go). Types: ../index.d.ts.

export { createStarsClient } from "./client.js";
export { StarsError } from "./errors.js";
export { authorizationHeader } from "./http.js";
