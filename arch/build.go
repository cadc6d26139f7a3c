package arch

import (
	"fmt"

	"github.com/dla-go/dla/nn"
)

// Stride is the network's total downsampling: inputs must be multiples of it.
const Stride = 32

// CheckInputSize explains which input sizes the network accepts. Every tree
// adds a 3x3/2 convolution (ceil) to a 2x2/2 max pool (floor), so each of the
// five halvings must see an even size.
func CheckInputSize(h, w int) error {
	if h <= 0 || w <= 0 || h%Stride != 0 || w%Stride != 0 {
		return fmt.Errorf("input size %dx%d is not supported: height and width must be positive multiples of %d (e.g. 224x224, 160x192)", h, w, Stride)
	}
	return nil
}

// Build returns the inference/training graph of v for inputs of h x w pixels
// with the given number of classes.
func (v Variant) Build(classes, h, w int) (*nn.Graph, error) {
	if err := CheckInputSize(h, w); err != nil {
		return nil, err
	}
	if classes <= 0 {
		return nil, fmt.Errorf("number of classes must be positive, got %d", classes)
	}
	b := nn.NewBuilder(3, h, w)
	c := v.Channels
	x := convBNReLU(b, "base_layer.0", "base_layer.1", 0, c[0], 7, 1)
	x = convStage(b, "level0", x, c[0], v.Levels[0], 1)
	x = convStage(b, "level1", x, c[1], v.Levels[1], 2)
	t := treeBuilder{b: b, v: v}
	x = t.tree("level2", x, v.Levels[2], c[1], c[2], 2, false, 0, nil)
	x = t.tree("level3", x, v.Levels[3], c[2], c[3], 2, true, 0, nil)
	x = t.tree("level4", x, v.Levels[4], c[3], c[4], 2, true, 0, nil)
	x = t.tree("level5", x, v.Levels[5], c[4], c[5], 2, true, 0, nil)
	x = b.GlobalAvgPool(x)
	x = b.ConvBias("fc", x, classes, 1)
	return b.Finish(x)
}

func convBNReLU(b *nn.Builder, conv, bn string, x, out, kernel, stride int) int {
	x = b.Conv(conv, x, out, kernel, stride, kernel/2, 1)
	return b.ReLU(b.BatchNorm(bn, x))
}

// convStage is levels 0 and 1: n x [3x3 conv, BN, ReLU], the first strided;
// PyTorch Sequential indices are conv 3i, BN 3i+1, ReLU 3i+2.
func convStage(b *nn.Builder, name string, x, out, n, stride int) int {
	for i := range n {
		s := 1
		if i == 0 {
			s = stride
		}
		x = convBNReLU(b, fmt.Sprintf("%s.%d", name, 3*i), fmt.Sprintf("%s.%d", name, 3*i+1), x, out, 3, s)
	}
	return x
}

type treeBuilder struct {
	b *nn.Builder
	v Variant
}

// tree follows dla-reference.md section 3: leaves hold two blocks, an optional
// projection and the Root; inner nodes chain two subtrees and thread the
// children list down the right-most chain. Root concatenation order is
// [x2, x1, bottom (level roots only), ancestors' x1 from outer to inner].
func (t treeBuilder) tree(p string, x, levels, in, out, stride int, levelRoot bool, rootDim int, children []int) int {
	b := t.b
	if rootDim == 0 {
		rootDim = 2 * out
	}
	if levelRoot {
		rootDim += in
	}
	children = append([]int(nil), children...)
	bottom := x
	needBottom := levels == 1 || levelRoot
	if stride > 1 && needBottom {
		bottom = b.MaxPool(x, stride)
	}
	if levelRoot {
		children = append(children, bottom)
	}
	if levels > 1 {
		x1 := t.tree(p+".tree1", x, levels-1, in, out, stride, false, 0, nil)
		children = append(children, x1)
		return t.tree(p+".tree2", x1, levels-1, out, out, 1, false, rootDim+out, children)
	}
	shortcut := bottom
	if in != out {
		shortcut = b.BatchNorm(p+".project.1", b.Conv(p+".project.0", bottom, out, 1, 1, 0, 1))
	}
	x1 := t.block(p+".tree1", x, out, stride, shortcut)
	x2 := t.block(p+".tree2", x1, out, 1, x1)
	cat := b.Concat(append([]int{x2, x1}, children...)...)
	if got := b.Shape(cat)[0]; got != rootDim {
		panic(fmt.Sprintf("arch: %s.root has %d input channels, the recursion says %d", p, got, rootDim))
	}
	y := b.BatchNorm(p+".root.bn", b.Conv(p+".root.conv", cat, out, 1, 1, 0, 1))
	if t.v.ResidualRoot {
		y = b.Add(y, x2)
	}
	return b.ReLU(y)
}

// block is a residual block ending in relu(bn(conv(...)) + shortcut).
func (t treeBuilder) block(p string, x, out, stride, shortcut int) int {
	b := t.b
	var y int
	switch t.v.Block {
	case Basic:
		y = b.ReLU(b.BatchNorm(p+".bn1", b.Conv(p+".conv1", x, out, 3, stride, 1, 1)))
		y = b.BatchNorm(p+".bn2", b.Conv(p+".conv2", y, out, 3, 1, 1, 1))
	case Bottleneck:
		mid := t.v.midWidth(out)
		y = b.ReLU(b.BatchNorm(p+".bn1", b.Conv(p+".conv1", x, mid, 1, 1, 0, 1)))
		y = b.ReLU(b.BatchNorm(p+".bn2", b.Conv(p+".conv2", y, mid, 3, stride, 1, t.v.Cardinality)))
		y = b.BatchNorm(p+".bn3", b.Conv(p+".conv3", y, out, 1, 1, 0, 1))
	}
	return b.ReLU(b.Add(y, shortcut))
}
