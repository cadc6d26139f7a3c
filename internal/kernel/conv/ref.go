package conv

// ForwardRef is the definition of a convolution: for every output element it
// sums x*w over the group's input channels and the kernel window in float64,
// then applies epi. y (N x K x OH x OW) is overwritten.
func ForwardRef(p Params, x, w, y []float32, epi *Epilogue) {
	g := mustValid(p)
	checkLen("x", x, p.N*p.C*g.hw)
	checkLen("w", w, p.K*g.kdim)
	checkLen("y", y, p.N*p.K*g.ohow)
	checkEpi(epi, p.N, p.K, g.ohow)
	for n := range p.N {
		for k := range p.K {
			c0 := k / g.kg * g.cg
			for oh := range g.oh {
				for ow := range g.ow {
					var sum float64
					for c := range g.cg {
						for r := range p.R {
							ih := oh*p.StrideH + r - p.PadH
							if ih < 0 || ih >= p.H {
								continue
							}
							for s := range p.S {
								iw := ow*p.StrideW + s - p.PadW
								if iw < 0 || iw >= p.W {
									continue
								}
								xv := x[((n*p.C+c0+c)*p.H+ih)*p.W+iw]
								wv := w[((k*g.cg+c)*p.R+r)*p.S+s]
								sum += float64(xv) * float64(wv)
							}
						}
					}
					i := ((n*p.K+k)*g.oh+oh)*g.ow + ow
					y[i] = applyEpi(float32(sum), epi, k, i)
				}
			}
		}
	}
}

func applyEpi(v float32, epi *Epilogue, k, i int) float32 {
	if epi == nil {
		return v
	}
	if epi.Scale != nil {
		v *= epi.Scale[k]
	}
	if epi.Shift != nil {
		v += epi.Shift[k]
	}
	if epi.Residual != nil {
		v += epi.Residual[i]
	}
	if epi.ReLU && v < 0 {
		v = 0
	}
	return v
}

// BackwardDataRef sets dx to the gradient of sum(y*dy) with respect to x
// (no epilogue), scattering dy*w over every window in float64.
func BackwardDataRef(p Params, dy, w, dx []float32) {
	g := mustValid(p)
	checkLen("dy", dy, p.N*p.K*g.ohow)
	checkLen("w", w, p.K*g.kdim)
	checkLen("dx", dx, p.N*p.C*g.hw)
	acc := make([]float64, p.N*p.C*g.hw)
	for n := range p.N {
		for k := range p.K {
			c0 := k / g.kg * g.cg
			for oh := range g.oh {
				for ow := range g.ow {
					d := float64(dy[((n*p.K+k)*g.oh+oh)*g.ow+ow])
					for c := range g.cg {
						for r := range p.R {
							ih := oh*p.StrideH + r - p.PadH
							if ih < 0 || ih >= p.H {
								continue
							}
							for s := range p.S {
								iw := ow*p.StrideW + s - p.PadW
								if iw < 0 || iw >= p.W {
									continue
								}
								acc[((n*p.C+c0+c)*p.H+ih)*p.W+iw] += d * float64(w[((k*g.cg+c)*p.R+r)*p.S+s])
							}
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		dx[i] = float32(v)
	}
}

// BackwardFilterRef sets dw to the gradient of sum(y*dy) with respect to w,
// summed over the batch in float64.
func BackwardFilterRef(p Params, x, dy, dw []float32) {
	g := mustValid(p)
	checkLen("x", x, p.N*p.C*g.hw)
	checkLen("dy", dy, p.N*p.K*g.ohow)
	checkLen("dw", dw, p.K*g.kdim)
	for k := range p.K {
		c0 := k / g.kg * g.cg
		for c := range g.cg {
			for r := range p.R {
				for s := range p.S {
					var sum float64
					for n := range p.N {
						for oh := range g.oh {
							ih := oh*p.StrideH + r - p.PadH
							if ih < 0 || ih >= p.H {
								continue
							}
							for ow := range g.ow {
								iw := ow*p.StrideW + s - p.PadW
								if iw < 0 || iw >= p.W {
									continue
								}
								sum += float64(dy[((n*p.K+k)*g.oh+oh)*g.ow+ow]) * float64(x[((n*p.C+c0+c)*p.H+ih)*p.W+iw])
							}
						}
					}
					dw[((k*g.cg+c)*p.R+r)*p.S+s] = float32(sum)
				}
			}
		}
	}
}

// BackwardBiasRef sets db[k] to the sum of dy over images and positions of channel k.
func BackwardBiasRef(p Params, dy, db []float32) {
	g := mustValid(p)
	checkLen("dy", dy, p.N*p.K*g.ohow)
	checkLen("db", db, p.K)
	for k := range p.K {
		var sum float64
		for n := range p.N {
			for _, v := range dy[(n*p.K+k)*g.ohow : (n*p.K+k+1)*g.ohow] {
				sum += float64(v)
			}
		}
		db[k] = float32(sum)
	}
}
