package arch

import (
	"math"
	"strings"
	"testing"
)

// Tensor counts in timm's layout without num_batches_tracked (dla-reference.md 5.1: 224 - 37 BNs etc.).
var paddleTensorCounts = map[string]int{
	"dla34": 187, "dla46_c": 242, "dla46x_c": 242, "dla60": 317, "dla60x": 317, "dla60x_c": 312,
	"dla102": 527, "dla102x": 527, "dla102x2": 527, "dla169": 842,
}

func TestParamsAndMACsMatchReference(t *testing.T) {
	for _, v := range Variants {
		g, err := v.Build(1000, 224, 224)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if got := g.TrainableCount(); int64(got) != v.Params {
			t.Errorf("%s: %d trainable parameters, reference %d", v.Name, got, v.Params)
		}
		if got := len(g.Params()); got != paddleTensorCounts[v.Name] {
			t.Errorf("%s: %d tensors, reference %d", v.Name, got, paddleTensorCounts[v.Name])
		}
		gmacs := float64(g.MACs()) / 1e9
		if math.Abs(gmacs-v.GMACs) > 0.0005 {
			t.Errorf("%s: %.4f GMACs, reference %.3f", v.Name, gmacs, v.GMACs)
		}
	}
}

func TestDLA34KeyShapes(t *testing.T) {
	v, _ := Lookup("DLA34")
	g, err := v.Build(1000, 224, 224)
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{}
	for _, p := range g.Params() {
		shapes[p.Name] = p.Shape
	}
	want := map[string][]int{
		"base_layer.0.weight":              {16, 3, 7, 7},
		"level1.0.weight":                  {32, 16, 3, 3},
		"level2.root.conv.weight":          {64, 128, 1, 1},
		"level2.project.0.weight":          {64, 32, 1, 1},
		"level3.tree1.project.0.weight":    {128, 64, 1, 1},
		"level3.tree2.root.conv.weight":    {128, 448, 1, 1},
		"level5.root.conv.weight":          {512, 1280, 1, 1},
		"level3.tree2.root.bn.running_var": {128},
		"fc.weight":                        {1000, 512, 1, 1},
		"fc.bias":                          {1000},
	}
	for k, s := range want {
		got, ok := shapes[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if len(got) != len(s) {
			t.Errorf("%s: shape %v, want %v", k, got, s)
			continue
		}
		for i := range s {
			if got[i] != s[i] {
				t.Errorf("%s: shape %v, want %v", k, got, s)
				break
			}
		}
	}
	if _, ok := shapes["level3.project.0.weight"]; ok {
		t.Error("inner node level3 must not have a project conv")
	}
}

func TestInputSizes(t *testing.T) {
	v, _ := Lookup("dla46x_c")
	if _, err := v.Build(10, 160, 192); err != nil {
		t.Errorf("160x192: %v", err)
	}
	for _, hw := range [][2]int{{224, 225}, {100, 224}, {0, 32}} {
		_, err := v.Build(10, hw[0], hw[1])
		if err == nil || !strings.Contains(err.Error(), "multiples of 32") {
			t.Errorf("%v: error %v, want a multiples-of-32 explanation", hw, err)
		}
	}
}

func TestLookupSpellings(t *testing.T) {
	for _, n := range []string{"dla46x_c", "DLA46x_c", "dla46x-c", " DLA46X_C "} {
		if v, err := Lookup(n); err != nil || v.Name != "dla46x_c" {
			t.Errorf("Lookup(%q) = %v, %v", n, v.Name, err)
		}
	}
	if _, err := Lookup("resnet50"); err == nil || !strings.Contains(err.Error(), "dla34") {
		t.Errorf("unknown name error should list known models, got %v", err)
	}
}
