package wasm

import (
	"io/fs"
	"strings"
	"testing"
)

// The page is always there and loads the module and the loader by the
// names the release build writes; HasModule tells whether they were built in.
func TestFilesHoldThePage(t *testing.T) {
	var page string
	for _, name := range []string{"index.html", "page.js", "page.css"} {
		b, err := fs.ReadFile(Files(), name)
		if err != nil {
			t.Fatal(err)
		}
		page += string(b)
	}
	for _, name := range []string{Module, Loader} {
		if !strings.Contains(page, `"`+name+`"`) {
			t.Errorf("the page does not load %s", name)
		}
	}
	_, errModule := fs.Stat(Files(), Module)
	_, errLoader := fs.Stat(Files(), Loader)
	if HasModule() != (errModule == nil && errLoader == nil) {
		t.Errorf("HasModule() = %v with %s: %v, %s: %v", HasModule(), Module, errModule, Loader, errLoader)
	}
}
