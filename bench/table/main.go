// Command table joins `dla bench --json` and bench_ort.js results into the
// markdown table of docs/performance.md: median latency of both engines,
// their ratio, and the geometric mean of the ratios. A cell measured in
// several passes keeps each engine's pass with the lowest median (the host
// has slow phases that hit either engine).
//
// usage: go run ./bench/table DLA.jsonl ORT.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

type record struct {
	Model    string  `json:"model"`
	Batch    int     `json:"batch"`
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	GFLOPS   float64 `json:"gflops"`
}

type key struct {
	model string
	batch int
}

func read(path string) (map[key]record, []key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := map[key]record{}
	var order []key
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Model == "" {
			continue // progress or diagnostic lines
		}
		k := key{r.Model, r.Batch}
		old, seen := out[k]
		if !seen {
			order = append(order, k)
		}
		if !seen || r.MedianMS < old.MedianMS {
			out[k] = r
		}
	}
	return out, order, sc.Err()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: table DLA.jsonl ORT.jsonl")
		os.Exit(2)
	}
	ours, order, err := read(os.Args[1])
	if err == nil {
		var ort map[key]record
		if ort, _, err = read(os.Args[2]); err == nil {
			print(ours, ort, order)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "table:", err)
	os.Exit(1)
}

func print(ours, ort map[key]record, order []key) {
	fmt.Println("| model | batch | dla ms | ORT ms | dla/ORT | dla GFLOP/s | dla min ms | ORT min ms |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	logSum, n, worst := 0.0, 0, 0.0
	for _, k := range order {
		a, b := ours[k], ort[k]
		if b.MedianMS == 0 {
			fmt.Printf("| %s | %d | %.2f | - | - | %.0f | %.2f | - |\n", k.model, k.batch, a.MedianMS, a.GFLOPS, a.MinMS)
			continue
		}
		r := a.MedianMS / b.MedianMS
		logSum += math.Log(r)
		n++
		worst = math.Max(worst, r)
		fmt.Printf("| %s | %d | %.2f | %.2f | %.2f | %.0f | %.2f | %.2f |\n", k.model, k.batch, a.MedianMS, b.MedianMS, r, a.GFLOPS, a.MinMS, b.MinMS)
	}
	if n > 0 {
		fmt.Printf("\ngeometric mean of dla/ORT: %.3f over %d cells; worst %.2f\n", math.Exp(logSum/float64(n)), n, worst)
	}
}
