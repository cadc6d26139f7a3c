package server

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/dla-go/dla/api"
)

// NewGRPCServer returns a gRPC server with the inference service, the
// standard health service (NOT_SERVING once draining) and reflection;
// every method but the health checks needs the token, if one is set.
func (s *Server) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes)),
		grpc.ChainUnaryInterceptor(s.logUnary, recoverUnary, s.authorizeUnary),
		grpc.ChainStreamInterceptor(s.authorizeStream),
	}, opts...)
	g := grpc.NewServer(opts...)
	api.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
	hs := health.NewServer()
	hs.SetServingStatus(api.GRPCInferenceService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, hs)
	reflection.Register(g)
	s.onDrain = append(s.onDrain, hs.Shutdown)
	return g
}

// openMethod reports the methods that answer without a token: the health
// checks of both services.
func openMethod(fullMethod string) bool {
	switch fullMethod {
	case api.GRPCInferenceService_ServerLive_FullMethodName, api.GRPCInferenceService_ServerReady_FullMethodName,
		api.GRPCInferenceService_ModelReady_FullMethodName:
		return true
	}
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/")
}

func (s *Server) checkToken(ctx context.Context, fullMethod string) error {
	if s.cfg.Token == "" || openMethod(fullMethod) {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if s.tokenMatches(v) {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, errUnauthorized.msg)
}

func (s *Server) authorizeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.checkToken(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) authorizeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.checkToken(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// logUnary writes one line per call to cfg.Log, if set.
func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if s.cfg.Log == nil {
		return h(ctx, req)
	}
	start := time.Now()
	resp, err := h(ctx, req)
	s.cfg.Log.LogAttrs(ctx, slog.LevelInfo, "grpc", slog.String("method", info.FullMethod),
		slog.String("code", status.Code(err).String()), slog.Duration("duration", time.Since(start)))
	return resp, err
}

// recoverUnary answers a panic in a handler with INTERNAL, as net/http
// does for HTTP handlers, instead of letting it end the process.
func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, status.Errorf(codes.Internal, "%s failed: %v", info.FullMethod, p)
		}
	}()
	return h(ctx, req)
}

type grpcService struct {
	api.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcService) ServerLive(context.Context, *api.ServerLiveRequest) (*api.ServerLiveResponse, error) {
	return &api.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *api.ServerReadyRequest) (*api.ServerReadyResponse, error) {
	return &api.ServerReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, req *api.ModelReadyRequest) (*api.ModelReadyResponse, error) {
	if _, err := g.s.lookup(req.Name, req.Version); err != nil {
		return nil, grpcError(err)
	}
	return &api.ModelReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *api.ServerMetadataRequest) (*api.ServerMetadataResponse, error) {
	return &api.ServerMetadataResponse{Name: "dla", Version: serverVersion(), Extensions: extensions}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, req *api.ModelMetadataRequest) (*api.ModelMetadataResponse, error) {
	m, err := g.s.lookup(req.Name, req.Version)
	if err != nil {
		return nil, grpcError(err)
	}
	md := m.metadata()
	tensors := func(ts []tensorMetadata) []*api.ModelMetadataResponse_TensorMetadata {
		var out []*api.ModelMetadataResponse_TensorMetadata
		for _, t := range ts {
			out = append(out, &api.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
		}
		return out
	}
	return &api.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform,
		Inputs: tensors(md.Inputs), Outputs: tensors(md.Outputs)}, nil
}

// ModelInfer answers with raw_output_contents when the request came with
// raw_input_contents, else with typed contents.
func (g *grpcService) ModelInfer(ctx context.Context, req *api.ModelInferRequest) (*api.ModelInferResponse, error) {
	m, err := g.s.lookup(req.ModelName, req.ModelVersion)
	if err != nil {
		return nil, grpcError(err)
	}
	var ir *inferRequest
	in, logits, err := g.s.run(ctx, m, func(ctx context.Context) (*batchInput, time.Duration, error) {
		if ir, err = g.s.parseGRPCInfer(m, req); err != nil {
			return nil, 0, err
		}
		in, err := g.s.prepare(ctx, m, ir)
		return in, ir.timeout, err
	})
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &api.ModelInferResponse{ModelName: m.name, ModelVersion: modelVersion, Id: req.Id}
	raw := len(req.RawInputContents) > 0
	for _, o := range m.outputs(ir.outputs, logits, in.n) {
		t := &api.ModelInferResponse_InferOutputTensor{Name: logitsTensor, Datatype: o.datatype, Shape: o.shape}
		switch {
		case raw:
			resp.RawOutputContents = append(resp.RawOutputContents, o.raw())
		case o.strs != nil:
			t.Contents = &api.InferTensorContents{BytesContents: make([][]byte, len(o.strs))}
			for i, s := range o.strs {
				t.Contents.BytesContents[i] = []byte(s)
			}
		default:
			t.Contents = &api.InferTensorContents{Fp32Contents: o.fp32}
		}
		resp.Outputs = append(resp.Outputs, t)
	}
	return resp, nil
}

// parseGRPCInfer checks a ModelInferRequest against m.
func (s *Server) parseGRPCInfer(m *servedModel, req *api.ModelInferRequest) (*inferRequest, error) {
	ir := &inferRequest{id: req.Id}
	if p, ok := req.Parameters["timeout"]; ok {
		us, isInt := p.ParameterChoice.(*api.InferParameter_Int64Param)
		if !isInt {
			return nil, badRequest("parameter \"timeout\" must be an int64 (microseconds)")
		}
		var err error
		if ir.timeout, err = clientTimeout(us.Int64Param); err != nil {
			return nil, err
		}
	}
	if len(req.Inputs) != 1 {
		return nil, badRequest("send one input, %q or %q; the request has %d", inputTensor, imageTensor, len(req.Inputs))
	}
	in := req.Inputs[0]
	raw := len(req.RawInputContents) > 0
	if raw && len(req.RawInputContents) != len(req.Inputs) {
		return nil, badRequest("%d raw_input_contents for %d inputs", len(req.RawInputContents), len(req.Inputs))
	}
	if raw && in.Contents != nil {
		return nil, badRequest("input %q has both contents and raw_input_contents", in.Name)
	}
	count, err := s.inputCount(m, in.Name, in.Datatype, in.Shape)
	if err != nil {
		return nil, err
	}
	ir.input, ir.shape = in.Name, in.Shape
	switch {
	case raw && in.Name == inputTensor:
		ir.fp32, err = rawFP32(in.Name, req.RawInputContents[0], count)
	case raw:
		ir.images, err = rawBytes(in.Name, req.RawInputContents[0], count)
	case in.Name == inputTensor:
		ir.fp32 = in.GetContents().GetFp32Contents()
	default:
		ir.images = in.GetContents().GetBytesContents()
		if len(ir.images) != count {
			err = badRequest("input %q: bytes_contents has %d images, its shape %d", in.Name, len(ir.images), count)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(req.Outputs) == 0 {
		ir.outputs = []outputSpec{{}}
	}
	for _, o := range req.Outputs {
		var k int64
		if p, ok := o.Parameters["classification"]; ok {
			v, isInt := p.ParameterChoice.(*api.InferParameter_Int64Param)
			if !isInt {
				return nil, badRequest("parameter \"classification\" must be an int64")
			}
			k = v.Int64Param
		}
		spec, err := outputSpecFor(m, o.Name, k, false)
		if err != nil {
			return nil, err
		}
		ir.outputs = append(ir.outputs, spec)
	}
	return ir, nil
}
