package weights_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

// Load any supported file, then bind it strictly to what the model needs.
func ExampleBind() {
	f, err := weights.Load("../testdata/weights/dla46x_c_paddle.pdparams")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Format, len(f.Tensors), f.Tensors["level2.root.bn.running_mean"].Shape)

	want := []weights.Spec{
		{Name: "fc.weight", Shape: []int{1000, 256, 1, 1}},
		{Name: "fc.bias", Shape: []int{1000}},
		{Name: "head.weight", Shape: []int{4}},
	}
	got := map[string]*tensor.Tensor{"fc.weight": f.Tensors["fc.weight"], "fc.bias": f.Tensors["fc.bias"]}
	_, err = weights.Bind(want, got, weights.BindOptions{})
	fmt.Println(err)
	// Output:
	// paddle 242 [64]
	// weights do not match the model: 1 missing, 0 unexpected, 2 mis-shaped
	// missing:
	//   head.weight [4]
	// mis-shaped:
	//   fc.bias: file [10], model [1000]
	//   fc.weight: file [10 256 1 1], model [1000 256 1 1]
}

// Convert writes the canonical safetensors file with its metadata.
func ExampleConvert() {
	dir, _ := os.MkdirTemp("", "convert")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "dla46_c.safetensors")
	f, err := weights.Convert("../testdata/weights/dla46_c_legacy_f16.pth", out, weights.ConvertOptions{Arch: "dla46_c"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Metadata[weights.MetaArchitecture], f.Metadata[weights.MetaNumClasses], f.Metadata[weights.MetaSourceFormat])
	// Output: dla46_c 10 pytorch-legacy
}
