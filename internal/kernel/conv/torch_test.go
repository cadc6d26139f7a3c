package conv

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// TestAgainstPyTorch checks the references (and the default fast paths)
// against torch.nn.functional.conv2d and its gradients (testdata/gen_torch.py).
func TestAgainstPyTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/torch_conv.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Params          [12]int
		X, W, Y, Dy, Dx []float32
		Dw              []float32
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		v := c.Params
		p := Params{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]}
		name := fmt.Sprintf("%+v", p)
		y := make([]float32, len(c.Y))
		ForwardRef(p, c.X, c.W, y, nil)
		kerneltest.CheckNMSE(t, "ForwardRef "+name, y, c.Y, 1e-10)
		Forward(p, c.X, c.W, y, nil, make([]float32, WorkspaceSize(p)))
		kerneltest.CheckNMSE(t, "Forward "+name, y, c.Y, 1e-10)
		dx, dw := make([]float32, len(c.X)), make([]float32, len(c.W))
		BackwardDataRef(p, c.Dy, c.W, dx)
		kerneltest.CheckNMSE(t, "BackwardDataRef "+name, dx, c.Dx, 1e-10)
		BackwardFilterRef(p, c.X, c.Dy, dw)
		kerneltest.CheckNMSE(t, "BackwardFilterRef "+name, dw, c.Dw, 1e-10)
		ws := make([]float32, BackwardWorkspaceSize(p))
		BackwardData(p, c.Dy, c.W, dx, ws)
		kerneltest.CheckNMSE(t, "BackwardData "+name, dx, c.Dx, 1e-10)
		BackwardFilter(p, c.X, c.Dy, dw, ws)
		kerneltest.CheckNMSE(t, "BackwardFilter "+name, dw, c.Dw, 1e-10)
	}
}
