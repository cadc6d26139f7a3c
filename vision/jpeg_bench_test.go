package vision

import (
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

// BenchmarkDecodePhotos decodes every photo once per iteration; the
// megapixels/s metric is what bench/decode.sh compares with libjpeg-turbo.
func BenchmarkDecodePhotos(b *testing.B) {
	files := benchPhotos(b)
	for _, draft := range []bool{false, true} {
		name := "exact"
		if draft {
			name = "draft"
		}
		b.Run(name, func(b *testing.B) {
			opt := Options{Draft: draft}
			var pixels, bytes int64
			for b.Loop() {
				for _, data := range files {
					m, err := DecodeBytes(data, opt)
					if err != nil {
						b.Fatal(err)
					}
					pixels += int64(m.W * m.H)
					bytes += int64(len(data))
				}
			}
			b.SetBytes(bytes / int64(b.N))
			b.ReportMetric(float64(pixels)/1e6/b.Elapsed().Seconds(), "Mpx/s")
		})
	}
}
