package ops

import (
	"fmt"
	"math"
)

// Softmax writes the row-wise softmax of the n x classes logits into y
// (computed in float64 after subtracting the row maximum); y may be logits.
func Softmax(n, classes int, logits, y []float32) {
	checkSizes(n, classes)
	checkLen("logits", logits, n*classes)
	checkLen("y", y, n*classes)
	for i := range n {
		row, out := logits[i*classes:(i+1)*classes], y[i*classes:(i+1)*classes]
		lse := logSumExp(row)
		for j, v := range row {
			out[j] = float32(math.Exp(float64(v) - lse))
		}
	}
}

// logSumExp is log(sum(exp(row))), shifted by the row maximum so no exp overflows.
func logSumExp(row []float32) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

// SoftmaxCrossEntropy returns the mean over the n rows of the cross-entropy
// between softmax(logits) and the label distribution, and, when dlogits is
// not nil, writes its gradient (softmax - target) / n. The target puts
// 1-epsilon+epsilon/classes on the label and epsilon/classes elsewhere
// (label smoothing as PaddleClas's CELoss and PyTorch's cross_entropy
// define it; epsilon 0 is the plain one-hot loss). A label outside
// [0, classes) is an error (labels come from data files).
func SoftmaxCrossEntropy(n, classes int, logits []float32, labels []int, epsilon float64, dlogits []float32) (float64, error) {
	checkSizes(n, classes)
	checkLen("logits", logits, n*classes)
	if len(labels) < n {
		return 0, fmt.Errorf("ops: %d labels for %d rows", len(labels), n)
	}
	if epsilon < 0 || epsilon >= 1 || math.IsNaN(epsilon) {
		return 0, fmt.Errorf("ops: label smoothing %v outside [0, 1)", epsilon)
	}
	for i, l := range labels[:n] {
		if l < 0 || l >= classes {
			return 0, fmt.Errorf("ops: label %d of row %d outside [0, %d)", l, i, classes)
		}
	}
	if dlogits != nil {
		checkLen("dlogits", dlogits, n*classes)
	}
	off := epsilon / float64(classes)
	on := 1 - epsilon + off
	var loss float64
	for i := range n {
		row := logits[i*classes : (i+1)*classes]
		lse := logSumExp(row)
		var sum float64
		if epsilon != 0 {
			for _, v := range row {
				sum += float64(v)
			}
		}
		// -sum_j target_j*(v_j - lse) = lse - on*v_label - off*(sum_j v_j - v_label)
		lbl := float64(row[labels[i]])
		loss += lse - on*lbl - off*(sum-lbl)
		if dlogits != nil {
			d := dlogits[i*classes : (i+1)*classes]
			for j, v := range row {
				g := math.Exp(float64(v)-lse) - off
				if j == labels[i] {
					g -= on - off
				}
				d[j] = float32(g / float64(n))
			}
		}
	}
	return loss / float64(n), nil
}
