package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dla-go/dla/arch"
	"github.com/dla-go/dla/data"
	"github.com/dla-go/dla/vision"
)

const dlaDir = "../../testdata/paddleclas/DLA"

func readDLA34(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dlaDir, "DLA34.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDLAConfigs parses PaddleClas's ten DLA configs unchanged and checks
// every value the trainer takes from them.
func TestDLAConfigs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(dlaDir, "*.yaml"))
	if len(files) != 10 {
		t.Fatalf("%d configs in %s, want 10", len(files), dlaDir)
	}
	trainOps := []data.Op{data.DecodeImage{}, data.RandCropImage{RandCrop: vision.DefaultRandCrop(224)}, data.RandFlipImage{FlipCode: 1},
		data.NormalizeImage{Scale: float32(1.0 / 255.0), Mean: vision.ImageNetMean, Std: vision.ImageNetStd}}
	evalOps := []data.Op{data.DecodeImage{}, data.ResizeImage{ResizeShort: 256}, data.CropImage{W: 224, H: 224}, trainOps[3]}
	for _, f := range files {
		c, err := Load(f, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		v, _ := arch.Lookup(name)
		want := Global{OutputDir: "./output/", Device: "gpu", SaveInterval: 1, EvalDuringTrain: true, EvalInterval: 1, Epochs: 120,
			PrintBatchStep: 10, ImageShape: []int{3, 224, 224}, SaveInferenceDir: "./inference"}
		if !reflect.DeepEqual(c.Global, want) {
			t.Errorf("%s: Global %+v", name, c.Global)
		}
		if c.Arch != (Arch{Name: name, Variant: v, ClassNum: 1000}) {
			t.Errorf("%s: Arch %+v", name, c.Arch)
		}
		if c.TrainLoss != (Loss{Weight: 1}) || c.EvalLoss == nil || *c.EvalLoss != (Loss{Weight: 1}) {
			t.Errorf("%s: losses %+v %+v", name, c.TrainLoss, c.EvalLoss)
		}
		wantOpt := Optimizer{Momentum: 0.9, L2Coeff: 1e-4, LR: LRConfig{Name: "Piecewise", LearningRate: 0.1,
			DecayEpochs: []float64{30, 60, 90}, Values: []float64{0.1, 0.01, 0.001, 0.0001}}}
		if !reflect.DeepEqual(c.Optimizer, wantOpt) {
			t.Errorf("%s: Optimizer %+v", name, c.Optimizer)
		}
		wantTrain := DataLoader{Dataset: Dataset{"ImageNetDataset", "./dataset/ILSVRC2012/", "./dataset/ILSVRC2012/train_list.txt"},
			Ops: trainOps, BatchSize: 64, Shuffle: true, NumWorkers: 4}
		if !reflect.DeepEqual(c.Train, wantTrain) {
			t.Errorf("%s: Train %+v", name, c.Train)
		}
		wantEval := wantTrain
		wantEval.Dataset.ClsLabelPath = "./dataset/ILSVRC2012/val_list.txt"
		wantEval.Ops, wantEval.Shuffle = evalOps, false
		if c.Eval == nil || !reflect.DeepEqual(*c.Eval, wantEval) {
			t.Errorf("%s: Eval %+v", name, c.Eval)
		}
		if !reflect.DeepEqual(c.TrainTopK, []int{1, 5}) || !reflect.DeepEqual(c.EvalTopK, []int{1, 5}) {
			t.Errorf("%s: topk %v %v", name, c.TrainTopK, c.EvalTopK)
		}
		notices := strings.Join(c.Notices, "\n")
		if !strings.Contains(notices, "Global.device gpu: running on the CPU") || !strings.Contains(notices, "decays it 10x every 30 epochs") {
			t.Errorf("%s: notices %q", name, c.Notices)
		}
		// The eval ops are the pipeline `dla predict` runs by default.
		p, err := data.Compile(c.Eval.Ops)
		if err != nil {
			t.Fatal(err)
		}
		if opt, err := p.EvalOptions(); err != nil || opt != (vision.Options{}) {
			t.Errorf("%s: eval options %+v, %v; want vision.Options{}", name, opt, err)
		}
		if p, err := data.Compile(c.Train.Ops); err != nil || !reflect.DeepEqual(p.Shape(), []int{3, 224, 224}) {
			t.Errorf("%s: train pipeline %v", name, err)
		}
		// What Effective records reads back to the same config.
		again, err := Parse(c.Effective, nil)
		if err != nil {
			t.Fatalf("%s: effective config: %v\n%s", name, err, c.Effective)
		}
		again.Effective, again.Notices = c.Effective, c.Notices
		if !reflect.DeepEqual(again, c) {
			t.Errorf("%s: effective config reads back differently:\n%s", name, c.Effective)
		}
	}
}

func TestOverrides(t *testing.T) {
	src := readDLA34(t)
	c, err := Parse(src, []string{
		"Global.epochs=10",
		"DataLoader.Train.sampler.batch_size=32",
		"Arch.name=dla46x_c", // the timm spelling
		"Arch.class_num=10",
		"Optimizer.lr.decay_epochs=[5, 8]",
		"Optimizer.lr.values=[0.2,0.02,2e-3]",
		"Optimizer.lr.learning_rate=0", // falsy: the listed values apply
		"Optimizer.lr.warmup_epoch=1",
		"Optimizer.use_nesterov=True",
		"DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=32",
		"DataLoader.Train.dataset.transform_ops.-1.NormalizeImage.mean=[0.5,0.5,0.5]",
		"DataLoader.Eval.dataset.transform_ops.1.ResizeImage.resize_short=36",
		"DataLoader.Eval.dataset.transform_ops.2.CropImage.size=32",
		"DataLoader.Train.dataset.image_root=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
		"DataLoader.Train.dataset.cls_label_path=None",
		"Global.seed=7",
		"Global.device=cpu",
		"Global.checkpoints=./output/DLA46x_c/epoch_3",
		"Loss.Train.0.CELoss.epsilon=0.1",
		"Global.eval_during_train=False",
		"Global.output_dir=yes", // eval fails on a name: the string "yes", which YAML 1.1 would read as True
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.Epochs != 10 || c.Train.BatchSize != 32 || c.Arch.Variant.Name != "dla46x_c" || c.Arch.Name != "dla46x_c" ||
		c.Arch.ClassNum != 10 || !c.Global.HasSeed || c.Global.Seed != 7 || c.Global.Device != "cpu" ||
		c.Global.Checkpoints != "./output/DLA46x_c/epoch_3" || c.TrainLoss.Epsilon != 0.1 || c.Global.EvalDuringTrain ||
		c.Global.OutputDir != "yes" || !c.Optimizer.Nesterov || c.Train.Dataset.ClsLabelPath != "" {
		t.Errorf("overrides not applied: %+v %+v %+v", c.Global, c.Arch, c.TrainLoss)
	}
	lr := c.Optimizer.LR
	if !reflect.DeepEqual(lr.DecayEpochs, []float64{5, 8}) || !reflect.DeepEqual(lr.Values, []float64{0.2, 0.02, 0.002}) || lr.WarmupEpoch != 1 {
		t.Errorf("lr %+v", lr)
	}
	if rc := c.Train.Ops[1].(data.RandCropImage); rc.W != 32 || rc.H != 32 {
		t.Errorf("crop %+v", rc)
	}
	if n := c.Train.Ops[3].(data.NormalizeImage); n.Mean != [3]float32{0.5, 0.5, 0.5} {
		t.Errorf("normalize %+v", n)
	}
	p, _ := data.Compile(c.Eval.Ops)
	if opt, err := p.EvalOptions(); err != nil || opt != (vision.Options{ResizeShort: 36, Crop: 32}) {
		t.Errorf("eval options %+v %v", opt, err)
	}
	for _, want := range []string{"override Global.seed: a new key", "override Loss.Train.0.CELoss.epsilon: a new key"} {
		if !strings.Contains(strings.Join(c.Notices, "\n"), want) {
			t.Errorf("no notice %q in %q", want, c.Notices)
		}
	}
	again, err := Parse(c.Effective, nil)
	if err != nil {
		t.Fatalf("effective config: %v\n%s", err, c.Effective)
	}
	again.Effective, again.Notices = c.Effective, c.Notices
	if !reflect.DeepEqual(again, c) {
		t.Errorf("effective config reads back differently:\n%s", c.Effective)
	}
	if !strings.Contains(string(c.Effective), `output_dir: "yes"`) {
		t.Errorf("the string yes is not quoted:\n%s", c.Effective)
	}
}

// TestErrors checks that each problem is an error naming its key path.
func TestErrors(t *testing.T) {
	src := readDLA34(t)
	cases := []struct {
		override string
		want     string
	}{
		// Override syntax.
		{"Global.epochs", "want Key.Path=value"},
		{"Global.epochs=1=2", "single ="},
		{"Global.epochs.x=1", "Global.epochs is 120, not a mapping or list"},
		{"DataLoader.Train.dataset.transform_ops.9.X=1", "transform_ops.9: index out of range"},
		{"DataLoader.Train.dataset.transform_ops.a.X=1", "indexes a list"},
		{"Global.epochs=2**80", "out of range"},
		// Unknown keys, with the nearest known one.
		{"Global.epoch=3", "Global.epoch: unknown key (did you mean epochs?)"},
		{"Global.sed=3", "Global.sed: unknown key (did you mean seed?)"},
		{"Optimizer.lr.warmup_epochs=3", "Optimizer.lr.warmup_epochs: unknown key (did you mean warmup_epoch?)"},
		{"DataLoader.Train.sampler.batchsize=3", "DataLoader.Train.sampler.batchsize: unknown key (did you mean batch_size?)"},
		{"Foo.bar=1", "Foo: unknown key"},
		// Types, as PaddleClas types the values.
		{"Global.epochs=ten", `Global.epochs: want an integer, have "ten"`},
		{"Global.epochs=10.0", "Global.epochs: want an integer, have 10.0"},
		{"Global.epochs=0", "Global.epochs: 0 is outside 1..1048576"},
		{"Global.eval_during_train=true", `Global.eval_during_train: want True or False, have "true"`},
		{"Global.image_shape=[3,224]", "Global.image_shape: want a list of 3, have [3, 224]"},
		{"Global.seed=-1", "Global.seed: want a non-negative integer or None, have -1"},
		{"Global.device=tpu", `Global.device: "tpu" is not a device`},
		{"Global.epochs=None", "Global.epochs: required"},
		{"Arch.name=DLA35", `Arch.name: unknown model "DLA35"`},
		{"Arch.class_num=0", "Arch.class_num: 0 is outside"},
		{"Optimizer.momentum=high", `Optimizer.momentum: want a number, have "high"`},
		{"Optimizer.lr.values=[0.1,'1e-3']", `Optimizer.lr.values.1: want a number, have "1e-3" (YAML 1.1`},
		{"DataLoader.Train.sampler.batch_size=0", "DataLoader.Train.sampler.batch_size: 0 is outside"},
		{"DataLoader.Train.dataset.transform_ops.1.RandCropImage.size=[224]", "RandCropImage.size: want a list of 2"},
		{"DataLoader.Train.dataset.transform_ops.3.NormalizeImage.scale=1/x", "NormalizeImage.scale: cannot evaluate"},
		{"DataLoader.Train.dataset.transform_ops.3.NormalizeImage.std=[0.2,0.2,0]", "std [0.2 0.2 0] has a zero"},
		{"DataLoader.Train.dataset.transform_ops.1.RandFlipImage=None", "transform_ops.1: want one {OpName: parameters} mapping"},
		{"DataLoader.Train.dataset.transform_ops.1={'ResizeImage': {'resize_short': 64}}", "transform_ops: the transform ops' output size depends on the image"},
		{"DataLoader.Eval.dataset.transform_ops.1.ResizeImage={'size': 100}", "transform op 2 (CropImage): 224x224 crop of a 100x100 image"},
		{"DataLoader.Train.dataset.transform_ops.0={'CropImage': {'size': 3}}", "transform op 0 is CropImage, want DecodeImage first"},
		{"DataLoader.Eval=None", "DataLoader.Eval: want a mapping, have None"},
		{"Loss.Train.0.CELoss.weight=None", "Loss.Train.0.CELoss.weight: required"},
		// Keys PaddleClas has that are not implemented.
		{"AMP.use_amp=True", "AMP.use_amp: True is not supported (accepted: False)"},
		{"EMA.decay=0.9999", "EMA: not supported (exponential moving average"},
		{"Global.use_visualdl=True", "Global.use_visualdl: True is not supported"},
		{"Global.use_dali=True", "Global.use_dali: True is not supported"},
		{"Global.to_static=True", "Global.to_static: True is not supported"},
		{"Global.update_freq=2", "Global.update_freq: 2 is not supported"},
		{"Global.eval_mode=retrieval", `Global.eval_mode: "retrieval" is not supported`},
		{"Arch.pretrained=True", "Arch.pretrained: True is not supported"},
		{"Arch.drop_rate=0.2", "Arch.drop_rate: 0.2 is not supported"},
		{"Arch.Head={'name': 'FC'}", "Arch.Head: not supported"},
		{"Optimizer.name=AdamW", `Optimizer.name: "AdamW" is not supported`},
		{"Optimizer.clip_norm=1.0", "Optimizer.clip_norm: not supported (gradient clipping)"},
		{"Optimizer.regularizer.name=L1", `Optimizer.regularizer.name: "L1" is not supported`},
		{"Optimizer.lr.name=MultiStepDecay", `Optimizer.lr.name: "MultiStepDecay" is not supported`},
		{"Optimizer.lr.gamma=0.1", "Optimizer.lr.gamma: not supported"},
		{"Optimizer.lr.last_epoch=5", "Optimizer.lr.last_epoch: 5 is not supported"},
		{"Optimizer.one_dim_param_no_weight_decay=True", "Optimizer.one_dim_param_no_weight_decay: True is not supported"},
		{"Loss.Train.0={'MixCELoss': None}", "Loss.Train.0.MixCELoss: not supported"},
		{"Loss.Train=[{'CELoss': {'weight': 1.0}}, {'CenterLoss': {'weight': 1.0}}]", "Loss.Train: 2 entries: combined losses are not supported"},
		{"Loss.Train.0.CELoss.reduction=sum", `Loss.Train.0.CELoss.reduction: "sum" is not supported`},
		{"Metric.Eval.0={'mAP': None}", "Metric.Eval.0.mAP: not supported"},
		{"DataLoader.Train.dataset.name=MultiLabelDataset", `DataLoader.Train.dataset.name: "MultiLabelDataset" is not supported`},
		{"DataLoader.Train.dataset.batch_transform_ops=[{'MixupOperator': {'alpha': 0.2}}]",
			"DataLoader.Train.dataset.batch_transform_ops: not supported (batch transforms such as mixup"},
		{"DataLoader.Train.dataset.relabel=True", "DataLoader.Train.dataset.relabel: True is not supported"},
		{"DataLoader.Train.sampler.name=PKSampler", `DataLoader.Train.sampler.name: "PKSampler" is not supported`},
		{"DataLoader.Query={'dataset': None}", "DataLoader.Query: not supported"},
		{"DataLoader.Train.dataset.transform_ops.2={'TimmAutoAugment': None}", "transform_ops.2.TimmAutoAugment: not supported"},
		{"DataLoader.Train.dataset.transform_ops.2={'Blur': None}", "transform_ops.2.Blur: unknown op"},
		{"DataLoader.Train.dataset.transform_ops.2={'ToCHWImage': None}", "transform_ops.2.ToCHWImage: only as the last of Infer's transforms"},
		{"DataLoader.Train.dataset.transform_ops.0.DecodeImage.to_rgb=False", "DecodeImage.to_rgb: False is not supported"},
		{"DataLoader.Train.dataset.transform_ops.0.DecodeImage.backend=pil", `DecodeImage.backend: "pil" is not supported`},
		{"DataLoader.Train.dataset.transform_ops.1.RandCropImage.interpolation=bicubic", `RandCropImage.interpolation: "bicubic" is not supported`},
		{"DataLoader.Train.dataset.transform_ops.1.RandCropImage.progress_size=[160,192]", "RandCropImage.progress_size: [160, 192] is not supported"},
		{"DataLoader.Train.dataset.transform_ops.2.RandFlipImage.flip_code=2", "RandFlipImage.flip_code: 2 is outside -1..1"},
		{"DataLoader.Train.dataset.transform_ops.3.NormalizeImage.order=chw", `NormalizeImage.order: "chw" (the default) needs a channel-first image`},
		{"DataLoader.Train.dataset.transform_ops.3.NormalizeImage.channel_num=4", "NormalizeImage.channel_num: 4 is not supported"},
		{"DataLoader.Train.dataset.transform_ops.3.NormalizeImage.output_fp16=True", "NormalizeImage.output_fp16: True is not supported"},
		{"DataLoader.Eval.dataset.transform_ops.1.ResizeImage.resize_short=None", "ResizeImage: needs resize_short or size"},
		{"Infer.PostProcess.name=ThreshOutput", `Infer.PostProcess.name: "ThreshOutput" is not supported`},
		{"Infer.transforms.4={'ToTensor': None}", "Infer.transforms.4.ToTensor: not supported"},
	}
	for _, c := range cases {
		_, err := Parse(src, []string{c.override})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-o %s: err = %v\nwant it to contain %q", c.override, err, c.want)
		}
	}
	// The listed values count only without learning_rate.
	if _, err := Parse(src, []string{"Optimizer.lr.values=[0.1]"}); err != nil {
		t.Error(err)
	}
	_, err := Parse(src, []string{"Optimizer.lr.values=[0.1]", "Optimizer.lr.learning_rate=None"})
	if err == nil || !strings.Contains(err.Error(), "Optimizer.lr: values needs one more entry than decay_epochs, have 1 and 3") {
		t.Errorf("err = %v", err)
	}
}

func TestFileErrors(t *testing.T) {
	dla := string(readDLA34(t))
	cases := []struct {
		src  string
		want string
	}{
		{"", "config is empty"},
		{"- a\n- b\n", "want a mapping of sections"},
		{"Global: [\n", "yaml:"},
		{strings.Replace(dla, "  epochs: 120\n", "  epochs: 120\n  epochs: 60\n", 1), `line 11: key "epochs" is already defined on line 10`},
		{strings.Replace(dla, "  epochs: 120\n", "  epoch: 120\n", 1), "Global.epoch: unknown key (did you mean epochs?)"},
		{strings.Replace(dla, "  epochs: 120\n", "  epochs: 2024-01-01\n", 1), "Global.epochs: want an integer, have the date 2024-01-01"},
		{strings.Replace(dla, "  epochs: 120\n", "  epochs: !!binary aGk=\n", 1), "tag !!binary is not supported"},
		{"a: &x {b: 1}\nc:\n  <<: *x\n", "merge keys"},
		{strings.Replace(dla, "AMP:\n  use_amp: False\n", "AMP:\n", 1), "AMP: mixed precision is not supported"},
		{strings.Replace(dla, "  eval_during_train: True\n", "", 1) + "DataLoader:\n", `key "DataLoader" is already defined`},
		{strings.Repeat("a", maxConfigBytes+1), "larger than"},
		{strings.Repeat("[", 100) + strings.Repeat("]", 100), "deeper than"},
		// Aliases expand: a billion laughs is caught by the value budget.
		{"a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
			"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", "more than"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.src), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.60q: err = %v, want %q", c.src, err, c.want)
		}
	}
	// Every problem is reported, one per line; Load names the file on each.
	bad := strings.Replace(strings.Replace(dla, "  epochs: 120\n", "  epochs: ten\n", 1), "  print_batch_step: 10\n", "  print_batch_steps: 10\n", 1)
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p, nil)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], p+": Global.epochs") || !strings.HasPrefix(lines[1], p+": Global.print_batch_steps: unknown key") {
		t.Errorf("errors:\n%v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml"), nil); err == nil {
		t.Error("missing file loaded")
	}
}

// TestNotices covers PaddleClas's silent adjustments, which are said here.
func TestNotices(t *testing.T) {
	src := readDLA34(t)
	noClassNum := []byte(strings.Replace(string(src), "  class_num: 1000\n", "", 1))
	cosine := []byte(strings.Replace(string(src), "    decay_epochs: [30, 60, 90]\n    values: [0.1, 0.01, 0.001, 0.0001]\n", "", 1))
	for _, c := range []struct {
		src       []byte
		overrides []string
		want      string
		check     func(*Config) bool
	}{
		{src, []string{"Loss.Train.0.CELoss.epsilon=1.5"}, "epsilon 1.5 is outside (0, 1): no label smoothing",
			func(c *Config) bool { return c.TrainLoss.Epsilon == 0 }},
		{src, []string{"Optimizer.weight_decay=0.0005"}, "Optimizer.weight_decay is ignored",
			func(c *Config) bool { return c.Optimizer.L2Coeff == 1e-4 }},
		{src, []string{"Optimizer.regularizer=None", "Optimizer.weight_decay=0.0005"}, "",
			func(c *Config) bool { return c.Optimizer.L2Coeff == 5e-4 }},
		{noClassNum, []string{"Global.class_num=10"}, "Global.class_num is deprecated: Arch.class_num set to 10",
			func(c *Config) bool { return c.Arch.ClassNum == 10 }},
		{cosine, []string{"Optimizer.lr.name=Cosine", "Optimizer.lr.warmup_epoch=200"},
			"warmup_epoch 200 is not below Global.epochs", func(c *Config) bool { return c.Optimizer.LR.Name == "Cosine" }},
		{src, []string{"Optimizer.lr.step_each_epoch=5"}, "Optimizer.lr.step_each_epoch is ignored", nil},
	} {
		cfg, err := Parse(c.src, c.overrides)
		if err != nil {
			t.Errorf("%v: %v", c.overrides, err)
			continue
		}
		if !strings.Contains(strings.Join(cfg.Notices, "\n"), c.want) || c.check != nil && !c.check(cfg) {
			t.Errorf("%v: notices %q, config %+v", c.overrides, cfg.Notices, cfg)
		}
	}
}

// TestMinimal is the smallest config a user may write: absent keys take
// PaddleClas's defaults.
func TestMinimal(t *testing.T) {
	src := `
Global:
  epochs: 2
Arch:
  name: DLA46_c
  class_num: 10
Loss:
  Train:
    - CELoss:
        weight: 1.0
        epsilon: 0.1
Optimizer:
  name: Momentum
  momentum: 0.9
  lr:
    name: Cosine
    learning_rate: 0.05
    warmup_epoch: 1
DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      image_root: /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
      transform_ops:
        - DecodeImage:
        - ResizeImage:
            size: 32
        - RandFlipImage:
        - NormalizeImage:
            mean: [0.5, 0.5, 0.5]
            std: [0.5, 0.5, 0.5]
            order: hwc
    sampler:
      batch_size: 128
      shuffle: True
      drop_last: True
`
	c, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.OutputDir != "./output/" || c.Global.Device != "cpu" || c.Global.EvalDuringTrain || c.Eval != nil || c.EvalLoss != nil ||
		c.TrainTopK != nil || c.Optimizer.L2Coeff != 0 || c.TrainLoss.Epsilon != 0.1 || !c.Train.DropLast || c.Train.NumWorkers != 0 || len(c.Notices) != 0 {
		t.Errorf("%+v", c)
	}
	p, err := data.Compile(c.Train.Ops)
	if err != nil || !reflect.DeepEqual(p.Shape(), []int{3, 32, 32}) {
		t.Errorf("pipeline %v", err)
	}
	if _, err := p.EvalOptions(); err == nil {
		t.Error("a fixed-size resize has no eval-options equivalent")
	}
	if _, err := c.Optimizer.LR.Schedule(10, c.Global.Epochs); err != nil {
		t.Error(err)
	}
	// The loader section opens and batches the dataset it names.
	if _, err := os.Stat(data.FashionMNISTDir); err == nil {
		src, classes, p, err := c.Train.Open()
		if err != nil || src.Len() != 60000 || len(classes) != 10 {
			t.Fatalf("open: %v", err)
		}
		stop := errors.New("one batch")
		batches := 0
		l := c.Train.Loader(src, p, 1, 0)
		if l.Batches() != 60000/128 {
			t.Errorf("%d batches", l.Batches())
		}
		_, err = l.Run(context.Background(), func(b *data.Batch) error {
			if !reflect.DeepEqual(b.X.Shape, []int{128, 3, 32, 32}) || len(b.Errors) != 0 {
				t.Errorf("batch %v, errors %v", b.X.Shape, b.Errors)
			}
			batches++
			return stop
		})
		if !errors.Is(err, stop) || batches != 1 {
			t.Errorf("run: %v", err)
		}
	}
	c.Train.Dataset.ImageRoot = filepath.Join(t.TempDir(), "none")
	if _, _, _, err := c.Train.Open(); err == nil {
		t.Error("a missing dataset opened")
	}
	// Without a name the sampler needs all three settings, as in PaddleClas.
	if _, err := Parse([]byte(strings.Replace(src, "      drop_last: True\n", "", 1)), nil); err == nil ||
		!strings.Contains(err.Error(), "DataLoader.Train.sampler.drop_last: required") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(dlaDir, "DLA34.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, "Global.epochs=3")
	f.Add([]byte("Global: {epochs: 1}\n"), "Arch.name=[1, {'a': 2}]")
	f.Fuzz(func(t *testing.T, src []byte, override string) {
		c, err := Parse(src, []string{override})
		if err != nil {
			return
		}
		if _, err := Parse(c.Effective, nil); err != nil {
			t.Fatalf("effective config does not read back: %v\n%s", err, c.Effective)
		}
	})
}

// RandomErasing as PaddleClas's ImageNet configs spell it: strings that
// Python evaluates, after NormalizeImage.
func TestRandomErasingOp(t *testing.T) {
	src := `
Global:
  epochs: 1
Arch:
  name: DLA46_c
  class_num: 10
Loss:
  Train:
    - CELoss:
        weight: 1.0
Optimizer:
  name: Momentum
  momentum: 0.9
  lr:
    name: Cosine
    learning_rate: 0.1
DataLoader:
  Train:
    dataset:
      name: ImageNetDataset
      image_root: ./train
      transform_ops:
        - DecodeImage:
        - RandCropImage:
            size: 32
        - NormalizeImage:
            order: ''
        - RandomErasing:
            EPSILON: 0.25
            sl: 0.02
            sh: 1.0/3.0
            r1: 0.3
            attempt: 10
            use_log_aspect: True
            mode: pixel
    sampler:
      batch_size: 8
      shuffle: True
      drop_last: True
`
	c, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := data.RandomErasing{RandErase: vision.RandErase{Epsilon: 0.25, SL: 0.02, SH: 1.0 / 3.0, R1: 0.3, Attempt: 10, LogAspect: true, Mode: "pixel"}}
	if got := c.Train.Ops[len(c.Train.Ops)-1]; got != want {
		t.Errorf("%+v, want %+v", got, want)
	}
	for _, o := range []struct{ override, err string }{
		{"DataLoader.Train.dataset.transform_ops.3.RandomErasing.mode=noise", `mode: "noise": want "const", "rand" or "pixel"`},
		{"DataLoader.Train.dataset.transform_ops.3.RandomErasing.sh=1/", "sh: cannot evaluate"},
		{"DataLoader.Train.dataset.transform_ops.3.RandomErasing.probability=0.5", "probability"},
	} {
		if _, err := Parse([]byte(src), []string{o.override}); err == nil || !strings.Contains(err.Error(), o.err) {
			t.Errorf("%s: %v, want %q", o.override, err, o.err)
		}
	}
}
