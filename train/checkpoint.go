package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dla-go/dla"
	"github.com/dla-go/dla/nn"
	"github.com/dla-go/dla/tensor"
	"github.com/dla-go/dla/weights"
)

// Checkpoint files under {output_dir}/{Arch.name}/, as PaddleClas lays them
// out: latest, best_model and epoch_N, each a canonical weight file
// NAME.safetensors (loadable by every command) with a companion
// NAME.state.safetensors holding the optimizer's velocities and, in its
// metadata, the epoch, step, seed and history a resumed run continues from.
const (
	latestName    = "latest"
	bestName      = "best_model"
	stateSuffix   = ".state.safetensors"
	weightsSuffix = ".safetensors"
	velocityName  = "velocity."
	metaState     = "train_state"
	metaWeights   = "weights_checksum"
	stateFormat   = "dla-train-state/1"
	metaFormat    = "format"
	metaEpoch     = "epoch"
)

// state is what a resumed run needs besides weights and velocities.
type state struct {
	Epoch     int           `json:"epoch"` // epochs completed
	Step      int           `json:"step"`  // iterations completed, the schedule's position
	Seed      uint64        `json:"seed"`
	BestTop1  float64       `json:"best_top1"` // -1 before any evaluation
	BestEpoch int           `json:"best_epoch"`
	History   []epochRecord `json:"history"`
}

// save writes latest (every epoch), epoch_N (every save_interval epochs)
// and best_model (when eval top-1 improved). Each file is written to a
// temporary name and renamed, weights before state, so a kill at any
// moment leaves every pair complete or detectably mismatched, never torn.
func (r *run) save(epoch int, improved bool) error {
	m, err := r.model()
	if err != nil {
		return err
	}
	ts := map[string]*tensor.Tensor(m.Weights())
	checksum := weights.Checksum(ts)
	meta := m.Describe(map[string]string{
		dla.MetaTrainConfig: string(r.cfg.Effective),
		dla.MetaChecksum:    checksum,
		metaEpoch:           strconv.Itoa(epoch),
	})
	if r.state.BestEpoch > 0 {
		meta["best_top1"] = strconv.FormatFloat(r.state.BestTop1, 'f', 4, 64)
	}
	if r.prep == nil {
		delete(meta, dla.MetaPreprocessing)
	}
	vel := map[string]*tensor.Tensor{}
	for _, p := range r.tr.Params() {
		v := r.opt.Velocity[p.Name]
		if v == nil {
			v = make([]float32, len(p.Data))
		}
		vel[velocityName+p.Name] = &tensor.Tensor{Shape: p.Shape, Data: v}
	}
	st, err := json.Marshal(r.state)
	if err != nil {
		return err
	}
	stMeta := map[string]string{metaFormat: stateFormat, metaState: string(st), metaWeights: checksum}
	var names []string
	if n := r.cfg.Global.SaveInterval; n > 0 && epoch%n == 0 {
		names = append(names, fmt.Sprintf("epoch_%d", epoch))
	}
	if improved {
		names = append(names, bestName)
	}
	names = append(names, latestName)
	for _, name := range names {
		base := filepath.Join(r.dir, name)
		if err := weights.WriteSafetensors(base+weightsSuffix, ts, meta); err != nil {
			return err
		}
		if err := weights.WriteSafetensors(base+stateSuffix, vel, stMeta); err != nil {
			return err
		}
	}
	return nil
}

type checkpoint struct {
	weights  nn.Weights
	velocity map[string][]float32
	state    state
}

// loadCheckpoint reads the pair saved under base (Global.checkpoints: a path
// without extension, as PaddleClas writes it; a trailing .safetensors is
// accepted) and checks that it belongs together and fits g.
func loadCheckpoint(base string, g *nn.Graph) (*checkpoint, error) {
	base = strings.TrimSuffix(base, weightsSuffix)
	f, err := weights.Load(base + weightsSuffix)
	if err != nil {
		return nil, fmt.Errorf("Global.checkpoints: %w", err)
	}
	sf, err := os.Open(base + stateSuffix)
	if err != nil {
		return nil, fmt.Errorf("Global.checkpoints: %w (the optimizer state saved beside the weights)", err)
	}
	defer sf.Close()
	info, err := sf.Stat()
	if err != nil {
		return nil, err
	}
	vel, meta, err := weights.ReadSafetensors(sf, info.Size())
	if err != nil {
		return nil, fmt.Errorf("Global.checkpoints: %s: %w", base+stateSuffix, err)
	}
	if meta[metaFormat] != stateFormat {
		return nil, fmt.Errorf("Global.checkpoints: %s is not a training state (format %q)", base+stateSuffix, meta[metaFormat])
	}
	if got := weights.Checksum(f.Tensors); meta[metaWeights] != got {
		return nil, fmt.Errorf("Global.checkpoints: %s belongs to other weights than %s (was saving interrupted? resume from an epoch_N checkpoint)",
			base+stateSuffix, base+weightsSuffix)
	}
	ck := &checkpoint{velocity: map[string][]float32{}}
	if err := json.Unmarshal([]byte(meta[metaState]), &ck.state); err != nil {
		return nil, fmt.Errorf("Global.checkpoints: %s: %w", base+stateSuffix, err)
	}
	if err := g.CheckWeights(nn.Weights(f.Tensors)); err != nil {
		return nil, fmt.Errorf("Global.checkpoints: %s does not fit the config's model: %w", base+weightsSuffix, err)
	}
	ck.weights = nn.Weights(f.Tensors)
	for name, t := range vel {
		p, ok := strings.CutPrefix(name, velocityName)
		if !ok {
			return nil, fmt.Errorf("Global.checkpoints: %s: unexpected tensor %q", base+stateSuffix, name)
		}
		ck.velocity[p] = t.Data
	}
	return ck, nil
}
