package ops

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/dla-go/dla/internal/kernel/kerneltest"
)

// torchOps is testdata/torch_ops.json, written by testdata/gen_torch.py.
type torchOps struct {
	BN struct {
		Shape        []int
		X, Gamma     []float32
		Beta, G, Y   []float32
		YEval        []float32 `json:"y_eval"`
		RunningMean0 []float32 `json:"running_mean0"`
		RunningVar0  []float32 `json:"running_var0"`
		RunningMean  []float32 `json:"running_mean"`
		RunningVar   []float32 `json:"running_var"`
		Dx           []float32
		Dgamma       []float32
		Dbeta        []float32
	} `json:"bn"`
	MaxPool struct {
		Shape   []int
		X, Y, G []float32
		Dx      []float32
	} `json:"maxpool"`
	Xent       torchXent `json:"xent"`
	XentSmooth torchXent `json:"xent_smooth"`
}

type torchXent struct {
	Shape   []int
	Logits  []float32
	Labels  []int
	Epsilon float64
	Loss    float64
	Dlogits []float32
}

func loadTorch(t *testing.T) *torchOps {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_ops.json")
	if err != nil {
		t.Fatal(err)
	}
	var v torchOps
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func TestAgainstPyTorch(t *testing.T) {
	v := loadTorch(t)
	const limit = 1e-10

	bn := v.BN
	n, c, hw := bn.Shape[0], bn.Shape[1], bn.Shape[2]*bn.Shape[3]
	ye := make([]float32, len(bn.X))
	BatchNormInference(n, c, hw, bn.X, bn.Gamma, bn.Beta, bn.RunningMean0, bn.RunningVar0, 1e-5, ye)
	kerneltest.CheckNMSE(t, "batch norm (eval)", ye, bn.YEval, limit)
	y, m, is := make([]float32, len(bn.X)), make([]float32, c), make([]float32, c)
	rm, rv := append([]float32(nil), bn.RunningMean0...), append([]float32(nil), bn.RunningVar0...)
	BatchNormTrain(n, c, hw, bn.X, bn.Gamma, bn.Beta, y, m, is, rm, rv, BNMomentum, 1e-5)
	kerneltest.CheckNMSE(t, "batch norm y", y, bn.Y, limit)
	kerneltest.CheckNMSE(t, "running mean", rm, bn.RunningMean, limit)
	kerneltest.CheckNMSE(t, "running var (unbiased)", rv, bn.RunningVar, limit)
	dx, dg, db := make([]float32, len(bn.X)), make([]float32, c), make([]float32, c)
	BatchNormBackward(n, c, hw, bn.X, bn.G, bn.Gamma, m, is, dx, dg, db)
	kerneltest.CheckNMSE(t, "batch norm dx", dx, bn.Dx, limit)
	kerneltest.CheckNMSE(t, "dgamma", dg, bn.Dgamma, limit)
	kerneltest.CheckNMSE(t, "dbeta", db, bn.Dbeta, limit)

	mp := v.MaxPool
	s := mp.Shape
	py := make([]float32, len(mp.Y))
	MaxPool(s[0], s[1], s[2], s[3], 2, mp.X, py)
	kerneltest.CheckNMSE(t, "max pool", py, mp.Y, 0)
	pdx := make([]float32, len(mp.X))
	MaxPoolBackward(s[0], s[1], s[2], s[3], 2, mp.X, mp.G, pdx)
	kerneltest.CheckNMSE(t, "max pool dx", pdx, mp.Dx, 0)

	for _, xe := range []torchXent{v.Xent, v.XentSmooth} {
		d := make([]float32, len(xe.Logits))
		loss, err := SoftmaxCrossEntropy(xe.Shape[0], xe.Shape[1], xe.Logits, xe.Labels, xe.Epsilon, d)
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "cross-entropy loss", loss, xe.Loss)
		kerneltest.CheckNMSE(t, "cross-entropy gradient", d, xe.Dlogits, limit)
	}
}
