// Command decodetime decodes every JPEG of a folder with this module's
// decoder (exact or draft) or Go's image/jpeg and prints the CPU time it
// took, best of -reps passes; bench/decode.sh runs it beside OpenCV.
package main

import (
	"bytes"
	"crypto/md5"
	"flag"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"time"

	"github.com/dla-go/dla/vision"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	dir := flag.String("dir", "", "folder of .jpg files")
	decoder := flag.String("decoder", "dla", "dla (EXIF orientation applied, as in paddle mode), dla-noexif, draft (Options.Draft) or stdlib (image/jpeg)")
	reps := flag.Int("reps", 3, "passes over the folder; the fastest is reported")
	sums := flag.Bool("md5", false, "print each file's name and the MD5 of its decoded RGB pixels instead of timing")
	flag.Parse()
	runtime.GOMAXPROCS(1) // one thread, as OpenCV with cv2.setNumThreads(1)
	paths, _ := filepath.Glob(filepath.Join(*dir, "*.jpg"))
	sort.Strings(paths)
	if len(paths) == 0 {
		fmt.Fprintf(os.Stderr, "decodetime: no .jpg files in %q\n", *dir)
		os.Exit(1)
	}
	var files [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "decodetime:", err)
			os.Exit(1)
		}
		files = append(files, b)
	}
	if *sums {
		for i, b := range files {
			m, err := vision.DecodeBytes(b, options(*decoder))
			if err != nil {
				fmt.Fprintln(os.Stderr, "decodetime:", err)
				os.Exit(1)
			}
			fmt.Printf("%s %x\n", filepath.Base(paths[i]), md5.Sum(m.Pix))
		}
		return
	}
	best, bestWall := time.Duration(1<<62), time.Duration(0)
	var pixels int64
	for range *reps {
		runtime.GC()
		pixels = 0
		c0, w0 := cpuTime(), time.Now()
		for _, b := range files {
			switch *decoder {
			case "stdlib":
				m, err := jpeg.Decode(bytes.NewReader(b))
				if err != nil {
					fmt.Fprintln(os.Stderr, "decodetime:", err)
					os.Exit(1)
				}
				pixels += int64(m.Bounds().Dx() * m.Bounds().Dy())
			default:
				m, err := vision.DecodeBytes(b, options(*decoder))
				if err != nil {
					fmt.Fprintln(os.Stderr, "decodetime:", err)
					os.Exit(1)
				}
				pixels += int64(m.W * m.H)
			}
		}
		if c := cpuTime() - c0; c < best {
			best, bestWall = c, time.Since(w0)
		}
	}
	fmt.Printf("decoder=%s files=%d mpx=%.1f cpu=%.3f wall=%.3f\n", *decoder, len(files), float64(pixels)/1e6, best.Seconds(), bestWall.Seconds())
}

func options(decoder string) vision.Options {
	switch decoder {
	case "dla-noexif":
		return vision.Options{EXIF: vision.EXIFIgnore}
	case "draft":
		return vision.Options{Draft: true}
	}
	return vision.Options{}
}
