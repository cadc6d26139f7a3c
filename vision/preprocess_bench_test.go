package vision

import (
	"bytes"
	"image/jpeg"
	"math"
	"runtime"
	"testing"
)

// photoGroups are the size classes BenchmarkPreprocessPhotos reports.
var photoGroups = []struct {
	name     string
	min, max float64 // pixels
}{
	{"0.3-1.5Mpx", 0, 1.5e6},
	{"2-8Mpx", 1.5e6, 10e6},
	{"12Mpx", 10e6, math.Inf(1)},
	{"all", 0, math.Inf(1)},
}

// preprocessPaths are the ways from an encoded image to the model's input
// that BenchmarkPreprocessPhotos compares.
var preprocessPaths = []struct {
	name string
	run  func(dst []float32, data []byte, opt Options) error
}{
	{"two-step", func(dst []float32, data []byte, opt Options) error {
		m, err := DecodeBytes(data, opt)
		if err != nil {
			return err
		}
		return PreprocessInto(dst, m, opt)
	}},
	{"fused", PreprocessBytes},
}

// BenchmarkPreprocessPhotos runs the eval pipeline on the photos of
// benchPhotos by size class and reports the process's CPU milliseconds per
// image: on a shared machine wall time moves with the neighbours' load.
func BenchmarkPreprocessPhotos(b *testing.B) {
	files := benchPhotos(b)
	pixels := make([]float64, len(files))
	for i, data := range files {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		pixels[i] = float64(cfg.Width) * float64(cfg.Height)
	}
	for _, p := range preprocessPaths {
		for _, mode := range []Mode{ModePaddle, ModeTimm} {
			for _, g := range photoGroups {
				var group [][]byte
				for i, data := range files {
					if pixels[i] >= g.min && pixels[i] < g.max {
						group = append(group, data)
					}
				}
				if len(group) == 0 {
					continue
				}
				b.Run(p.name+"/"+string(mode)+"/"+g.name, func(b *testing.B) {
					opt := Options{Mode: mode}
					dst := make([]float32, 3*224*224)
					pass := func() {
						for _, data := range group {
							if err := p.run(dst, data, opt); err != nil {
								b.Fatal(err)
							}
						}
					}
					// A first pass, not counted, grows the heap to its working
					// size: the page faults of a cold heap would otherwise
					// dominate short runs.
					pass()
					runtime.GC()
					c0 := processCPU()
					for b.Loop() {
						pass()
					}
					b.ReportMetric((processCPU()-c0)*1e3/float64(b.N*len(group)), "cpu-ms/img")
				})
			}
		}
	}
}
