// Package wasm serves the browser page that classifies images with the
// built-in model in WebAssembly: index.html, page.js and page.css (embedded
// from static/), and, when they were built into static/ before this package
// was compiled, the module dla.wasm (built from ./module) and Go's loader
// wasm_exec.js.
//
// The module is not in the repository: it is 10 MB (the built-in weights
// are 4 MB of it) and would change with every change to the engine. The
// release build (go run ./tools/release, or go generate ./web/wasm) writes
// both files into static/, which git ignores, so that the binaries built
// after it embed them; a plain go build of a fresh clone serves the page
// alone, which then says how to build the module (and one after an earlier
// release embeds the module that release left: go generate ./web/wasm
// rebuilds it). The browser test builds the module itself.
//
// Mount Files at /wasm/ (any path works: the page loads its files relative
// to itself) with ContentSecurityPolicy, as dla serve does.
package wasm

import (
	"embed"
	"io/fs"
)

// The names of the module and its loader, beside index.html.
const (
	Module = "dla.wasm"
	Loader = "wasm_exec.js"
)

// ContentSecurityPolicy is the strictest policy the page works under: its
// own files only, plus compiling its WebAssembly module; the preview image
// is a blob: URL.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' blob:; frame-ancestors 'none'"

//go:generate go run ../../tools/release -wasm-only

//go:embed static
var static embed.FS

// Files is the page's file system: index.html, page.js and page.css, and
// dla.wasm and wasm_exec.js when they were built in.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // static is a literal directory of this package
	}
	return sub
}

// HasModule reports whether the module and its loader are built in.
func HasModule() bool {
	for _, name := range []string{Module, Loader} {
		if _, err := fs.Stat(Files(), name); err != nil {
			return false
		}
	}
	return true
}
