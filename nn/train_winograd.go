package nn

import (
	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/winograd"
)

// winoConv runs a 3x3 stride-1 convolution's forward pass and its data
// gradient (the same convolution with the filters flipped and their input
// and output channels swapped) by Winograd F(4x4, 3x3) in training, where
// the inference engine would use it too (kernelFor's channel and size
// thresholds, in both directions). The plans are made once and their
// weights replaced every step.
type winoConv struct {
	p        conv.Params // one image
	fwd, bwd *winograd.Plan
	flipped  []float32
	chunk    int // images per Run: enough tiles to fill the matrix products
}

// winoTiles is the tile count a call should reach.
const winoTiles = 256

func newWinoConv(p conv.Params, w []float32) *winoConv {
	p.N = 1
	tp := p
	tp.C, tp.K = p.K, p.C
	if !useWinograd(p) || !useWinograd(tp) {
		return nil
	}
	wc := &winoConv{p: p, flipped: make([]float32, len(w))}
	flipFilters(p, w, wc.flipped)
	wc.fwd, wc.bwd = winograd.NewPlan(p, w), winograd.NewPlan(tp, wc.flipped)
	tiles := ((p.H + 3) / 4) * ((p.W + 3) / 4)
	wc.chunk = max(1, (winoTiles+tiles-1)/tiles)
	return wc
}

// useWinograd applies the inference engine's rule (Options.kernelFor).
func useWinograd(p conv.Params) bool {
	small := p.H < 2*winogradMinSize || p.W < 2*winogradMinSize
	return winograd.Supported(p) && p.C >= winogradMinChannels && p.K >= winogradMinChannels &&
		p.H >= winogradMinSize && p.W >= winogradMinSize &&
		(!small || p.C >= winogradSmallMinChannels && p.K >= winogradSmallMinChannels)
}

// flipFilters sets wt[c][k][r][s] = w[k][c][2-r][2-s] for 3x3 filters.
func flipFilters(p conv.Params, w, wt []float32) {
	for k := range p.K {
		for c := range p.C {
			src := w[(k*p.C+c)*9 : (k*p.C+c)*9+9]
			dst := wt[(c*p.K+k)*9 : (c*p.K+k)*9+9]
			for i, v := range src {
				dst[8-i] = v
			}
		}
	}
}

// forward convolves n images x with weights w into y, then applies epi.
func (wc *winoConv) forward(n int, x, w, y []float32, epi *conv.Epilogue, ws []float32) {
	wc.fwd.SetWeights(w)
	in, out := wc.p.C*wc.p.H*wc.p.W, wc.p.K*wc.p.H*wc.p.W
	for i := 0; i < n; i += wc.chunk {
		m := min(wc.chunk, n-i)
		wc.fwd.Run(x[i*in:(i+m)*in], y[i*out:(i+m)*out], m, epi, ws)
	}
}

// backwardData sets dx to the gradient of sum(y*dy) for y = conv(x, w).
func (wc *winoConv) backwardData(n int, dy, w, dx, ws []float32) {
	flipFilters(wc.p, w, wc.flipped)
	wc.bwd.SetWeights(wc.flipped)
	in, out := wc.p.C*wc.p.H*wc.p.W, wc.p.K*wc.p.H*wc.p.W
	for i := 0; i < n; i += wc.chunk {
		m := min(wc.chunk, n-i)
		wc.bwd.Run(dy[i*out:(i+m)*out], dx[i*in:(i+m)*in], m, nil, ws)
	}
}
