package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A cell measured in two passes keeps the pass with the lower median; other
// lines (progress, diagnostics) are skipped.
func TestReadKeepsBestPass(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	lines := `{"model":"dla34","batch":1,"median_ms":36.5,"min_ms":35}
not json
{"model":"dla34","batch":1,"median_ms":24.8,"min_ms":24.1}
{"model":"dla34","batch":4,"median_ms":95,"min_ms":90}
{"model":"dla34","batch":4,"median_ms":99,"min_ms":89}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	got, order, err := read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != (key{"dla34", 1}) || order[1] != (key{"dla34", 4}) {
		t.Fatalf("order %v", order)
	}
	if m := got[key{"dla34", 1}].MedianMS; m != 24.8 {
		t.Errorf("batch 1 kept median %v, want 24.8", m)
	}
	if m := got[key{"dla34", 4}].MedianMS; m != 95 {
		t.Errorf("batch 4 kept median %v, want 95", m)
	}
}
