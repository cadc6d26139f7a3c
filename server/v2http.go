package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The Open Inference Protocol over HTTP: JSON, optionally followed by
// binary tensor data (the binary data extension).

const headerLengthHeader = "Inference-Header-Content-Length"

type v2Request struct {
	ID         string            `json:"id"`
	Parameters params            `json:"parameters"`
	Inputs     []v2Input         `json:"inputs"`
	Outputs    []v2RequestOutput `json:"outputs"`
}

type v2Input struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters params          `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

type v2RequestOutput struct {
	Name       string `json:"name"`
	Parameters params `json:"parameters"`
}

type v2Response struct {
	ModelName    string     `json:"model_name"`
	ModelVersion string     `json:"model_version"`
	ID           string     `json:"id,omitempty"`
	Outputs      []v2Output `json:"outputs"`
}

type v2Output struct {
	Name       string         `json:"name"`
	Datatype   string         `json:"datatype"`
	Shape      []int64        `json:"shape"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"`
}

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

type modelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []tensorMetadata `json:"inputs"`
	Outputs  []tensorMetadata `json:"outputs"`
}

func (m *servedModel) metadata() modelMetadata {
	return modelMetadata{Name: m.name, Versions: []string{modelVersion}, Platform: platform,
		Inputs: []tensorMetadata{
			{Name: inputTensor, Datatype: "FP32", Shape: []int64{-1, 3, -1, -1}},
			{Name: imageTensor, Datatype: "BYTES", Shape: []int64{-1}},
		},
		Outputs: []tensorMetadata{{Name: logitsTensor, Datatype: "FP32", Shape: []int64{-1, int64(m.classes)}}},
	}
}

// params is a parameters object: values are strings, numbers or booleans.
type params map[string]json.RawMessage

func (p params) bool(key string) (bool, error) {
	raw, ok := p[key]
	if !ok {
		return false, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, badRequest("parameter %q must be true or false, not %s", key, raw)
	}
	return v, nil
}

func (p params) int(key string) (int64, bool, error) {
	raw, ok := p[key]
	if !ok {
		return 0, false, nil
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, true, badRequest("parameter %q must be an integer, not %s", key, raw)
	}
	return v, true, nil
}

// parseHTTPInfer reads an inference request body for m.
func (s *Server) parseHTTPInfer(m *servedModel, header http.Header, body []byte) (*inferRequest, error) {
	head, bin := body, []byte(nil)
	if h := header.Get(headerLengthHeader); h != "" {
		n, err := strconv.ParseInt(h, 10, 64)
		if err != nil || n < 0 || n > int64(len(body)) {
			return nil, badRequest("%s %q is not a length within the %d-byte body", headerLengthHeader, h, len(body))
		}
		head, bin = body[:n], body[n:]
	}
	var r v2Request
	if err := json.Unmarshal(head, &r); err != nil {
		return nil, badRequest("malformed JSON inference request: %v", err)
	}
	req := &inferRequest{id: r.ID}
	us, _, err := r.Parameters.int("timeout")
	if err == nil {
		req.timeout, err = clientTimeout(us)
	}
	if err != nil {
		return nil, err
	}
	if len(r.Inputs) != 1 {
		return nil, badRequest("send one input, %q or %q; the request has %d", inputTensor, imageTensor, len(r.Inputs))
	}
	in := r.Inputs[0]
	count, err := s.inputCount(m, in.Name, in.Datatype, in.Shape)
	if err != nil {
		return nil, err
	}
	size, binary, err := in.Parameters.int("binary_data_size")
	switch {
	case err != nil:
		return nil, err
	case binary && len(in.Data) > 0:
		return nil, badRequest("input %q has both data and binary_data_size", in.Name)
	case binary && (size < 0 || size > int64(len(bin))):
		return nil, badRequest("input %q: binary_data_size %d, but %d bytes of binary data follow the JSON", in.Name, size, len(bin))
	case binary && int64(len(bin)) != size:
		return nil, badRequest("%d bytes of binary data follow the JSON, the inputs' binary_data_size is %d", len(bin), size)
	case !binary && len(bin) > 0:
		return nil, badRequest("%d bytes of binary data follow the JSON, but no input has binary_data_size", len(bin))
	case !binary && len(in.Data) == 0:
		return nil, badRequest("input %q has no data", in.Name)
	}
	req.input, req.shape = in.Name, in.Shape
	switch {
	case in.Name == inputTensor && binary:
		req.fp32, err = rawFP32(in.Name, bin, count)
	case in.Name == inputTensor:
		req.fp32, err = jsonFP32(in.Name, in.Data, count)
	case binary:
		req.images, err = rawBytes(in.Name, bin, count)
	default:
		req.images, err = jsonBase64(in.Name, in.Data, count)
	}
	if err != nil {
		return nil, err
	}
	allBinary, err := r.Parameters.bool("binary_data_output")
	if err != nil {
		return nil, err
	}
	if len(r.Outputs) == 0 {
		req.outputs = []outputSpec{{binary: allBinary}}
	}
	for _, o := range r.Outputs {
		k, _, err := o.Parameters.int("classification")
		if err != nil {
			return nil, err
		}
		bin := allBinary
		if _, set := o.Parameters["binary_data"]; set {
			if bin, err = o.Parameters.bool("binary_data"); err != nil {
				return nil, err
			}
		}
		spec, err := outputSpecFor(m, o.Name, k, bin)
		if err != nil {
			return nil, err
		}
		req.outputs = append(req.outputs, spec)
	}
	return req, nil
}

// jsonFP32 reads a JSON array of numbers, flat or nested, into exactly
// count values. The body was already checked to be valid JSON.
func jsonFP32(name string, data []byte, count int) ([]float32, error) {
	out := make([]float32, 0, count)
	depth := 0
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '[':
			depth++
			i++
		case c == ']':
			depth--
			i++
		case c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case depth > 0 && (c == '-' || c >= '0' && c <= '9'):
			j := i
			for j < len(data) && !isJSONDelimiter(data[j]) {
				j++
			}
			if len(out) == count {
				return nil, badRequest("input %q: the data has more than the %d values of its shape", name, count)
			}
			v, err := strconv.ParseFloat(string(data[i:j]), 32)
			if err != nil {
				return nil, badRequest("input %q: %q is not an FP32 value", name, data[i:j])
			}
			out = append(out, float32(v))
			i = j
		default:
			return nil, badRequest("input %q: the data must be an array of numbers", name)
		}
	}
	if len(out) != count {
		return nil, badRequest("input %q: the data has %d values, its shape %d", name, len(out), count)
	}
	return out, nil
}

func isJSONDelimiter(c byte) bool {
	return c == ',' || c == ']' || c == '[' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// jsonBase64 reads n base64 strings (JSON cannot carry raw bytes), in an
// array flat or nested.
func jsonBase64(name string, data []byte, n int) ([][]byte, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, badRequest("input %q: %v", name, err)
	}
	var strs []string
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case string:
			strs = append(strs, x)
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		default:
			return badRequest("input %q: the data must be an array of base64 strings", name)
		}
		return nil
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	if len(strs) != n {
		return nil, badRequest("input %q: the data has %d images, its shape %d", name, len(strs), n)
	}
	out := make([][]byte, n)
	for i, s := range strs {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, badRequest("input %q: image %d is not base64: %v", name, i, err)
		}
		out[i] = b
	}
	return out, nil
}

// writeInferResponse writes the outputs as JSON, with binary data after it
// for the outputs that asked for it.
func writeInferResponse(w http.ResponseWriter, m *servedModel, id string, outs []outputTensor) {
	resp := v2Response{ModelName: m.name, ModelVersion: modelVersion, ID: id}
	var bins [][]byte
	for _, o := range outs {
		vo := v2Output{Name: logitsTensor, Datatype: o.datatype, Shape: o.shape}
		switch {
		case o.binary:
			b := o.raw()
			vo.Parameters = map[string]any{"binary_data_size": len(b)}
			bins = append(bins, b)
		case o.strs != nil:
			vo.Data = o.strs
		default:
			vo.Data = o.fp32
		}
		resp.Outputs = append(resp.Outputs, vo)
	}
	head, err := json.Marshal(resp)
	if err != nil {
		writeError(w, fmt.Errorf("encoding the response: %w (send \"binary_data_output\": true for logits JSON cannot hold)", err))
		return
	}
	if len(bins) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Write(head)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(headerLengthHeader, strconv.Itoa(len(head)))
	w.Write(head)
	for _, b := range bins {
		w.Write(b)
	}
}

// v2Infer serves POST /v2/models/{name}[/versions/{version}]/infer.
func (s *Server) v2Infer(w http.ResponseWriter, r *http.Request) {
	m, err := s.lookup(r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := checkContentType(r, "application/json", "application/octet-stream"); err != nil {
		writeError(w, err)
		return
	}
	var req *inferRequest
	in, logits, err := s.run(r.Context(), m, func(ctx context.Context) (*batchInput, time.Duration, error) {
		body, err := s.readBody(w, r)
		if err != nil {
			return nil, 0, err
		}
		if req, err = s.parseHTTPInfer(m, r.Header, body); err != nil {
			return nil, 0, err
		}
		in, err := s.prepare(ctx, m, req)
		return in, req.timeout, err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeInferResponse(w, m, req.id, m.outputs(req.outputs, logits, in.n))
}
