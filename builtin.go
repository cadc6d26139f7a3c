package dla

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/weights"
)

// BuiltinName is the architecture of the model that ships inside the binary.
const BuiltinName = "dla46_c"

// builtinWeights is DLA46_c trained from scratch on Fashion-MNIST at 32x32
// (configs/builtin_fashion_mnist.yaml; the README gives the command), stored
// as float16 with its ten class names and preprocessing in the metadata.
//
//go:embed builtin/dla46_c_fashion_mnist.safetensors
var builtinWeights []byte

var builtinFile = sync.OnceValues(func() (*weightFile, error) {
	f, err := weights.Read(bytes.NewReader(builtinWeights), int64(len(builtinWeights)))
	if err != nil {
		return nil, fmt.Errorf("built-in model: %w", err)
	}
	return newWeightFile(f), nil
})

// IsBuiltin reports whether name (either spelling) is the built-in model's architecture.
func IsBuiltin(name string) bool {
	v, err := arch.Lookup(name)
	return err == nil && v.Name == BuiltinName
}

// Builtin returns the model that ships inside the binary: DLA46_c trained on
// Fashion-MNIST (ten classes of clothing, 32x32 inputs), so that prediction
// works offline with no weight file. opts may add labels or preprocessing;
// weight sources are refused.
func Builtin(opts ...Option) (*Model, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.weightsPath != "" || c.synthetic || c.weights != nil {
		return nil, fmt.Errorf("the built-in model has its own weights")
	}
	f, err := builtinFile()
	if err != nil {
		return nil, err
	}
	v, err := arch.Lookup(BuiltinName)
	if err != nil {
		return nil, err
	}
	c.weightsPath = "built-in model"
	return build(v, c, f)
}
