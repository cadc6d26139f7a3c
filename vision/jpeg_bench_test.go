package vision

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// benchPhotos reads the JPEGs of $DLA_BENCH_PHOTOS (bench/decode.sh makes a
// folder of 0.3-12 Mpx camera-like photos) or else the small committed
// photo fixtures.
func benchPhotos(b *testing.B) [][]byte {
	dir := os.Getenv("DLA_BENCH_PHOTOS")
	if dir == "" {
		dir = filepath.Join(photoDir, "images")
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no JPEGs in %s", dir)
	}
	var files [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	return files
}

// BenchmarkDecodePhotos decodes every photo once per iteration, at full
// size and in draft mode; Mpx/s counts the photos' full-size pixels.
func BenchmarkDecodePhotos(b *testing.B) {
	files := benchPhotos(b)
	var pixels, size int64
	for _, data := range files {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		pixels += int64(cfg.Width * cfg.Height)
		size += int64(len(data))
	}
	for _, draft := range []bool{false, true} {
		name := "exact"
		if draft {
			name = "draft"
		}
		b.Run(name, func(b *testing.B) {
			opt := Options{Draft: draft}
			for b.Loop() {
				for _, data := range files {
					if _, err := DecodeBytes(data, opt); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.SetBytes(size)
			b.ReportMetric(float64(pixels)*float64(b.N)/1e6/b.Elapsed().Seconds(), "Mpx/s")
		})
	}
}
