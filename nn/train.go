package nn

import (
	"fmt"

	"github.com/dla-go/dla/internal/kernel/conv"
	"github.com/dla-go/dla/internal/kernel/ops"
	"github.com/dla-go/dla/tensor"
)

// Param is one trainable tensor with its gradient (both flat, in the
// parameter's own layout: OIHW for convolutions).
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	Grad  []float32
}

// Trainer runs a graph in training mode: a forward pass that uses batch
// statistics in BatchNorm (moving the running statistics) and keeps every
// activation, the loss, then a backward pass that leaves each parameter's
// gradient in Param.Grad. It is not safe for concurrent use; the kernels it
// calls spread each layer over the worker pool.
type Trainer struct {
	g      *Graph
	params []*Param
	byName map[string]*Param
	stats  map[string][]float32 // BatchNorm running_mean and running_var
	maxN   int                  // batch size the buffers hold
	vals   [][]float32          // value v of the last forward pass (vals[0] is the input)
	sizes  []int                // floats of value v for maxN images
	// grads[v] is value v's gradient while the backward pass needs it: taken
	// from free at its first contribution, returned when its producer is done.
	grads [][]float32
	free  map[int][][]float32
	// reluOf[i] is the ReLU node that node i (a BatchNorm) feeds alone: the
	// pair runs as one fused step both ways, the ReLU in place. -1 if none.
	reluOf []int
	mean   [][]float32 // BatchNorm node i's batch mean, saved for backward
	invstd [][]float32
	// swapped[i] holds node i's input with images and channels swapped, for
	// a 1x1 convolution of a small map run as one image of every image's
	// pixels (swappedPlane); nil for the other nodes.
	swapped [][]float32
	swapA   []float32 // scratch for swapped outputs and gradients
	swapB   []float32
	wino    []*winoConv // node i's Winograd plans, or nil
	tmp     []float32   // a contribution to a gradient that already has one
	ws      []float32   // convolution workspace
	n       int         // images in the last forward pass
	labels  []int
}

// NewTrainer prepares g for training batches of up to maxBatch images,
// starting from the weights w (copied: the caller's map is not modified).
func NewTrainer(g *Graph, w Weights, maxBatch int) (*Trainer, error) {
	if err := g.CheckWeights(w); err != nil {
		return nil, err
	}
	if maxBatch < 1 {
		return nil, fmt.Errorf("batch size %d", maxBatch)
	}
	t := &Trainer{g: g, byName: map[string]*Param{}, stats: map[string][]float32{}, maxN: maxBatch}
	for _, p := range g.Params() {
		data := append([]float32(nil), w[p.Name].Data...)
		if p.Stat {
			t.stats[p.Name] = data
			continue
		}
		prm := &Param{Name: p.Name, Shape: append([]int(nil), p.Shape...), Data: data, Grad: make([]float32, len(data))}
		t.params = append(t.params, prm)
		t.byName[p.Name] = prm
	}
	if _, err := tensor.CheckShape([]int{maxBatch, g.InC, g.InH, g.InW}); err != nil {
		return nil, err
	}
	t.allocate()
	return t, nil
}

// allocate sizes the value buffers for maxN images. A ReLU whose input feeds
// nothing else overwrites it: its backward pass needs only its own output,
// and BatchNorm's needs its input, not its output.
func (t *Trainer) allocate() {
	g := t.g
	readers := make([]int, len(g.Nodes)+1)
	for _, nd := range g.Nodes {
		for _, v := range nd.Inputs {
			readers[v]++
		}
	}
	nv := len(g.Nodes) + 1
	t.vals, t.grads, t.sizes = make([][]float32, nv), make([][]float32, nv), make([]int, nv)
	t.free = map[int][][]float32{}
	t.reluOf = make([]int, len(g.Nodes))
	t.mean, t.invstd = make([][]float32, len(g.Nodes)), make([][]float32, len(g.Nodes))
	t.swapped = make([][]float32, len(g.Nodes))
	t.wino = make([]*winoConv, len(g.Nodes))
	largest, ws, swap := 0, 0, 0
	for i, nd := range g.Nodes {
		size := t.maxN * nd.Out[0] * nd.Out[1] * nd.Out[2]
		largest = max(largest, size)
		t.sizes[i+1] = size
		t.reluOf[i] = -1
		in := nd.Inputs[0]
		if nd.Op == OpReLU && in > 0 && readers[in] == 1 {
			t.vals[i+1] = t.vals[in]
			if g.Nodes[in-1].Op == OpBatchNorm {
				t.reluOf[in-1] = i
			}
		} else {
			t.vals[i+1] = make([]float32, size)
		}
		switch nd.Op {
		case OpBatchNorm:
			t.mean[i], t.invstd[i] = make([]float32, nd.Out[0]), make([]float32, nd.Out[0])
		case OpConv:
			p := t.convParams(nd, t.maxN)
			if t.swaps(nd) {
				in := g.Shape(nd.Inputs[0])
				t.swapped[i] = make([]float32, t.maxN*in[0]*in[1]*in[2])
				swap = max(swap, size, len(t.swapped[i]))
				p = swappedParams(p)
			}
			if wc := newWinoConv(p, t.byName[nd.Name+".weight"].Data); wc != nil {
				t.wino[i] = wc
				ws = max(ws, wc.fwd.WorkspaceSize(wc.chunk), wc.bwd.WorkspaceSize(wc.chunk))
			}
			ws = max(ws, conv.WorkspaceSize(p), conv.BackwardWorkspaceSize(p))
		}
	}
	t.tmp = make([]float32, largest)
	t.ws = make([]float32, ws)
	t.swapA, t.swapB = make([]float32, swap), make([]float32, swap)
}

// swappedPlane is the map size below which a 1x1 convolution runs as one
// image of all the batch's pixels: per image, its few output columns would
// leave the kernels' tiles mostly empty.
const swappedPlane = 64

// swaps reports whether conv node nd runs on the swapped layout.
func (t *Trainer) swaps(nd Node) bool {
	return nd.Kernel == 1 && nd.Stride == 1 && nd.Pad == 0 && nd.Groups == 1 && nd.Out[1]*nd.Out[2] < swappedPlane
}

// swappedParams is p as one image whose pixels are every image's.
func swappedParams(p conv.Params) conv.Params {
	p.H, p.W, p.N = p.N*p.H*p.W, 1, 1
	return p
}

func (t *Trainer) convParams(nd Node, n int) conv.Params {
	in := t.g.Shape(nd.Inputs[0])
	return conv.Params{N: n, C: in[0], H: in[1], W: in[2], K: nd.OutC, R: nd.Kernel, S: nd.Kernel,
		StrideH: nd.Stride, StrideW: nd.Stride, PadH: nd.Pad, PadW: nd.Pad, Groups: nd.Groups}
}

// Params lists the trainable tensors in the graph's parameter order.
func (t *Trainer) Params() []*Param { return t.params }

// Weights returns a copy of every tensor the graph needs (parameters and
// BatchNorm running statistics), by timm name.
func (t *Trainer) Weights() Weights {
	out := Weights{}
	for _, p := range t.g.Params() {
		var src []float32
		if p.Stat {
			src = t.stats[p.Name]
		} else {
			src = t.byName[p.Name].Data
		}
		out[p.Name] = &tensor.Tensor{Shape: append([]int(nil), p.Shape...), Data: append([]float32(nil), src...)}
	}
	return out
}

// Stats returns the running statistic tensors (shared: the next training
// forward pass moves them).
func (t *Trainer) Stats() map[string][]float32 { return t.stats }

// Graph is the network being trained.
func (t *Trainer) Graph() *Graph { return t.g }

// Forward runs x ([n,C,H,W], n <= the batch size given to NewTrainer) in
// training mode, moving the running statistics, and returns the logits
// [n, classes] (valid until the next call). x must stay unchanged until
// Backward has run.
func (t *Trainer) Forward(x *tensor.Tensor) ([]float32, error) {
	if err := t.g.CheckInput(x); err != nil {
		return nil, err
	}
	n := x.Shape[0]
	if n > t.maxN {
		return nil, fmt.Errorf("batch of %d images, the trainer holds %d", n, t.maxN)
	}
	g := t.g
	t.n = n
	t.vals[0] = x.Data
	for i, nd := range g.Nodes {
		in := g.Shape(nd.Inputs[0])
		src := t.vals[nd.Inputs[0]][:n*in[0]*in[1]*in[2]]
		out := t.vals[i+1][:n*nd.Out[0]*nd.Out[1]*nd.Out[2]]
		plane := nd.Out[1] * nd.Out[2]
		switch nd.Op {
		case OpConv:
			var epi *conv.Epilogue
			if nd.Bias {
				epi = &conv.Epilogue{Shift: t.byName[nd.Name+".bias"].Data}
			}
			w := t.byName[nd.Name+".weight"].Data
			if xs := t.swapped[i]; xs != nil {
				xs = xs[:len(src)]
				ops.SwapAxes(n, in[0], plane, src, xs)
				ys := t.swapA[:len(out)]
				conv.Forward(swappedParams(t.convParams(nd, n)), xs, w, ys, epi, t.ws)
				ops.SwapAxes(nd.Out[0], n, plane, ys, out)
				break
			}
			if wc := t.wino[i]; wc != nil {
				wc.forward(n, src, w, out, epi, t.ws)
				break
			}
			conv.Forward(t.convParams(nd, n), src, w, out, epi, t.ws)
		case OpBatchNorm:
			train := ops.BatchNormTrain
			if t.reluOf[i] >= 0 {
				train = ops.BatchNormReLUTrain // the ReLU node after it is then a no-op
			}
			train(n, nd.Out[0], plane, src, t.byName[nd.Name+".weight"].Data, t.byName[nd.Name+".bias"].Data,
				out, t.mean[i], t.invstd[i], t.stats[nd.Name+".running_mean"], t.stats[nd.Name+".running_var"],
				ops.BNMomentum, BNEps)
		case OpReLU:
			if in := nd.Inputs[0]; in == 0 || t.reluOf[in-1] != i {
				ops.ReLU(src, out)
			}
		case OpAdd:
			ops.Add(src, t.vals[nd.Inputs[1]][:len(out)], out)
		case OpMaxPool:
			ops.MaxPool(n, in[0], in[1], in[2], nd.Kernel, src, out)
		case OpConcat:
			off := 0
			for _, v := range nd.Inputs {
				c := g.Shape(v)[0]
				ops.CopyChannels(n, c, plane, nd.Out[0], off, t.vals[v][:n*c*plane], out)
				off += c
			}
		case OpGlobalAvgPool:
			ops.GlobalAvgPool(n, in[0], in[1]*in[2], src, out)
		default:
			return nil, fmt.Errorf("nn: training does not support %v", nd.Op)
		}
	}
	s := g.Shape(g.Output)
	return t.vals[g.Output][:n*s[0]*s[1]*s[2]], nil
}

// Backward propagates dlogits ([n, classes], the gradient of the loss with
// respect to the logits of the last Forward) through the graph and
// overwrites every Param.Grad.
func (t *Trainer) Backward(dlogits []float32) {
	g, n := t.g, t.n
	for v := range t.grads {
		t.release(v)
	}
	out := g.Shape(g.Output)
	copy(t.acquire(g.Output)[:n*out[0]*out[1]*out[2]], dlogits)
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		nd := g.Nodes[i]
		v := i + 1
		if t.grads[v] == nil {
			// Nothing downstream reads this value: it does not reach the loss.
			continue
		}
		t.backwardNode(i, nd)
		t.release(v)
	}
}

// backwardNode adds node i's contributions to its inputs' gradients and
// sets its parameters' gradients.
func (t *Trainer) backwardNode(i int, nd Node) {
	g, n := t.g, t.n
	v := i + 1
	size := n * nd.Out[0] * nd.Out[1] * nd.Out[2]
	dy := t.grads[v][:size]
	in := g.Shape(nd.Inputs[0])
	inSize := n * in[0] * in[1] * in[2]
	x := t.vals[nd.Inputs[0]][:inSize]
	plane := nd.Out[1] * nd.Out[2]
	switch nd.Op {
	case OpConv:
		p := t.convParams(nd, n)
		w := t.byName[nd.Name+".weight"]
		if xs := t.swapped[i]; xs != nil {
			p = swappedParams(p)
			x, dy = xs[:inSize], t.swapA[:size]
			ops.SwapAxes(n, nd.Out[0], plane, t.grads[v][:size], dy)
		}
		conv.BackwardFilter(p, x, dy, w.Grad, t.ws)
		if nd.Bias {
			conv.BackwardBias(p, dy, t.byName[nd.Name+".bias"].Grad)
		}
		if nd.Inputs[0] == 0 {
			return
		}
		if t.swapped[i] != nil {
			dxs := t.swapB[:inSize]
			conv.BackwardData(p, dy, w.Data, dxs, t.ws)
			t.accumulate(nd.Inputs[0], inSize, func(dx []float32) { ops.SwapAxes(in[0], n, plane, dxs, dx) })
			return
		}
		if wc := t.wino[i]; wc != nil {
			t.accumulate(nd.Inputs[0], inSize, func(dx []float32) { wc.backwardData(n, dy, w.Data, dx, t.ws) })
			return
		}
		t.accumulate(nd.Inputs[0], inSize, func(dx []float32) { conv.BackwardData(p, dy, w.Data, dx, t.ws) })
	case OpBatchNorm:
		gamma, beta := t.byName[nd.Name+".weight"], t.byName[nd.Name+".bias"]
		t.accumulate(nd.Inputs[0], inSize, func(dx []float32) {
			if r := t.reluOf[i]; r >= 0 {
				// dy is the ReLU's output gradient, handed over unmasked.
				ops.BatchNormReLUBackward(n, nd.Out[0], plane, x, t.vals[r+1][:size], dy, gamma.Data, t.mean[i], t.invstd[i], dx, gamma.Grad, beta.Grad)
				return
			}
			ops.BatchNormBackward(n, nd.Out[0], plane, x, dy, gamma.Data, t.mean[i], t.invstd[i], dx, gamma.Grad, beta.Grad)
		})
	case OpReLU:
		if u := nd.Inputs[0]; u > 0 && t.reluOf[u-1] == i {
			// Fused with the BatchNorm before it, this value's only reader:
			// its gradient passes over as it is.
			t.grads[u], t.grads[v] = t.grads[v], nil
			return
		}
		y := t.vals[v][:size]
		t.accumulate(nd.Inputs[0], inSize, func(dx []float32) { ops.ReLUBackward(y, dy, dx) })
	case OpAdd:
		for _, u := range nd.Inputs {
			t.accumulate(u, size, func(dx []float32) { copy(dx, dy) })
		}
	case OpMaxPool:
		t.accumulate(nd.Inputs[0], inSize, func(dx []float32) { ops.MaxPoolBackward(n, in[0], in[1], in[2], nd.Kernel, x, dy, dx) })
	case OpConcat:
		off := 0
		for _, u := range nd.Inputs {
			c := g.Shape(u)[0]
			t.accumulate(u, n*c*plane, func(dx []float32) { ops.SliceChannels(n, c, plane, nd.Out[0], off, dy, dx) })
			off += c
		}
	case OpGlobalAvgPool:
		t.accumulate(nd.Inputs[0], inSize, func(dx []float32) { ops.GlobalAvgPoolBackward(n, in[0], in[1]*in[2], dy, dx) })
	}
}

// acquire gives value v a gradient buffer.
func (t *Trainer) acquire(v int) []float32 {
	size := t.sizes[v]
	if l := t.free[size]; len(l) > 0 {
		t.grads[v], t.free[size] = l[len(l)-1], l[:len(l)-1]
	} else {
		t.grads[v] = make([]float32, size)
	}
	return t.grads[v]
}

// release returns value v's gradient buffer, if it has one.
func (t *Trainer) release(v int) {
	if b := t.grads[v]; b != nil {
		t.free[len(b)] = append(t.free[len(b)], b)
		t.grads[v] = nil
	}
}

// accumulate adds the contribution that write produces to the gradient of
// value v (size values): the first contribution is written in place, later
// ones go through t.tmp and are added.
func (t *Trainer) accumulate(v, size int, write func(dx []float32)) {
	if v == 0 {
		return // the input's gradient is never needed
	}
	if t.grads[v] == nil {
		write(t.acquire(v)[:size])
		return
	}
	dst := t.grads[v][:size]
	tmp := t.tmp[:size]
	write(tmp)
	ops.Add(dst, tmp, dst)
}
