package server

import (
	"net/http"
	"testing"
)

// Whatever a client sends as an inference request, parsing it ends in a
// request that fits the model or in an error, never a panic.
func FuzzParseHTTPInfer(f *testing.F) {
	f.Add("", []byte(`{"id":"1","inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","data":[[0.5,1e-3]]}]}`))
	f.Add("", []byte(`{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","data":["iVBORw0KGgo="]}],"outputs":[{"name":"logits","parameters":{"classification":3}}]}`))
	f.Add("93", []byte(`{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":7}}]}`+"\x03\x00\x00\x00abc"))
	f.Add("", []byte(`{"parameters":{"timeout":100,"binary_data_output":true},"inputs":[{"name":"input","shape":[1,3,32,32],"datatype":"FP32","data":[-1,[2,[3]]]}]}`))
	s, err := New(Config{Models: []Model{{Name: "m", Classifier: builtinModel(f), Preprocessing: builtinModel(f).Preprocessing()}}})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	m := s.models["m"]
	f.Fuzz(func(t *testing.T, headerLength string, body []byte) {
		h := http.Header{}
		if headerLength != "" {
			h.Set(headerLengthHeader, headerLength)
		}
		req, err := s.parseHTTPInfer(m, h, body)
		if err != nil {
			if asAPIError(err).status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		n := req.shape[0]
		switch {
		case len(req.outputs) == 0:
			t.Fatal("no outputs")
		case req.input == imageTensor && int64(len(req.images)) != n:
			t.Fatalf("%d images for shape %v", len(req.images), req.shape)
		case req.input == inputTensor && len(req.fp32) != int(n*3*req.shape[2]*req.shape[3]):
			t.Fatalf("%d values for shape %v", len(req.fp32), req.shape)
		case n < 1 || n > int64(s.cfg.MaxBatch):
			t.Fatalf("batch %d accepted", n)
		}
	})
}
