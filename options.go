package dla

import (
	"fmt"
	"io"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/vision"
	"github.com/dla-go/dla/weights"
)

// Option configures Load.
type Option func(*config) error

type config struct {
	weightsPath  string      // the file, or the name WithWeightsReader gave
	weightsFrom  io.ReaderAt // WithWeightsReader's file, read instead of weightsPath
	weightsSize  int64
	synthetic    bool
	seed         uint64
	classes      int
	allowMissing []string
	labels       []string
	prep         *vision.Options
	weights      nn.Weights
}

// WithWeights loads parameters from a weight file (safetensors, PyTorch .pth
// in zip or legacy format, PaddleClas .pdparams), detected from its content.
func WithWeights(path string) Option {
	return func(c *config) error { c.weightsPath = path; return nil }
}

// WithWeightsReader is WithWeights for a file already open or in memory
// (size bytes of r); name stands for it in errors.
func WithWeightsReader(name string, r io.ReaderAt, size int64) Option {
	return func(c *config) error {
		if name == "" {
			name = "weights"
		}
		c.weightsPath, c.weightsFrom, c.weightsSize = name, r, size
		return nil
	}
}

// WithSyntheticWeights fills the model with deterministic pseudo-random
// weights (for benchmarks and tests; the predictions mean nothing).
func WithSyntheticWeights(seed uint64) Option {
	return func(c *config) error { c.synthetic, c.seed = true, seed; return nil }
}

// WithClasses sets the number of classes (default: from the weight file, else 1000).
func WithClasses(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("number of classes must be positive, got %d", n)
		}
		c.classes = n
		return nil
	}
}

// WithAllowMissing lets the listed tensors (glob patterns such as "fc.*") be
// absent from the weight file; they keep synthetic initial values. Used to
// fine-tune with a new number of classes.
func WithAllowMissing(patterns ...string) Option {
	return func(c *config) error { c.allowMissing = append(c.allowMissing, patterns...); return nil }
}

// WithLabels names the classes (index = class id).
func WithLabels(labels []string) Option {
	return func(c *config) error { c.labels = labels; return nil }
}

// WithPreprocessing sets the eval preprocessing the model expects (default:
// the one its weight file records, else PaddleClas's ImageNet pipeline).
func WithPreprocessing(opt vision.Options) Option {
	return func(c *config) error {
		if err := opt.Validate(); err != nil {
			return err
		}
		c.prep = &opt
		return nil
	}
}

// WithWeightsMap uses parameters already in memory (bound strictly).
func WithWeightsMap(w nn.Weights) Option {
	return func(c *config) error { c.weights = w; return nil }
}

// Load builds the named model ("dla34", "DLA46x_c", ...) with its weights.
func Load(name string, opts ...Option) (*Model, error) {
	v, err := arch.Lookup(name)
	if err != nil {
		return nil, err
	}
	c, f, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	m, err := build(v, c, f)
	if err != nil && f != nil {
		for _, other := range arch.Variants {
			if other.Name == v.Name {
				continue
			}
			if _, e := build(other, c, f); e == nil {
				return nil, fmt.Errorf("%s holds %s weights, not %s (use -m %s)\n%w", c.weightsPath, other.Name, v.Name, other.Name, err)
			}
		}
	}
	return m, err
}

// Open loads a weight file (WithWeights is required) for the architecture it
// records in its metadata or, failing that, the one variant its tensors fit.
func Open(opts ...Option) (*Model, error) {
	c, f, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("dla.Open needs WithWeights")
	}
	if name := f.meta["architecture"]; name != "" {
		v, err := arch.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.weightsPath, err)
		}
		return build(v, c, f)
	}
	// Find the variant from the file alone (its own class count, nothing
	// missing), then build with the caller's options, reporting their errors.
	probe := c
	probe.classes, probe.allowMissing = 0, nil
	for _, v := range arch.Variants {
		if _, err := build(v, probe, f); err == nil {
			return build(v, c, f)
		}
	}
	return nil, fmt.Errorf("%s: the tensors fit none of the ten DLA models; name the model with -m to see what does not match", c.weightsPath)
}

func prepare(opts []Option) (config, *weightFile, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, nil, err
		}
	}
	sources := 0
	for _, set := range []bool{c.weightsPath != "", c.synthetic, c.weights != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return c, nil, fmt.Errorf("give exactly one source of weights (a file, synthetic, or a map)")
	}
	if c.weightsPath == "" {
		return c, nil, nil
	}
	if c.weightsFrom != nil {
		f, err := weights.Read(c.weightsFrom, c.weightsSize)
		if err != nil {
			return c, nil, fmt.Errorf("%s: %w", c.weightsPath, err)
		}
		return c, newWeightFile(f), nil
	}
	f, err := readWeights(c.weightsPath)
	return c, f, err
}

func build(v arch.Variant, c config, f *weightFile) (*Model, error) {
	m := &Model{variant: v, engines: map[[2]int]*nn.Engine{}, labels: c.labels}
	w := c.weights
	if f != nil {
		w, m.meta = f.tensors, f.meta
	}
	m.classes = c.classes
	if m.classes == 0 {
		m.classes = 1000
		if fc, ok := w["fc.bias"]; ok && len(fc.Shape) == 1 && fc.Shape[0] > 0 {
			m.classes = fc.Shape[0]
		}
	}
	g, err := v.Build(m.classes, 224, 224)
	if err != nil {
		return nil, err
	}
	if c.synthetic {
		m.weights = arch.SyntheticWeights(g, c.seed)
	} else {
		bound, err := bindWeights(g, w, c.allowMissing, c.seed)
		if err != nil {
			if f != nil {
				return nil, fmt.Errorf("%s does not fit %s with %d classes: %w", c.weightsPath, v.Name, m.classes, err)
			}
			return nil, err
		}
		m.weights = bound
	}
	if m.labels != nil && len(m.labels) != m.classes {
		return nil, fmt.Errorf("%d labels given for a model with %d classes", len(m.labels), m.classes)
	}
	if err := m.readMetadata(c); err != nil {
		return nil, fmt.Errorf("%s: %w", c.weightsPath, err)
	}
	return m, nil
}

// readMetadata takes labels and preprocessing from the weight file's
// metadata unless the caller gave them.
func (m *Model) readMetadata(c config) error {
	if s, ok := m.meta[MetaLabels]; ok && m.labels == nil {
		labels, err := decodeLabels(s, m.classes)
		if err != nil {
			return err
		}
		m.labels = labels
	}
	switch s, ok := m.meta[MetaPreprocessing]; {
	case c.prep != nil:
		m.prep = *c.prep
	case ok:
		opt, err := DecodePreprocessing(s)
		if err != nil {
			return err
		}
		m.prep = opt
	}
	return nil
}
