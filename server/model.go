package server

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/vision"
)

// Classifier is what the server needs of a model; *dla.Model is one.
type Classifier interface {
	Forward(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error)
	Classes() int
	Label(c int) string
	TopK(logits []float32, k int) []dla.Prediction
}

// Model is one model to serve.
type Model struct {
	Name       string // in URLs and requests
	Classifier Classifier
	// Preprocessing turns an encoded image into the model's input, exactly
	// as `dla predict` does for this model; the server sets its size limits.
	Preprocessing vision.Options
}

// The model's tensors, as its metadata describes them.
const (
	inputTensor  = "input"  // FP32 [N,3,H,W], preprocessed
	imageTensor  = "image"  // BYTES [N], encoded images
	logitsTensor = "logits" // FP32 [N,classes]
	modelVersion = "1"      // one version per model
	platform     = "dla_go"
)

// Limits on preprocessed FP32 inputs: each size the clients send compiles
// an engine that stays in memory, so sizes are bounded in extent and number.
const (
	maxInputSide  = 512
	maxInputSizes = 8
)

// servedModel is a model with its queue, limits and metrics.
type servedModel struct {
	name    string
	model   Classifier
	classes int
	prep    vision.Options
	crop    int
	batcher *batcher
	metrics *modelMetrics

	sizesMu sync.Mutex
	sizes   map[[2]int]bool // FP32 input sizes admitted so far
}

// batchInput is a request's images, ready for the batcher.
type batchInput struct {
	x       []float32
	n, h, w int
}

// checkBatch refuses batches the server does not take.
func (s *Server) checkBatch(n int64) error {
	if n < 1 || n > int64(s.cfg.MaxBatch) {
		return badRequest("batch of %d images: this server takes 1 to %d per request (--max-batch)", n, s.cfg.MaxBatch)
	}
	return nil
}

// fp32Shape checks the shape of a preprocessed input [N,3,H,W] against the
// model, before its data is read, and returns its number of values.
func (s *Server) fp32Shape(m *servedModel, shape []int64) (int, error) {
	if len(shape) != 4 || shape[1] != 3 {
		return 0, badRequest("input %q has shape %v, want [N,3,H,W]", inputTensor, shape)
	}
	if err := s.checkBatch(shape[0]); err != nil {
		return 0, err
	}
	h, w := shape[2], shape[3]
	if h < 32 || w < 32 || h > maxInputSide || w > maxInputSide || h%32 != 0 || w%32 != 0 {
		return 0, badRequest("input %q is %dx%d: height and width must be multiples of 32 from 32 to %d (the model's own size is %d)",
			inputTensor, h, w, maxInputSide, m.crop)
	}
	return int(shape[0] * 3 * h * w), nil
}

// fp32Input checks a preprocessed input [N,3,H,W] and its values.
func (s *Server) fp32Input(m *servedModel, shape []int64, data []float32) (*batchInput, error) {
	size, err := s.fp32Shape(m, shape)
	if err != nil {
		return nil, err
	}
	if len(data) != size {
		return nil, badRequest("input %q: shape %v holds %d values, the data has %d", inputTensor, shape, size, len(data))
	}
	for _, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, badRequest("input %q holds NaN or infinite values", inputTensor)
		}
	}
	n, h, w := int(shape[0]), int(shape[2]), int(shape[3])
	if err := m.admitSize(h, w); err != nil {
		return nil, err
	}
	return &batchInput{x: data, n: n, h: h, w: w}, nil
}

// admitSize lets a new input size in while fewer than maxInputSizes are.
func (m *servedModel) admitSize(h, w int) error {
	m.sizesMu.Lock()
	defer m.sizesMu.Unlock()
	if m.sizes[[2]int{h, w}] {
		return nil
	}
	if len(m.sizes) >= maxInputSizes {
		return badRequest("input size %dx%d: this model already runs %d sizes, the most it keeps; send %dx%d", h, w, maxInputSizes, m.crop, m.crop)
	}
	m.sizes[[2]int{h, w}] = true
	return nil
}

// imageInput decodes and preprocesses encoded images as `dla predict` does,
// a few at a time over the whole server (decoding is CPU-bound).
func (s *Server) imageInput(ctx context.Context, m *servedModel, images [][]byte) (*batchInput, error) {
	if err := s.checkBatch(int64(len(images))); err != nil {
		return nil, err
	}
	per := 3 * m.crop * m.crop
	x := make([]float32, len(images)*per)
	for i, b := range images {
		select {
		case s.decodeSlots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		err := vision.PreprocessBytes(x[i*per:(i+1)*per], b, m.prep)
		<-s.decodeSlots
		switch {
		case errors.Is(err, vision.ErrTooLarge):
			return nil, tooLarge("image %d: %v", i, err)
		case err != nil:
			return nil, badRequest("image %d: %v", i, err)
		}
	}
	return &batchInput{x: x, n: len(images), h: m.crop, w: m.crop}, nil
}

// classification renders the top k of each image's logits the way the
// classification extension says: "value:index:label", value the logit.
func (m *servedModel) classification(logits []float32, n, k int) []string {
	out := make([]string, 0, n*k)
	for i := range n {
		row := logits[i*m.classes : (i+1)*m.classes]
		for _, p := range m.model.TopK(row, k) {
			value := strconv.FormatFloat(float64(row[p.Class]), 'g', -1, 32)
			out = append(out, value+":"+strconv.Itoa(p.Class)+":"+p.Label)
		}
	}
	return out
}
