// Package web is the page `dla serve` shows at /: pick or drop an image,
// see its top five classes as bars and the time the server took. Its files
// are embedded in the binary; it loads nothing from elsewhere.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// Files holds index.html and the script and style it uses, at the root.
var Files = mustSub(files, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
