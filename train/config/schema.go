package config

import (
	"slices"
	"strings"

	"github.com/dla-go/dla/arch"
)

// The schema: which keys each section takes, how each is typed, and what
// PaddleClas does with it. Each reader names every key of its section, in
// the order PaddleClas's configs write them.

func (r *reader) config(tree *value) *Config {
	c := &Config{}
	root := r.section("", tree)
	if root.need("Global") {
		c.Global = r.global(root.sub("Global"))
	}
	if root.need("Arch") {
		c.Arch = r.arch(root.sub("Arch"), tree.get("Global"))
	}
	if root.need("Loss") {
		loss := root.sub("Loss")
		c.TrainLoss = r.loss(loss, "Train", true)
		if e := loss.get("Eval"); e != nil && e.k != kNull {
			l := r.loss(loss, "Eval", false)
			c.EvalLoss = &l
		}
		loss.unsupported("other kinds of training", "UnLabelTrain")
		loss.done()
	}
	if root.need("Optimizer") {
		c.Optimizer = r.optimizer(root, c.Global.Epochs)
	}
	if root.need("DataLoader") {
		dl := root.sub("DataLoader")
		if dl.need("Train") {
			c.Train = r.dataLoader(dl.sub("Train"))
		}
		if dl.get("Eval") != nil {
			e := r.dataLoader(dl.sub("Eval"))
			c.Eval = &e
		} else if c.Global.EvalDuringTrain {
			r.errorf("DataLoader.Eval", "required when Global.eval_during_train is True")
		}
		dl.unsupported("retrieval and semi-supervised datasets", "Test", "Query", "Gallery", "UnLabelTrain")
		dl.done()
	}
	if root.get("Metric") != nil {
		m := root.sub("Metric")
		c.TrainTopK = r.metric(m, "Train")
		c.EvalTopK = r.metric(m, "Eval")
		m.done()
	}
	if inf := root.get("Infer"); inf != nil && inf.k != kNull {
		r.infer(root.sub("Infer"))
	}
	// PaddleClas turns AMP on when the section is a non-empty mapping whose
	// use_amp is not false (absent counts as true).
	if amp := root.get("AMP"); amp != nil && amp.k != kNull {
		a := root.sub("AMP")
		if a.v != nil && len(a.v.m) > 0 {
			if a.get("use_amp") == nil {
				r.errorf("AMP", "mixed precision is not supported (PaddleClas turns it on when AMP has no use_amp: False)")
			}
			a.noop("use_amp", isFalse, "False")
			for _, k := range []string{"use_fp16_test", "scale_loss", "use_dynamic_loss_scaling", "use_promote", "level"} {
				a.noop(k, anyValue, "anything while use_amp is False")
			}
		}
		a.done()
	}
	root.unsupported("exponential moving average of the weights", "EMA")
	root.unsupported("model slimming", "Slim")
	root.unsupported("other kinds of training", "MLDecoder", "SSL", "UnLabelLoss", "IndexProcess")
	root.done()
	return c
}

var devices = []string{"cpu", "gpu", "xpu", "npu", "mlu", "ascend", "intel_gpu", "mps"}

func (r *reader) global(g *section) Global {
	out := Global{
		Checkpoints:     g.str("checkpoints", "", true),
		PretrainedModel: g.str("pretrained_model", "", true),
		OutputDir:       g.str("output_dir", "./output/", false),
		Device:          g.str("device", "cpu", false),
		SaveInterval:    g.int("save_interval", 1),
		EvalDuringTrain: g.bool("eval_during_train", false),
		EvalInterval:    g.int("eval_interval", 1),
	}
	if g.need("epochs") {
		out.Epochs = g.intRange("epochs", 1, 1, 1<<20)
	}
	out.PrintBatchStep = g.intRange("print_batch_step", 10, 1, 1<<30)
	if out.EvalDuringTrain && out.EvalInterval < 1 {
		r.errorf("Global.eval_interval", "must be at least 1")
	}
	g.noop("use_visualdl", isFalse, "False")
	out.ImageShape = g.ints("image_shape", 3)
	out.SaveInferenceDir = g.str("save_inference_dir", "./inference", false)
	if v := g.get("seed"); v != nil && v.k != kNull {
		// PaddleClas seeds when seed is an int (0 included); None means unseeded.
		if v.k != kInt || v.i < 0 {
			r.errorf("Global.seed", "want a non-negative integer or None, have %s", v.describe())
		}
		out.Seed, out.HasSeed = uint64(v.i), true
	}
	switch d := strings.ToLower(out.Device); {
	case d == "cpu":
	case slices.Contains(devices, d):
		r.notef("Global.device %s: running on the CPU", out.Device)
	default:
		r.errorf("Global.device", "%q is not a device (want one of %s)", out.Device, strings.Join(devices, ", "))
	}
	g.get("class_num") // read by arch
	g.noop("to_static", isFalse, "False")
	g.noop("use_dali", isFalse, "False")
	g.noop("eval_mode", isStr("classification"), `"classification"`)
	g.noop("use_multilabel", isFalse, "False")
	g.noop("update_freq", isInt(1), "1")
	g.noop("start_eval_epoch", func(v *value) bool { return v.k == kInt && v.i <= 1 }, "0 or 1")
	g.noop("iter_per_epoch", func(v *value) bool { return v.k == kNull || isInt(0)(v) }, "None")
	g.noop("train_mode", func(v *value) bool { return v.k == kNull }, "None")
	g.noop("image_channel", isInt(3), "3")
	g.noop("uniform_output_enabled", isFalse, "False")
	g.noop("log_ranks", anyValue, "")
	g.unsupported("retrieval", "feature_normalize", "feature_binarize", "retrieval_feature_from", "re_ranking")
	g.unsupported("iteration-based warmup", "warmup_iter")
	g.unsupported("export settings", "export_for_fd", "pdx_model_name", "hpi_config_path")
	g.done()
	return out
}

func (r *reader) arch(a *section, global *value) Arch {
	out := Arch{ClassNum: 1000}
	if a.need("name") {
		out.Name = a.str("name", "", false)
		if out.Name != "" {
			v, err := arch.Lookup(out.Name)
			if err != nil {
				r.errorf("Arch.name", "%v", err)
			}
			out.Variant = v
		}
	}
	// Global.class_num is PaddleClas's deprecated spelling of Arch.class_num.
	var gc *value
	if global != nil && global.k == kMap {
		gc = global.get("class_num")
	}
	switch {
	case a.get("class_num") != nil:
		out.ClassNum = a.intRange("class_num", 1000, 1, 1<<20)
		if gc != nil {
			r.notef("Global.class_num is deprecated and ignored: Arch.class_num is set")
		}
	case gc != nil:
		g := r.section("Global", global)
		out.ClassNum = g.intRange("class_num", 1000, 1, 1<<20)
		r.notef("Global.class_num is deprecated: Arch.class_num set to %d", out.ClassNum)
	}
	a.noop("pretrained", isFalse, "False (use Global.pretrained_model)")
	a.noop("use_sync_bn", isBool, "True or False: one process has one batch-norm group")
	a.noop("use_ml_decoder", isFalse, "False")
	a.noop("drop_rate", func(v *value) bool { f, ok := number(v); return ok && f == 0 }, "0.0")
	a.noop("in_chans", isInt(3), "3")
	a.noop("with_pool", isTrue, "True")
	a.noop("infer_add_softmax", isBool, "True or False (export only)")
	a.noop("infer_output_key", func(v *value) bool { return v.k == kNull }, "None")
	a.unsupported("DLA takes no such argument", "drop_path_rate", "use_ssld", "lr_mult_list", "dropout",
		"class_num_list", "layer_scale_init_value", "use_fused_attn", "use_fused_linear", "data_format")
	a.unsupported("recognition and distillation models", "Backbone", "Neck", "Head", "BackboneStopLayer",
		"models", "infer_model_name", "pretrained_list", "freeze_params_list", "is_rec")
	a.done()
	return out
}

func (r *reader) loss(l *section, mode string, required bool) Loss {
	path := "Loss." + mode
	v := l.get(mode)
	if v == nil {
		if required && l.v != nil {
			r.errorf(path, "required")
		}
		return Loss{}
	}
	name, params, ok := r.singleEntry(path, v, "loss", "combined losses are not supported")
	if !ok {
		return Loss{}
	}
	p := r.section(join(path, "0."+name), params)
	if name != "CELoss" {
		r.errorf(join(path, "0."+name), "not supported (the only loss is CELoss)")
		return Loss{}
	}
	out := Loss{}
	if p.need("weight") {
		out.Weight = p.float("weight", 1)
	}
	if eps := p.get("epsilon"); eps != nil && eps.k != kNull {
		switch e, ok := number(eps); {
		case !ok:
			r.errorf(join(p.path, "epsilon"), "want a number, have %s", eps.describe())
		case e <= 0 || e >= 1:
			r.notef("%s.epsilon %v is outside (0, 1): no label smoothing (as PaddleClas)", p.path, e)
		default:
			out.Epsilon = e
		}
	}
	p.noop("reduction", isStr("mean"), `"mean"`)
	p.done()
	return out
}

// singleEntry unpacks a list holding one {Name: params} mapping, the shape
// of PaddleClas's loss and metric lists.
func (r *reader) singleEntry(path string, v *value, what, many string) (name string, params *value, ok bool) {
	if v.k != kList || len(v.list) == 0 {
		r.errorf(path, "want a list of %ss, have %s", what, v.describe())
		return "", nil, false
	}
	if len(v.list) > 1 {
		r.errorf(path, "%d entries: %s", len(v.list), many)
		return "", nil, false
	}
	e := v.list[0]
	if e.k != kMap || len(e.m) != 1 {
		r.errorf(join(path, "0"), "want one {Name: parameters} mapping, have %s", e.describe())
		return "", nil, false
	}
	return e.m[0].key, e.m[0].val, true
}

func (r *reader) metric(m *section, mode string) []int {
	path := "Metric." + mode
	v := m.get(mode)
	if v == nil || v.k == kNull {
		return nil
	}
	name, params, ok := r.singleEntry(path, v, "metric", "only one metric (TopkAcc) is supported")
	if !ok {
		return nil
	}
	if name != "TopkAcc" {
		r.errorf(join(path, "0."+name), "not supported (the only metric is TopkAcc)")
		return nil
	}
	p := r.section(join(path, "0.TopkAcc"), params)
	topk := []int{1, 5}
	if t := p.get("topk"); t != nil {
		if t.k == kInt {
			topk = []int{p.intRange("topk", 1, 1, 1<<20)}
		} else {
			topk = p.ints("topk", -1)
		}
	}
	for _, k := range topk {
		if k < 1 {
			r.errorf(join(p.path, "topk"), "%d is not a positive k", k)
		}
	}
	p.done()
	return topk
}

func (r *reader) optimizer(root *section, epochs int) Optimizer {
	v := root.get("Optimizer")
	if v.k == kList {
		r.errorf("Optimizer", "per-scope optimizer lists are not supported")
		return Optimizer{}
	}
	o := root.sub("Optimizer")
	out := Optimizer{}
	if o.need("name") {
		if name := o.str("name", "", false); name != "Momentum" {
			r.errorf("Optimizer.name", "%q is not supported (the only optimizer is Momentum)", name)
		}
	}
	if o.need("momentum") {
		out.Momentum = o.float("momentum", 0.9)
		if out.Momentum < 0 {
			r.errorf("Optimizer.momentum", "must not be negative")
		}
	}
	out.Nesterov = o.bool("use_nesterov", false)
	if o.need("lr") {
		out.LR = r.lr(o.sub("lr"), epochs)
	}
	reg := o.get("regularizer")
	if reg != nil && reg.k != kNull {
		g := o.sub("regularizer")
		if g.need("name") {
			if name := g.str("name", "", false); name != "L2" {
				r.errorf("Optimizer.regularizer.name", "%q is not supported (the only regularizer is L2)", name)
			}
		}
		out.L2Coeff = g.float("coeff", 0)
		g.done()
	}
	if wd := o.get("weight_decay"); wd != nil && wd.k != kNull {
		// Paddle's Momentum takes a float weight_decay as an L2 coeff.
		coeff := o.float("weight_decay", 0)
		if reg != nil && reg.k != kNull {
			r.notef("Optimizer.weight_decay is ignored: Optimizer.regularizer is set (as PaddleClas)")
		} else {
			out.L2Coeff = coeff
		}
	}
	if out.L2Coeff < 0 {
		r.errorf("Optimizer", "a negative L2 coeff is not supported")
	}
	o.noop("multi_precision", isBool, "True or False: float32 training keeps float32 weights")
	o.noop("no_weight_decay_name", func(v *value) bool { return v.k == kNull || v.k == kStr && strings.TrimSpace(v.s) == "" }, "None")
	o.noop("one_dim_param_no_weight_decay", isFalse, "False")
	o.unsupported("gradient clipping", "clip_norm", "clip_grad")
	o.unsupported("Adam-style optimizers", "beta1", "beta2", "epsilon", "rho", "layerwise_decay", "filter_bias_and_bn")
	o.done()
	return out
}

func (r *reader) dataLoader(d *section) DataLoader {
	out := DataLoader{}
	if d.need("dataset") {
		ds := d.sub("dataset")
		if ds.need("name") {
			out.Dataset.Name = ds.str("name", "", false)
			if out.Dataset.Name != "ImageNetDataset" {
				r.errorf(join(ds.path, "name"), "%q is not supported (the only dataset is ImageNetDataset)", out.Dataset.Name)
			}
		}
		if ds.need("image_root") {
			out.Dataset.ImageRoot = ds.str("image_root", "", false)
		}
		out.Dataset.ClsLabelPath = ds.str("cls_label_path", "", true)
		if ds.need("transform_ops") {
			out.Ops = r.ops(join(ds.path, "transform_ops"), ds.get("transform_ops"), false)
		}
		ds.noop("delimiter", func(v *value) bool { return v.k == kNull || isStr(" ")(v) }, `None or " "`)
		ds.noop("relabel", isFalse, "False")
		ds.unsupported("batch transforms such as mixup and cutmix", "batch_transform_ops")
		ds.unsupported("other datasets", "label_ratio", "backend", "data_file", "mode", "download",
			"sample_per_label", "label_root", "bbox_crop", "expand_labels", "sample_list_path", "label_key")
		ds.done()
	}
	if d.need("sampler") {
		s := d.sub("sampler")
		name := s.get("name")
		switch {
		case name == nil:
			// Without a name PaddleClas reads the three settings itself.
			s.need("batch_size")
			s.need("shuffle")
			s.need("drop_last")
		case name.k != kStr || name.s != "DistributedBatchSampler" && name.s != "BatchSampler":
			r.errorf(join(s.path, "name"), "%s is not supported (DistributedBatchSampler or BatchSampler)", name.describe())
		default:
			s.need("batch_size")
		}
		out.BatchSize = s.intRange("batch_size", 1, 1, 1<<16)
		out.Shuffle = s.bool("shuffle", false)
		out.DropLast = s.bool("drop_last", false)
		s.noop("num_replicas", func(v *value) bool { return v.k == kNull || isInt(1)(v) }, "None or 1")
		s.noop("rank", func(v *value) bool { return v.k == kNull || isInt(0)(v) }, "None or 0")
		s.unsupported("other samplers", "sample_per_id", "scales", "first_bs", "divided_factor", "is_training",
			"num_instances", "sample_method", "id_list", "ratio", "max_iters")
		s.done()
	}
	l := d.sub("loader")
	out.NumWorkers = l.intRange("num_workers", 0, 0, 1024)
	l.noop("use_shared_memory", isBool, "True or False")
	l.done()
	d.done()
	return out
}

func (r *reader) infer(s *section) {
	if s.v == nil {
		return
	}
	s.str("infer_imgs", "", false)
	s.intRange("batch_size", 1, 1, 1<<16)
	if v := s.get("transforms"); v != nil {
		r.ops(join(s.path, "transforms"), v, true)
	}
	if pp := s.get("PostProcess"); pp != nil && pp.k != kNull {
		p := s.sub("PostProcess")
		if name := p.str("name", "Topk", false); name != "Topk" {
			r.errorf(join(p.path, "name"), "%q is not supported (Topk)", name)
		}
		p.intRange("topk", 5, 1, 1<<20)
		p.str("class_id_map_file", "", true)
		p.done()
	}
	s.unsupported("listing the images to infer", "infer_list")
	s.done()
}

func (r *reader) lr(l *section, epochs int) LRConfig {
	out := LRConfig{}
	if l.need("name") {
		out.Name = l.str("name", "", false)
	}
	warm := l.get("warmup_epoch")
	out.WarmupEpoch = l.float("warmup_epoch", 0)
	out.WarmupStartLR = l.float("warmup_start_lr", 0)
	out.ByEpoch = l.bool("by_epoch", false)
	if out.WarmupEpoch < 0 {
		r.errorf(join(l.path, "warmup_epoch"), "must not be negative")
	}
	// Paddle wants whole steps where the warmup is counted in epochs or
	// shortens Cosine's T_max.
	if warm != nil && warm.k != kInt && (out.ByEpoch || out.Name == "Cosine") {
		r.errorf(join(l.path, "warmup_epoch"), "want an integer with %s, have %s", map[bool]string{true: "by_epoch", false: "Cosine"}[out.ByEpoch], warm.describe())
	}
	if epochs > 0 && out.WarmupEpoch >= float64(epochs) && out.WarmupEpoch > 0 {
		r.notef("%s.warmup_epoch %v is not below Global.epochs: the warmup lasts %d epochs (as PaddleClas)", l.path, out.WarmupEpoch, epochs)
	}
	switch out.Name {
	case "Piecewise":
		if v := l.get("learning_rate"); v != nil && v.k != kNull { // None: use the listed values
			out.LearningRate = l.float("learning_rate", 0)
		}
		if l.need("decay_epochs") {
			out.DecayEpochs = l.floats("decay_epochs", -1)
		}
		if l.need("values") {
			out.Values = l.floats("values", -1)
		}
		if len(r.errs) == 0 {
			decay, values := out.Piecewise(max(epochs, 1))
			if len(decay) == 0 || len(values) <= len(decay) {
				r.errorf(l.path, "values needs one more entry than decay_epochs, have %d and %d", len(values), len(decay))
			} else if out.LearningRate != 0 {
				r.notef("%s.learning_rate is set: PaddleClas decays it 10x every 30 epochs, decay_epochs %v and values %v (the configured ones are ignored)",
					l.path, decay, values)
			}
		}
		l.unsupported("Cosine's, not Piecewise's", "eta_min")
	case "Cosine":
		if l.need("learning_rate") {
			out.LearningRate = l.float("learning_rate", 0)
		}
		out.EtaMin = l.float("eta_min", 0)
		if out.LearningRate < 0 {
			r.errorf(join(l.path, "learning_rate"), "must not be negative")
		}
		l.unsupported("Piecewise's, not Cosine's", "decay_epochs", "values")
	case "":
	default:
		r.errorf(join(l.path, "name"), "%q is not supported (Piecewise or Cosine)", out.Name)
		for _, k := range []string{"learning_rate", "decay_epochs", "values", "eta_min"} {
			l.get(k)
		}
	}
	l.noop("last_epoch", isInt(-1), "-1")
	l.noop("verbose", isBool, "True or False")
	for _, k := range []string{"epochs", "step_each_epoch"} {
		if l.get(k) != nil {
			r.notef("%s.%s is ignored: PaddleClas sets it from the run", l.path, k)
		}
	}
	l.unsupported("other schedules", "gamma", "milestones", "step_size", "num_warmup_steps", "num_cycles", "end_lr",
		"power", "cycle", "max_learning_rate", "divide_factor", "end_learning_rate", "phase_pct", "anneal_strategy",
		"three_phase", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "epsilon")
	l.done()
	return out
}
