package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/dla-go/dla"
)

func TestHTTPHealthAndMetadata(t *testing.T) {
	_, url, _, _ := start(t, Config{})
	for _, path := range []string{"/v2/health/live", "/v2/health/ready", "/v2/models/dla46_c/ready", "/v2/models/dla46_c/versions/1/ready"} {
		if r := do(t, "GET", url+path, nil, nil); r.status != 200 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	var meta struct {
		Name       string   `json:"name"`
		Extensions []string `json:"extensions"`
	}
	r := do(t, "GET", url+"/v2", nil, nil)
	if err := json.Unmarshal(r.body, &meta); err != nil || meta.Name != "dla" ||
		strings.Join(meta.Extensions, ",") != "binary_tensor_data,classification" {
		t.Errorf("server metadata %s (%v)", r.body, err)
	}
	for _, path := range []string{"/v2/models/dla46_c", "/v2/models/dla46_c/versions/1"} {
		var mm modelMetadata
		r := do(t, "GET", url+path, nil, nil)
		if err := json.Unmarshal(r.body, &mm); err != nil {
			t.Fatalf("%s: %s (%v)", path, r.body, err)
		}
		if mm.Name != "dla46_c" || len(mm.Inputs) != 2 || mm.Inputs[0].Name != "input" || mm.Inputs[1].Datatype != "BYTES" ||
			len(mm.Outputs) != 1 || mm.Outputs[0].Name != "logits" || mm.Outputs[0].Shape[1] != 10 {
			t.Errorf("%s: %s", path, r.body)
		}
	}
}

func TestHTTPInferFP32(t *testing.T) {
	m := builtinModel(t)
	_, url, _, _ := start(t, Config{})
	x := randomInput(2, 32, 32)
	want, err := m.Forward(t.Context(), x)
	if err != nil {
		t.Fatal(err)
	}
	// Nested data, as the protocol allows, and the id echoed.
	nested := make([][]float32, 2)
	for i := range nested {
		nested[i] = x.Data[i*3*32*32 : (i+1)*3*32*32]
	}
	r := postJSON(t, url+"/v2/models/dla46_c/infer", map[string]any{
		"id":     "req-7",
		"inputs": []any{map[string]any{"name": "input", "shape": []int{2, 3, 32, 32}, "datatype": "FP32", "data": nested}},
	})
	var resp v2Response
	var data struct {
		Outputs []struct {
			Data []float32 `json:"data"`
		} `json:"outputs"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &resp) != nil || json.Unmarshal(r.body, &data) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if resp.ID != "req-7" || resp.ModelName != "dla46_c" || resp.ModelVersion != "1" || len(resp.Outputs) != 1 ||
		resp.Outputs[0].Datatype != "FP32" || !equalShape(resp.Outputs[0].Shape, 2, 10) {
		t.Fatalf("response %s", r.body)
	}
	if !closeTo(data.Outputs[0].Data, want.Data, 1e-5) {
		t.Errorf("logits %v, want %v", data.Outputs[0].Data, want.Data)
	}

	// The same tensor as binary data, the logits back as binary data.
	head, _ := json.Marshal(map[string]any{
		"inputs":  []any{map[string]any{"name": "input", "shape": []int{2, 3, 32, 32}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 4 * len(x.Data)}}},
		"outputs": []any{map[string]any{"name": "logits", "parameters": map[string]any{"binary_data": true}}},
	})
	body := append(head, float32Bytes(x.Data)...)
	r = do(t, "POST", url+"/v2/models/dla46_c/infer", map[string]string{
		"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": strconv.Itoa(len(head))}, body)
	got := binaryOutputs(t, r)
	if len(got) != 1 || !closeTo(bytesFloat32(got[0]), want.Data, 1e-5) {
		t.Errorf("binary logits %v, want %v", got, want.Data)
	}
}

func TestHTTPInferImages(t *testing.T) {
	m := builtinModel(t)
	_, url, _, _ := start(t, Config{})
	imgs := [][]byte{fixture(t, "q90_420.jpg"), fixture(t, "rgb8.png")}
	wantLogits := append(want(t, m, imgs[0]), want(t, m, imgs[1])...)

	// JSON: base64 strings; the classification extension on the output.
	r := postJSON(t, url+"/v2/models/dla46_c/infer", map[string]any{
		"inputs": []any{map[string]any{"name": "image", "shape": []int{2}, "datatype": "BYTES",
			"data": []string{base64.StdEncoding.EncodeToString(imgs[0]), base64.StdEncoding.EncodeToString(imgs[1])}}},
		"outputs": []any{map[string]any{"name": "logits", "parameters": map[string]any{"classification": 3}}},
	})
	var resp struct {
		Outputs []struct {
			Datatype string   `json:"datatype"`
			Shape    []int64  `json:"shape"`
			Data     []string `json:"data"`
		} `json:"outputs"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &resp) != nil || len(resp.Outputs) != 1 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	out := resp.Outputs[0]
	if out.Datatype != "BYTES" || !equalShape(out.Shape, 2, 3) || len(out.Data) != 6 {
		t.Fatalf("classification output %s", r.body)
	}
	for i := range 2 {
		checkClassification(t, m, wantLogits[i*10:(i+1)*10], out.Data[i*3:(i+1)*3])
	}

	// Binary data: length-prefixed images in, raw logits and the
	// length-prefixed classification strings out.
	var bin []byte
	for _, img := range imgs {
		bin = binary.LittleEndian.AppendUint32(bin, uint32(len(img)))
		bin = append(bin, img...)
	}
	head, _ := json.Marshal(map[string]any{
		"parameters": map[string]any{"binary_data_output": true},
		"inputs":     []any{map[string]any{"name": "image", "shape": []int{2}, "datatype": "BYTES", "parameters": map[string]any{"binary_data_size": len(bin)}}},
		"outputs":    []any{map[string]any{"name": "logits"}, map[string]any{"name": "logits", "parameters": map[string]any{"classification": 2}}},
	})
	r = do(t, "POST", url+"/v2/models/dla46_c/infer", map[string]string{
		"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": strconv.Itoa(len(head))}, append(head, bin...))
	got := binaryOutputs(t, r)
	if len(got) != 2 || !closeTo(bytesFloat32(got[0]), wantLogits, 1e-5) {
		t.Fatalf("binary outputs %d, logits %v", len(got), got)
	}
	strs, err := rawBytes("out", got[1], 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		checkClassification(t, m, wantLogits[i*10:(i+1)*10], []string{string(strs[2*i]), string(strs[2*i+1])})
	}
}

// checkClassification checks "value:index:label" strings against logits.
func checkClassification(t *testing.T, m *dla.Model, logits []float32, got []string) {
	t.Helper()
	top := m.TopK(logits, len(got))
	for i, s := range got {
		parts := strings.SplitN(s, ":", 3)
		if len(parts) != 3 {
			t.Fatalf("classification %q", s)
		}
		v, err := strconv.ParseFloat(parts[0], 32)
		if err != nil || parts[1] != strconv.Itoa(top[i].Class) || parts[2] != top[i].Label ||
			math.Abs(v-float64(logits[top[i].Class])) > 1e-5 {
			t.Errorf("classification %d %q, want %g:%d:%s", i, s, logits[top[i].Class], top[i].Class, top[i].Label)
		}
	}
}

func TestClassifyMatchesPredictJSON(t *testing.T) {
	m := builtinModel(t)
	_, url, _, _ := start(t, Config{})
	img := fixture(t, "q90_420.jpg")
	top := m.TopK(want(t, m, img), 5)

	check := func(r response, image string) {
		t.Helper()
		var got dla.Classification
		if r.status != 200 || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if got.Image != image || len(got.Predictions) != 5 {
			t.Fatalf("%s", r.body)
		}
		for i, p := range got.Predictions {
			if p.Class != top[i].Class || p.Label != top[i].Label || math.Abs(float64(p.Score-top[i].Score)) > 1e-6 {
				t.Errorf("prediction %d %+v, want %+v", i, p, top[i])
			}
		}
	}
	check(do(t, "POST", url+"/v1/classify", map[string]string{"Content-Type": "image/jpeg"}, img), "")

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("note", "ignored")
	fw, _ := mw.CreateFormFile("image", "shirt.jpg")
	fw.Write(img)
	mw.Close()
	check(do(t, "POST", url+"/v1/classify?model=dla46_c&topk=5", map[string]string{"Content-Type": mw.FormDataContentType()}, form.Bytes()), "shirt.jpg")

	r := do(t, "POST", url+"/v1/classify?topk=2", nil, img)
	var two dla.Classification
	if json.Unmarshal(r.body, &two) != nil || len(two.Predictions) != 2 {
		t.Errorf("topk=2: %s", r.body)
	}
	var models []modelInfo
	r = do(t, "GET", url+"/v1/models", nil, nil)
	if json.Unmarshal(r.body, &models) != nil || len(models) != 1 || models[0].Name != "dla46_c" || models[0].InputSize != 32 {
		t.Errorf("models %s", r.body)
	}
}

func TestSeveralModels(t *testing.T) {
	m := builtinModel(t)
	ten, err := dla.Load("dla46_c", dla.WithSyntheticWeights(5), dla.WithClasses(3))
	if err != nil {
		t.Fatal(err)
	}
	_, url, _, _ := start(t, Config{Models: []Model{
		{Name: "fashion", Classifier: m, Preprocessing: m.Preprocessing()},
		{Name: "three", Classifier: ten, Preprocessing: m.Preprocessing()},
	}})
	img := fixture(t, "q90_420.jpg")
	for name, classes := range map[string]int{"fashion": 10, "three": 3} {
		var mm modelMetadata
		r := do(t, "GET", url+"/v2/models/"+name, nil, nil)
		if json.Unmarshal(r.body, &mm) != nil || mm.Outputs[0].Shape[1] != int64(classes) {
			t.Errorf("%s: %s", name, r.body)
		}
		var got dla.Classification
		r = do(t, "POST", url+"/v1/classify?topk=3&model="+name, nil, img)
		if json.Unmarshal(r.body, &got) != nil || len(got.Predictions) != 3 {
			t.Errorf("%s: %s", name, r.body)
		}
	}
}

func equalShape(s []int64, want ...int64) bool {
	if len(s) != len(want) {
		return false
	}
	for i := range s {
		if s[i] != want[i] {
			return false
		}
	}
	return true
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func bytesFloat32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// binaryOutputs splits a binary-data response into its outputs' data.
func binaryOutputs(t *testing.T, r response) [][]byte {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	n, err := strconv.Atoi(r.header.Get("Inference-Header-Content-Length"))
	if err != nil || n > len(r.body) {
		t.Fatalf("Inference-Header-Content-Length %q", r.header.Get("Inference-Header-Content-Length"))
	}
	var resp struct {
		Outputs []struct {
			Parameters struct {
				Size int `json:"binary_data_size"`
			} `json:"parameters"`
			Data any `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(r.body[:n], &resp); err != nil {
		t.Fatal(err)
	}
	rest := r.body[n:]
	var out [][]byte
	for _, o := range resp.Outputs {
		if o.Data != nil || o.Parameters.Size > len(rest) {
			t.Fatalf("output %+v with %d bytes left", o, len(rest))
		}
		out = append(out, rest[:o.Parameters.Size])
		rest = rest[o.Parameters.Size:]
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes after the outputs", len(rest))
	}
	return out
}
