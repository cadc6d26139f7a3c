package server

import (
	"encoding/binary"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/dla-go/dla/api"
)

func TestGRPCHealthAndMetadata(t *testing.T) {
	_, _, c, conn := start(t, Config{})
	ctx := t.Context()
	if r, err := c.ServerLive(ctx, &api.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive %v %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &api.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady %v %v", r, err)
	}
	if r, err := c.ModelReady(ctx, &api.ModelReadyRequest{Name: "dla46_c", Version: "1"}); err != nil || !r.Ready {
		t.Errorf("ModelReady %v %v", r, err)
	}
	if _, err := c.ModelReady(ctx, &api.ModelReadyRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("ModelReady of an unknown model: %v", err)
	}
	sm, err := c.ServerMetadata(ctx, &api.ServerMetadataRequest{})
	if err != nil || sm.Name != "dla" || strings.Join(sm.Extensions, ",") != "binary_tensor_data,classification" {
		t.Errorf("ServerMetadata %v %v", sm, err)
	}
	mm, err := c.ModelMetadata(ctx, &api.ModelMetadataRequest{Name: "dla46_c"})
	if err != nil || mm.Platform != "dla_go" || len(mm.Inputs) != 2 || mm.Inputs[1].Name != "image" ||
		!equalShape(mm.Outputs[0].Shape, -1, 10) {
		t.Errorf("ModelMetadata %v %v", mm, err)
	}
	if _, err := c.ModelMetadata(ctx, &api.ModelMetadataRequest{Name: "dla46_c", Version: "2"}); status.Code(err) != codes.NotFound {
		t.Errorf("ModelMetadata of version 2: %v", err)
	}

	hr, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "inference.GRPCInferenceService"})
	if err != nil || hr.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health %v %v", hr, err)
	}
	// Reflection lists the inference service.
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	lr, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range lr.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "inference.GRPCInferenceService") {
		t.Errorf("reflection lists %v", names)
	}
}

func TestGRPCInfer(t *testing.T) {
	m := builtinModel(t)
	_, _, c, _ := start(t, Config{})
	ctx := t.Context()
	x := randomInput(2, 32, 32)
	wantFP32, err := m.Forward(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	input := func(name, datatype string, shape ...int64) *api.ModelInferRequest_InferInputTensor {
		return &api.ModelInferRequest_InferInputTensor{Name: name, Datatype: datatype, Shape: shape}
	}

	// Typed contents in, typed contents out; the id echoed.
	in := input("input", "FP32", 2, 3, 32, 32)
	in.Contents = &api.InferTensorContents{Fp32Contents: x.Data}
	r, err := c.ModelInfer(ctx, &api.ModelInferRequest{ModelName: "dla46_c", Id: "g1", Inputs: []*api.ModelInferRequest_InferInputTensor{in}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Id != "g1" || r.ModelName != "dla46_c" || r.ModelVersion != "1" || len(r.Outputs) != 1 ||
		!equalShape(r.Outputs[0].Shape, 2, 10) || !closeTo(r.Outputs[0].GetContents().GetFp32Contents(), wantFP32.Data, 1e-5) {
		t.Errorf("typed FP32: %v", r)
	}

	// raw_input_contents in, raw_output_contents out.
	r, err = c.ModelInfer(ctx, &api.ModelInferRequest{ModelName: "dla46_c",
		Inputs: []*api.ModelInferRequest_InferInputTensor{input("input", "FP32", 2, 3, 32, 32)}, RawInputContents: [][]byte{float32Bytes(x.Data)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RawOutputContents) != 1 || r.Outputs[0].Contents != nil || !closeTo(bytesFloat32(r.RawOutputContents[0]), wantFP32.Data, 1e-5) {
		t.Errorf("raw FP32: %v", r)
	}

	// Encoded images, typed and raw, with the classification extension.
	imgs := [][]byte{fixture(t, "q90_420.jpg"), fixture(t, "rgb8.png")}
	wantImgs := append(want(t, m, imgs[0]), want(t, m, imgs[1])...)
	in = input("image", "BYTES", 2)
	in.Contents = &api.InferTensorContents{BytesContents: imgs}
	classify := &api.ModelInferRequest_InferRequestedOutputTensor{Name: "logits",
		Parameters: map[string]*api.InferParameter{"classification": {ParameterChoice: &api.InferParameter_Int64Param{Int64Param: 2}}}}
	r, err = c.ModelInfer(ctx, &api.ModelInferRequest{ModelName: "dla46_c", Inputs: []*api.ModelInferRequest_InferInputTensor{in},
		Outputs: []*api.ModelInferRequest_InferRequestedOutputTensor{{Name: "logits"}, classify}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outputs) != 2 || !closeTo(r.Outputs[0].GetContents().GetFp32Contents(), wantImgs, 1e-5) ||
		r.Outputs[1].Datatype != "BYTES" || !equalShape(r.Outputs[1].Shape, 2, 2) {
		t.Fatalf("typed images: %v", r)
	}
	strs := r.Outputs[1].GetContents().GetBytesContents()
	for i := range 2 {
		checkClassification(t, m, wantImgs[i*10:(i+1)*10], []string{string(strs[2*i]), string(strs[2*i+1])})
	}

	var raw []byte
	for _, img := range imgs {
		raw = binary.LittleEndian.AppendUint32(raw, uint32(len(img)))
		raw = append(raw, img...)
	}
	r, err = c.ModelInfer(ctx, &api.ModelInferRequest{ModelName: "dla46_c", ModelVersion: "1",
		Inputs: []*api.ModelInferRequest_InferInputTensor{input("image", "BYTES", 2)}, RawInputContents: [][]byte{raw},
		Outputs: []*api.ModelInferRequest_InferRequestedOutputTensor{classify}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RawOutputContents) != 1 {
		t.Fatalf("raw images: %v", r)
	}
	got, err := rawBytes("out", r.RawOutputContents[0], 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		checkClassification(t, m, wantImgs[i*10:(i+1)*10], []string{string(got[2*i]), string(got[2*i+1])})
	}
}
