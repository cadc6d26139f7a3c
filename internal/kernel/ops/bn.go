package ops

import "math"

// BNMomentum is PyTorch's default running-statistics momentum.
const BNMomentum = 0.1

// FoldBN turns inference batch normalisation into a per-channel affine map:
// scale = gamma / sqrt(var + eps), shift = beta - mean*scale (in float64).
func FoldBN(gamma, beta, mean, variance []float32, eps float32, scale, shift []float32) {
	c := len(gamma)
	for _, s := range [][]float32{beta, mean, variance, scale, shift} {
		checkLen("batch-norm parameter", s, c)
	}
	for i := range c {
		s := float64(gamma[i]) / math.Sqrt(float64(variance[i])+float64(eps))
		scale[i] = float32(s)
		shift[i] = float32(float64(beta[i]) - float64(mean[i])*s)
	}
}

// ScaleShift is inference batch normalisation after FoldBN:
// y[n][c][i] = x[n][c][i]*scale[c] + shift[c]; y may be x.
func ScaleShift(n, c, hw int, x, scale, shift, y []float32) {
	checkSizes(n, c, hw)
	checkLen("x", x, n*c*hw)
	checkLen("y", y, n*c*hw)
	checkLen("scale", scale, c)
	checkLen("shift", shift, c)
	forChannels(n*c, hw, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			s, b := scale[p%c], shift[p%c]
			yy := y[p*hw : (p+1)*hw]
			for i, v := range x[p*hw : (p+1)*hw] {
				yy[i] = v*s + b
			}
		}
	})
}

// BatchNormInference is eval-mode batch normalisation with the running
// statistics: y = (x-mean)/sqrt(var+eps)*gamma + beta, i.e. FoldBN then
// ScaleShift without the caller holding the folded arrays. y may be x.
func BatchNormInference(n, c, hw int, x, gamma, beta, mean, variance []float32, eps float32, y []float32) {
	checkSizes(n, c, hw)
	checkLen("x", x, n*c*hw)
	checkLen("y", y, n*c*hw)
	for _, s := range [][]float32{gamma, beta, mean, variance} {
		checkLen("batch-norm parameter", s, c)
	}
	forChannels(n*c, hw, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			ch := p % c
			sc := float64(gamma[ch]) / math.Sqrt(float64(variance[ch])+float64(eps))
			s, b := float32(sc), float32(float64(beta[ch])-float64(mean[ch])*sc)
			yy := y[p*hw : (p+1)*hw]
			for i, v := range x[p*hw : (p+1)*hw] {
				yy[i] = v*s + b
			}
		}
	})
}

// BatchNormTrain is training-mode batch normalisation. Per channel it takes
// the batch mean and biased variance over N, H, W, writes mean and
// invstd = 1/sqrt(var+eps) (saved for the backward pass), sets
// y = (x-mean)*invstd*gamma + beta, and moves the running statistics by
// momentum towards the batch mean and the unbiased variance (as PyTorch
// does). Statistics are accumulated in float64. y may be x.
func BatchNormTrain(n, c, hw int, x, gamma, beta, y, mean, invstd, runMean, runVar []float32, momentum, eps float32) {
	batchNormTrain(n, c, hw, x, gamma, beta, y, mean, invstd, runMean, runVar, momentum, eps, false)
}

// BatchNormReLUTrain is BatchNormTrain followed by ReLU on y, in the same
// pass over the channel.
func BatchNormReLUTrain(n, c, hw int, x, gamma, beta, y, mean, invstd, runMean, runVar []float32, momentum, eps float32) {
	batchNormTrain(n, c, hw, x, gamma, beta, y, mean, invstd, runMean, runVar, momentum, eps, true)
}

func batchNormTrain(n, c, hw int, x, gamma, beta, y, mean, invstd, runMean, runVar []float32, momentum, eps float32, relu bool) {
	checkBN(n, c, hw, x, y, gamma, beta, mean, invstd, runMean, runVar)
	forChannels(c, n*hw, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			bnTrainChannel(&fastPlanes, n, c, hw, ch, x, gamma, beta, y, mean, invstd, runMean, runVar, momentum, eps, relu)
		}
	})
}

// BatchNormTrainRef is the serial definition of BatchNormTrain.
func BatchNormTrainRef(n, c, hw int, x, gamma, beta, y, mean, invstd, runMean, runVar []float32, momentum, eps float32) {
	checkBN(n, c, hw, x, y, gamma, beta, mean, invstd, runMean, runVar)
	for ch := range c {
		bnTrainChannel(&refPlanes, n, c, hw, ch, x, gamma, beta, y, mean, invstd, runMean, runVar, momentum, eps, false)
	}
}

func checkBN(n, c, hw int, x, y []float32, perChannel ...[]float32) {
	checkSizes(n, c, hw)
	if n*hw == 0 {
		panic("ops: batch norm over an empty batch")
	}
	checkLen("x", x, n*c*hw)
	checkLen("y", y, n*c*hw)
	for _, s := range perChannel {
		checkLen("batch-norm parameter", s, c)
	}
}

func bnTrainChannel(k *bnPlanes, n, c, hw, ch int, x, gamma, beta, y, mean, invstd, runMean, runVar []float32, momentum, eps float32, relu bool) {
	cnt := float64(n * hw)
	var sum float64
	for img := range n {
		sum += k.sum(x[(img*c+ch)*hw : (img*c+ch+1)*hw])
	}
	m := sum / cnt
	var sq float64
	for img := range n {
		sq += k.sqDev(x[(img*c+ch)*hw:(img*c+ch+1)*hw], m)
	}
	variance := sq / cnt
	is := 1 / math.Sqrt(variance+float64(eps))
	mean[ch], invstd[ch] = float32(m), float32(is)
	// x-mean first: folding the mean into the shift (x*s + b) would cancel
	// when the mean dwarfs the spread, losing digits the backward pass needs.
	s, mf, b := float32(is*float64(gamma[ch])), float32(m), beta[ch]
	for img := range n {
		k.apply(y[(img*c+ch)*hw:(img*c+ch+1)*hw], x[(img*c+ch)*hw:(img*c+ch+1)*hw], mf, s, b, relu)
	}
	unbiased := variance
	if cnt > 1 {
		unbiased = sq / (cnt - 1)
	}
	mom := float64(momentum)
	runMean[ch] = float32((1-mom)*float64(runMean[ch]) + mom*m)
	runVar[ch] = float32((1-mom)*float64(runVar[ch]) + mom*unbiased)
}

// BatchNormBackward computes, from the forward input x, the saved mean and
// invstd, gamma and the output gradient dy: dbeta = sum(dy),
// dgamma = sum(dy*xhat) and dx = gamma*invstd*(dy - dbeta/m - xhat*dgamma/m)
// with xhat = (x-mean)*invstd and m = N*H*W. dgamma and dbeta are overwritten.
func BatchNormBackward(n, c, hw int, x, dy, gamma, mean, invstd, dx, dgamma, dbeta []float32) {
	batchNormBackward(n, c, hw, x, nil, dy, gamma, mean, invstd, dx, dgamma, dbeta)
}

// BatchNormReLUBackward is the backward pass of ReLU(BatchNorm(x)) from
// the ReLU's output y and its gradient dy: BatchNormBackward of dy zeroed
// where y is not positive, without writing the masked gradient out.
func BatchNormReLUBackward(n, c, hw int, x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta []float32) {
	checkLen("y", y, n*c*hw)
	batchNormBackward(n, c, hw, x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta)
}

func batchNormBackward(n, c, hw int, x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta []float32) {
	checkBN(n, c, hw, x, dx, gamma, mean, invstd, dgamma, dbeta)
	checkLen("dy", dy, n*c*hw)
	forChannels(c, n*hw, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			bnBackwardChannel(&fastPlanes, n, c, hw, ch, x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta)
		}
	})
}

// BatchNormBackwardRef is the serial definition of BatchNormBackward.
func BatchNormBackwardRef(n, c, hw int, x, dy, gamma, mean, invstd, dx, dgamma, dbeta []float32) {
	checkBN(n, c, hw, x, dx, gamma, mean, invstd, dgamma, dbeta)
	checkLen("dy", dy, n*c*hw)
	for ch := range c {
		bnBackwardChannel(&refPlanes, n, c, hw, ch, x, nil, dy, gamma, mean, invstd, dx, dgamma, dbeta)
	}
}

// bnBackwardChannel computes channel ch's gradients; with y set, dy counts
// only where y (a ReLU's output) is positive.
func bnBackwardChannel(k *bnPlanes, n, c, hw, ch int, x, y, dy, gamma, mean, invstd, dx, dgamma, dbeta []float32) {
	m, is := float64(mean[ch]), float64(invstd[ch])
	plane := func(s []float32, img int) []float32 {
		if s == nil {
			return nil
		}
		return s[(img*c+ch)*hw : (img*c+ch+1)*hw]
	}
	var sums [2]float64 // of dy and of dy*(x-mean)
	for img := range n {
		k.gradSums(plane(dy, img), plane(x, img), plane(y, img), m, &sums)
	}
	sdy, sdyx := sums[0], sums[1]
	dg := sdyx * is
	dgamma[ch], dbeta[ch] = float32(dg), float32(sdy)
	cnt := float64(n * hw)
	// dx = k*dy + a*(x-mean) + b, folded per channel; x-mean is kept apart
	// so a large mean does not cancel in float32.
	kk := float64(gamma[ch]) * is
	a := -kk * dg * is / cnt
	b := -kk * sdy / cnt
	kf, af, bf, mf := float32(kk), float32(a), float32(b), float32(m)
	for img := range n {
		k.gradApply(plane(dx, img), plane(dy, img), plane(x, img), plane(y, img), kf, af, bf, mf)
	}
}

// bnPlanes holds the passes over one image's channel plane that the batch
// norm channel functions are made of: the generic loops, or vector kernels.
type bnPlanes struct {
	sum       func(x []float32) float64
	sqDev     func(x []float32, m float64) float64
	apply     func(y, x []float32, m, s, b float32, relu bool)
	gradSums  func(dy, x, y []float32, m float64, sums *[2]float64)
	gradApply func(dx, dy, x, y []float32, k, a, b, m float32)
}

var refPlanes = bnPlanes{sumF64Generic, sqDevF64Generic, bnApplyGeneric, bnGradSumsGeneric, bnGradApplyGeneric}

// sumF64Generic returns the float64 sum of x.
func sumF64Generic(x []float32) float64 {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	return sum
}

// sqDevF64Generic returns the float64 sum of the squared deviations of x
// from m.
func sqDevF64Generic(x []float32, m float64) float64 {
	var sq float64
	for _, v := range x {
		d := float64(v) - m
		sq += d * d
	}
	return sq
}

// bnApplyGeneric sets y = (x-m)*s + b, then max(y, 0) with relu.
func bnApplyGeneric(y, x []float32, m, s, b float32, relu bool) {
	y = y[:len(x)]
	if relu {
		for i, v := range x {
			y[i] = max((v-m)*s+b, 0)
		}
		return
	}
	for i, v := range x {
		y[i] = (v-m)*s + b
	}
}

// bnGradSumsGeneric adds to sums the float64 sums of d and d*(x-m), where
// d is dy, or 0 where y is set and not positive.
func bnGradSumsGeneric(dy, x, y []float32, m float64, sums *[2]float64) {
	x = x[:len(dy)]
	sdy, sdyx := sums[0], sums[1]
	for i, d := range dy {
		if y != nil {
			d = math.Float32frombits(math.Float32bits(d) & positiveMask(y[i]))
		}
		sdy += float64(d)
		sdyx += float64(d) * (float64(x[i]) - m)
	}
	sums[0], sums[1] = sdy, sdyx
}

// bnGradApplyGeneric sets dx = k*d + a*(x-m) + b, d as in bnGradSumsGeneric.
func bnGradApplyGeneric(dx, dy, x, y []float32, k, a, b, m float32) {
	dx, x = dx[:len(dy)], x[:len(dy)]
	for i, d := range dy {
		if y != nil {
			d = math.Float32frombits(math.Float32bits(d) & positiveMask(y[i]))
		}
		dx[i] = k*d + a*(x[i]-m) + b
	}
}
