package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"mime/multipart"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dla-go/dla/api"
)

// v2Body renders an inference request; tensors maps straight to "inputs".
func v2Body(t *testing.T, inputs ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"inputs": inputs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fp32Input(shape []int, data any) map[string]any {
	return map[string]any{"name": "input", "datatype": "FP32", "shape": shape, "data": data}
}

func imageInput(images ...[]byte) map[string]any {
	data := make([]string, len(images))
	for i, b := range images {
		data[i] = base64.StdEncoding.EncodeToString(b)
	}
	return map[string]any{"name": "image", "datatype": "BYTES", "shape": []int{len(images)}, "data": data}
}

// binaryBody is a JSON head and binary data, with the header giving the
// head's length.
func binaryBody(t *testing.T, head map[string]any, bin []byte) (map[string]string, []byte) {
	t.Helper()
	h, err := json.Marshal(head)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": strconv.Itoa(len(h))},
		append(h, bin...)
}

func multipartBody(files map[string][]byte) (map[string]string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for name, data := range files {
		fw, _ := mw.CreateFormFile("image", name)
		fw.Write(data)
	}
	mw.WriteField("comment", "no file here")
	mw.Close()
	return map[string]string{"Content-Type": mw.FormDataContentType()}, b.Bytes()
}

// Every bad request gets its 4xx and a JSON error, and the server goes on.
func TestBadInputs(t *testing.T) {
	_, url, _, _ := start(t, Config{MaxBodyBytes: 64 << 10, MaxPixels: 50_000, MaxBatch: 4})
	jpeg := fixture(t, "q90_420.jpg")
	png := fixture(t, "rgb8.png")
	jsonCT := map[string]string{"Content-Type": "application/json"}
	ok32 := make([]float32, 3*32*32)
	infer := "/v2/models/dla46_c/infer"

	lengthPrefixed := binary.LittleEndian.AppendUint32(nil, uint32(len(jpeg)+10))
	lengthPrefixed = append(lengthPrefixed, jpeg...)
	nanBin := float32Bytes(append([]float32{float32(math.NaN())}, ok32[1:]...))
	twoFiles, twoFilesBody := multipartBody(map[string][]byte{"a.jpg": jpeg, "b.jpg": jpeg})
	noFile, noFileBody := multipartBody(nil)
	binHdr, binBody := binaryBody(t, map[string]any{"inputs": []any{map[string]any{"name": "input", "datatype": "FP32",
		"shape": []int{1, 3, 32, 32}, "parameters": map[string]any{"binary_data_size": 4 * len(ok32)}}}}, float32Bytes(ok32[1:]))
	shortHdr, shortBody := binaryBody(t, map[string]any{"inputs": []any{map[string]any{"name": "image", "datatype": "BYTES",
		"shape": []int{1}, "parameters": map[string]any{"binary_data_size": len(lengthPrefixed)}}}}, lengthPrefixed)
	extraHdr, extraBody := binaryBody(t, map[string]any{"inputs": []any{fp32Input([]int{1, 3, 32, 32}, ok32)}}, []byte{1, 2, 3})
	nanHdr, nanBody := binaryBody(t, map[string]any{"inputs": []any{map[string]any{"name": "input", "datatype": "FP32",
		"shape": []int{1, 3, 32, 32}, "parameters": map[string]any{"binary_data_size": len(nanBin)}}}}, nanBin)

	cases := []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		body    []byte
		status  int
		contain string // in the error message
	}{
		{"not an image", "POST", "/v1/classify", map[string]string{"Content-Type": "image/jpeg"}, []byte("hello, world"), 400, "decode"},
		{"truncated JPEG header", "POST", "/v1/classify", nil, jpeg[:600], 400, "EOF"},
		{"truncated PNG", "POST", "/v1/classify", nil, png[:len(png)/2], 400, "png"},
		{"truncated image over V2", "POST", infer, jsonCT, v2Body(t, imageInput(png[:len(png)/2])), 400, "image 0"},
		{"empty body", "POST", "/v1/classify", nil, nil, 400, "empty"},
		{"JSON to classify", "POST", "/v1/classify", jsonCT, []byte(`{}`), 415, "Content-Type"},
		{"text to infer", "POST", infer, map[string]string{"Content-Type": "text/plain"}, []byte("x"), 415, "Content-Type"},
		{"two files", "POST", "/v1/classify", twoFiles, twoFilesBody, 400, "one image"},
		{"form without a file", "POST", "/v1/classify", noFile, noFileBody, 400, "no image"},
		{"too many pixels", "POST", "/v1/classify", nil, fixture(t, "big420.jpg"), 413, "too large"},
		{"body over the limit", "POST", "/v1/classify", nil, make([]byte, 65<<10), 413, "limit"},
		{"topk zero", "POST", "/v1/classify?topk=0", nil, jpeg, 400, "topk"},
		{"topk not a number", "POST", "/v1/classify?topk=five", nil, jpeg, 400, "topk"},
		{"unknown model to classify", "POST", "/v1/classify?model=nope", nil, jpeg, 404, "unknown model"},
		{"malformed JSON", "POST", infer, jsonCT, []byte(`{"inputs": [`), 400, "malformed JSON"},
		{"JSON of the wrong types", "POST", infer, jsonCT, []byte(`{"inputs": {"name": 3}}`), 400, "malformed JSON"},
		{"bad base64", "POST", infer, jsonCT, v2Body(t, map[string]any{"name": "image", "datatype": "BYTES", "shape": []int{1}, "data": []string{"%%%"}}), 400, "base64"},
		{"numbers as images", "POST", infer, jsonCT, v2Body(t, map[string]any{"name": "image", "datatype": "BYTES", "shape": []int{1}, "data": []int{1}}), 400, "base64"},
		{"strings as FP32", "POST", infer, jsonCT, v2Body(t, fp32Input([]int{1, 3, 32, 32}, []string{"a"})), 400, "numbers"},
		{"too few values", "POST", infer, jsonCT, v2Body(t, fp32Input([]int{1, 3, 32, 32}, ok32[1:])), 400, "3072"},
		{"too many values", "POST", infer, jsonCT, v2Body(t, fp32Input([]int{1, 3, 32, 32}, append(ok32, 1))), 400, "more than"},
		{"images and shape disagree", "POST", infer, jsonCT, v2Body(t, map[string]any{"name": "image", "datatype": "BYTES", "shape": []int{2},
			"data": []string{base64.StdEncoding.EncodeToString(jpeg)}}), 400, "its shape 2"},
		{"header length past the body", "POST", infer, map[string]string{"Inference-Header-Content-Length": "999999"}, v2Body(t, imageInput(jpeg)), 400, "Inference-Header-Content-Length"},
		{"header length not a number", "POST", infer, map[string]string{"Inference-Header-Content-Length": "-1"}, v2Body(t, imageInput(jpeg)), 400, "Inference-Header-Content-Length"},
		{"binary data short of its size", "POST", infer, binHdr, binBody, 400, "binary_data_size"},
		{"BYTES element past the data", "POST", infer, shortHdr, shortBody, 400, "claims"},
		{"binary data nobody claims", "POST", infer, extraHdr, extraBody, 400, "no input has binary_data_size"},
		{"NaN input", "POST", infer, nanHdr, nanBody, 400, "NaN"},
		{"unknown model", "POST", "/v2/models/nope/infer", jsonCT, v2Body(t, imageInput(jpeg)), 404, "unknown model"},
		{"unknown version", "POST", "/v2/models/dla46_c/versions/7/infer", jsonCT, v2Body(t, imageInput(jpeg)), 404, "version"},
		{"metadata of an unknown model", "GET", "/v2/models/nope", nil, nil, 404, "unknown model"},
		{"readiness of an unknown model", "GET", "/v2/models/nope/ready", nil, nil, 404, "unknown model"},
		{"wrong channel count", "POST", infer, jsonCT, v2Body(t, fp32Input([]int{1, 1, 32, 32}, ok32[:1024])), 400, "[N,3,H,W]"},
		{"size not a multiple of 32", "POST", infer, jsonCT, v2Body(t, fp32Input([]int{1, 3, 33, 32}, make([]float32, 3*33*32))), 400, "multiples of 32"},
		{"size over the limit", "POST", infer, jsonCT, v2Body(t, fp32Input([]int{1, 3, 544, 32}, []float32{0})), 400, "multiples of 32"},
		{"negative shape", "POST", infer, jsonCT, v2Body(t, fp32Input([]int{-1, 3, 32, 32}, ok32)), 400, "batch"},
		{"batch over --max-batch", "POST", infer, jsonCT, v2Body(t, imageInput(jpeg, jpeg, jpeg, jpeg, jpeg)), 400, "batch of 5"},
		{"two-dimensional images", "POST", infer, jsonCT, v2Body(t, map[string]any{"name": "image", "datatype": "BYTES", "shape": []int{1, 1}, "data": []string{""}}), 400, "want [N]"},
		{"FP16 input", "POST", infer, jsonCT, v2Body(t, map[string]any{"name": "input", "datatype": "FP16", "shape": []int{1, 3, 32, 32}, "data": []int{0}}), 400, "must be FP32"},
		{"unknown input", "POST", infer, jsonCT, v2Body(t, map[string]any{"name": "pixels", "datatype": "FP32", "shape": []int{1}, "data": []int{0}}), 400, "unknown input"},
		{"two inputs", "POST", infer, jsonCT, v2Body(t, imageInput(jpeg), imageInput(jpeg)), 400, "one input"},
		{"no inputs", "POST", infer, jsonCT, []byte(`{"inputs": []}`), 400, "one input"},
		{"input without data", "POST", infer, jsonCT, v2Body(t, map[string]any{"name": "image", "datatype": "BYTES", "shape": []int{1}}), 400, "no data"},
		{"unknown output", "POST", infer, jsonCT, mustJSON(t, map[string]any{"inputs": []any{imageInput(jpeg)},
			"outputs": []any{map[string]any{"name": "probs"}}}), 400, "unknown output"},
		{"classification over the classes", "POST", infer, jsonCT, mustJSON(t, map[string]any{"inputs": []any{imageInput(jpeg)},
			"outputs": []any{map[string]any{"name": "logits", "parameters": map[string]any{"classification": 11}}}}), 400, "classification"},
		{"timeout not a number", "POST", infer, jsonCT, mustJSON(t, map[string]any{"inputs": []any{imageInput(jpeg)}, "parameters": map[string]any{"timeout": "soon"}}), 400, "timeout"},
		{"binary_data not a bool", "POST", infer, jsonCT, mustJSON(t, map[string]any{"inputs": []any{imageInput(jpeg)}, "parameters": map[string]any{"binary_data_output": 1}}), 400, "binary_data_output"},
		{"GET to infer", "GET", infer, nil, nil, 405, "use POST"},
		{"POST to metadata", "POST", "/v2", nil, nil, 405, "use GET"},
		{"unknown endpoint", "GET", "/v2/nothing/here", nil, nil, 404, "no endpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, url+c.path, c.header, c.body)
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
				t.Fatalf("status %d, body %q is not a JSON error", r.status, r.body)
			}
			if r.status != c.status || !strings.Contains(e.Error, c.contain) {
				t.Errorf("status %d %q, want %d and %q", r.status, e.Error, c.status, c.contain)
			}
		})
	}
	// Still serving.
	if r := do(t, "POST", url+"/v1/classify", nil, jpeg); r.status != 200 {
		t.Errorf("after the bad requests: %d %s", r.status, r.body)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGRPCBadInputs(t *testing.T) {
	_, _, client, _ := start(t, Config{MaxBodyBytes: 64 << 10})
	jpeg := fixture(t, "q90_420.jpg")
	in := func(name, datatype string, shape ...int64) []*api.ModelInferRequest_InferInputTensor {
		return []*api.ModelInferRequest_InferInputTensor{{Name: name, Datatype: datatype, Shape: shape}}
	}
	withBytes := in("image", "BYTES", 1)
	withBytes[0].Contents = &api.InferTensorContents{BytesContents: [][]byte{jpeg[:600]}}
	cases := []struct {
		name string
		req  *api.ModelInferRequest
		code codes.Code
	}{
		{"unknown model", &api.ModelInferRequest{ModelName: "nope", Inputs: in("image", "BYTES", 1)}, codes.NotFound},
		{"unknown version", &api.ModelInferRequest{ModelName: "dla46_c", ModelVersion: "3", Inputs: in("image", "BYTES", 1)}, codes.NotFound},
		{"wrong shape", &api.ModelInferRequest{ModelName: "dla46_c", Inputs: in("input", "FP32", 1, 3, 30, 30)}, codes.InvalidArgument},
		{"raw size wrong", &api.ModelInferRequest{ModelName: "dla46_c", Inputs: in("input", "FP32", 1, 3, 32, 32), RawInputContents: [][]byte{{1, 2, 3}}}, codes.InvalidArgument},
		{"raw count wrong", &api.ModelInferRequest{ModelName: "dla46_c", Inputs: in("image", "BYTES", 1), RawInputContents: [][]byte{{}, {}}}, codes.InvalidArgument},
		{"no contents", &api.ModelInferRequest{ModelName: "dla46_c", Inputs: in("image", "BYTES", 1)}, codes.InvalidArgument},
		{"truncated image", &api.ModelInferRequest{ModelName: "dla46_c", Inputs: withBytes}, codes.InvalidArgument},
		{"message over the limit", &api.ModelInferRequest{ModelName: "dla46_c", Inputs: in("image", "BYTES", 1), RawInputContents: [][]byte{make([]byte, 65<<10)}}, codes.ResourceExhausted},
		{"classification not an int", &api.ModelInferRequest{ModelName: "dla46_c", Inputs: in("image", "BYTES", 1),
			Outputs: []*api.ModelInferRequest_InferRequestedOutputTensor{{Name: "logits", Parameters: map[string]*api.InferParameter{
				"classification": {ParameterChoice: &api.InferParameter_StringParam{StringParam: "5"}}}}}}, codes.InvalidArgument},
	}
	for _, c := range cases {
		if _, err := client.ModelInfer(t.Context(), c.req); status.Code(err) != c.code {
			t.Errorf("%s: %v, want %v", c.name, err, c.code)
		}
	}
	if _, err := client.ModelInfer(t.Context(), &api.ModelInferRequest{ModelName: "dla46_c", Inputs: in("image", "BYTES", 1),
		RawInputContents: [][]byte{append(binary.LittleEndian.AppendUint32(nil, uint32(len(jpeg))), jpeg...)}}); err != nil {
		t.Errorf("after the bad requests: %v", err)
	}
}
