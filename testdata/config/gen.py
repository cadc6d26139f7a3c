#!/usr/bin/python3
"""Generates train/config's fixtures with Debian's python3-yaml (PyYAML 6) and
python3-torch: run /usr/bin/python3 gen.py in this folder.

typing.json: how PaddleClas types config values.
  yaml: scalars as a mapping value (where PaddleClas's create_attr_dict runs
        ast.literal_eval on strings) and as a list item (where it does not),
        read with yaml.safe_load.
  eval: strings through ast.literal_eval and through eval (the override
        values' str2num, which falls back to the string when eval raises).

lr.json: learning rates per iteration from a small re-implementation of the
formulas of PaddleClas's Piecewise and Cosine (ppcls/optimizer/learning_rate.py)
over Paddle's PiecewiseDecay, CosineAnnealingDecay and LinearWarmup
(paddle/optimizer/lr.py), written from their definitions. Paddle itself is not
packaged for Debian; torch's schedulers are run beside it where they compute
the same thing, and the differences are printed.
"""
import ast
import json
import math
import os

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def enc(x):
    """A Python value as a typed JSON value (floats by repr, to stay exact)."""
    if x is None:
        return {"t": "none"}
    if isinstance(x, bool):
        return {"t": "bool", "v": x}
    if isinstance(x, int):
        return {"t": "int", "v": str(x)}
    if isinstance(x, float):
        return {"t": "float", "v": repr(x)}
    if isinstance(x, str):
        return {"t": "str", "v": x}
    if isinstance(x, (list, tuple)):
        return {"t": "list", "v": [enc(i) for i in x]}
    if isinstance(x, dict) and all(isinstance(k, str) for k in x):
        return {"t": "map", "v": [[k, enc(v)] for k, v in x.items()]}
    return {"t": "other", "v": type(x).__name__}


def attr_dict_pass(d):
    """PaddleClas's create_attr_dict: literal_eval on strings held by mappings."""
    for k, v in d.items():
        if isinstance(v, dict):
            attr_dict_pass(v)
        elif isinstance(v, str):
            try:
                d[k] = ast.literal_eval(v)
            except BaseException:
                pass


def str2num(v):
    try:
        return eval(v)
    except Exception:
        return v


SCALARS = [
    "1e-4", "1.0e-4", "1.0e+4", "1.e5", "1e5", "0.0001", "1.", ".5", "010", "0o10", "0x1F", "0b101",
    "1_000", "1:20", "1:20.5", "09", "00", "+12", "-0", "yes", "No", "on", "OFF", "true", "False",
    "~", "null", "", "'1e-4'", "\"[1, 2]\"", "'(1, 2)'", "'{\"a\": 1}'", "'True'", "'None'",
    "DLA34", "1.0/255.0", "./output/", "gpu", ".inf", "-.inf", "'0.1'", "' 5'", "'-5'", "'- 5'",
    "'--5'", "1_0.5", "'1j'", "'0x10'", "'1_000'", "'09'", "\"'abc'\"", "!!str 12", "!!float 3",
    "!!int '7'", "'[1, -2.5, \"x\"]'", "'1+2'", "'2*3'", "'(1,)'", "'()'", "'  7'", "2024-01-02",
]

EXPRS = [
    "10", "-10", "1.0/255.0", "1/255", "7//2", "-7//2", "7%-2", "-7%2", "7.5//2", "-7.5%2", "2**10",
    "2**-1", "-2**2", "2**3**2", "[30,60,90]", "[30, 60, 90,]", "(1,2)", "(1)", "(1,)", "()", "[]",
    "{'a': 1}", "{'a': [1, 2], 'b': None}", "True", "False", "None", "DLA34", "gpu", "./output",
    "1e-4", "1e5", "1E+2", "0x10", "0o17", "0b11", "0X_f", "1_000", "010", "00", "'abc'",
    "\"a\" 'b'", "r'\\n'", "'\\n'", "'\\x41\\u00e9'", "'\\q'", "1+", "", " 5", "5 ", "\t5",
    "[1, [2, 3]]", "3.", ".5", "1e", "1j", "abs(-1)", "os.getcwd()", "1/0", "1%0", "True+1",
    "~5", "--5", "+-5", "1.5e-3*2", "10 - 2 - 3", "2*3+4", "(2+3)*4", "'a'+'b'", "[1, 2]",
    "9999999999999999999", "2**70", "1_0.5", "0.1+0.2", "-0.0", "[\n1,\n2]", "1\n", "{1, 2}",
    "'it''s'", "'''x'''", "0.1*3", "10/4", "-(3)", "+3.5", "u'x'", "b'x'", "2**0.5", "(-8)**(1/3)",
]


def typing():
    cases = []
    for s in SCALARS:
        doc = yaml.safe_load("a: %s\nb:\n  - %s\n" % (s, s))
        raw_list_item = doc["b"][0]
        attr_dict_pass(doc)
        cases.append({"src": s, "map": enc(doc["a"]), "list": enc(raw_list_item)})
    evals = []
    for s in EXPRS:
        try:
            lit = enc(ast.literal_eval(s))
        except BaseException:
            lit = {"t": "error"}
        try:
            ev = enc(eval(s, {"__builtins__": {"abs": abs}}, {}))
        except Exception:
            ev = {"t": "error"}
        evals.append({"src": s, "literal": lit, "eval": ev, "str2num": enc(str2num(s)) if s not in ("abs(-1)", "os.getcwd()") else {"t": "str", "v": s}})
    return {"yaml": cases, "eval": evals}


# --- Paddle's schedulers, from their definitions -------------------------

class Piecewise:
    """PiecewiseDecay: values[i] for the first boundary above the step."""

    def __init__(self, boundaries, values):
        self.b, self.v = boundaries, values

    def at(self, step):
        for i, b in enumerate(self.b):
            if step < b:
                return self.v[i]
        return self.v[-1]


class Cosine:
    """CosineAnnealingDecay: recursive when stepped one by one, closed form
    when stepped to an explicit step (as LinearWarmup does)."""

    def __init__(self, base, t_max, eta_min):
        self.base, self.t, self.eta = base, t_max, float(eta_min)
        self.step, self.lr = 0, base

    def next(self):
        self.step += 1
        e, T = self.step, self.t
        if (e - 1 - T) % (2 * T) == 0:
            self.lr = self.lr + (self.base - self.eta) * (1 - math.cos(math.pi / T)) / 2
        else:
            self.lr = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (self.lr - self.eta) + self.eta
        return self.lr

    def closed(self, step):
        return self.eta + (self.base - self.eta) * (1 + math.cos(math.pi * step / self.t)) / 2


def paddleclas_lr(cfg, epochs, spe):
    """The rate of every iteration of a run, as PaddleClas's engine steps the
    scheduler PaddleClas's Piecewise/Cosine build."""
    by_epoch = cfg.get("by_epoch", False)
    warm_epoch = min(cfg.get("warmup_epoch", 0), epochs)
    warm = warm_epoch if by_epoch else round(warm_epoch * spe)
    start = cfg.get("warmup_start_lr", 0.0)
    unit = 1 if by_epoch else spe
    if cfg["name"] == "Piecewise":
        decay, values = cfg["decay_epochs"], cfg["values"]
        if cfg.get("learning_rate"):
            decay = list(range(0, epochs, 30))
            values = [cfg["learning_rate"] * (0.1 ** i) for i in range(len(decay))]
            if len(decay) == 1:
                decay, values = [epochs], [values[0], values[0]]
            else:
                decay = decay[1:]
        inner = Piecewise([e * unit for e in decay], values)
        end = values[0]
        stepped = inner.at
        after = inner.at
    else:
        t_max = (epochs - warm_epoch) * unit
        end = cfg["learning_rate"]
        if t_max <= 0:
            stepped = after = lambda k: end
        else:
            cos = Cosine(end, t_max, cfg.get("eta_min", 0.0))
            seq = [end]

            def stepped(k):
                while len(seq) <= k:
                    seq.append(cos.next())
                return seq[k]
            after = cos.closed
    out = []
    for i in range(epochs * spe):
        t = i // spe if by_epoch else i
        if warm > 0:
            out.append((end - start) * float(t) / float(warm) + start if t < warm else after(t - warm))
        else:
            out.append(stepped(t))
    return out


LR_CASES = [
    ("dla_yaml", {"name": "Piecewise", "learning_rate": 0.1, "decay_epochs": [30, 60, 90], "values": [0.1, 0.01, 0.001, 0.0001]}, 120, 3),
    ("piecewise_values", {"name": "Piecewise", "decay_epochs": [2, 5], "values": [0.5, 0.05, 0.005]}, 7, 4),
    ("piecewise_rule_short", {"name": "Piecewise", "learning_rate": 0.2, "decay_epochs": [1], "values": [1, 2]}, 10, 3),
    ("piecewise_rule_61", {"name": "Piecewise", "learning_rate": 0.3, "decay_epochs": [1], "values": [1, 2]}, 61, 1),
    ("piecewise_warmup", {"name": "Piecewise", "decay_epochs": [2, 4], "values": [0.4, 0.04, 0.004], "warmup_epoch": 1.5, "warmup_start_lr": 0.01}, 6, 5),
    ("piecewise_by_epoch", {"name": "Piecewise", "decay_epochs": [2, 3], "values": [0.3, 0.2, 0.1], "by_epoch": True, "warmup_epoch": 1}, 5, 3),
    ("cosine", {"name": "Cosine", "learning_rate": 0.1}, 4, 25),
    ("cosine_eta", {"name": "Cosine", "learning_rate": 0.05, "eta_min": 0.001}, 3, 7),
    ("cosine_warmup", {"name": "Cosine", "learning_rate": 0.1, "eta_min": 1e-5, "warmup_epoch": 2, "warmup_start_lr": 0.001}, 6, 9),
    ("cosine_by_epoch", {"name": "Cosine", "learning_rate": 0.1, "by_epoch": True}, 8, 3),
    ("cosine_warmup_all", {"name": "Cosine", "learning_rate": 0.1, "warmup_epoch": 5}, 3, 4),
    ("cosine_long", {"name": "Cosine", "learning_rate": 0.4, "eta_min": 0.0}, 60, 97),
]


def torch_lr(cfg, epochs, spe):
    """torch's nearest scheduler, where one exists (MultiStepLR multiplies by
    gamma instead of picking listed values; CosineAnnealingLR is the same
    recursion; there is no LinearWarmup that shifts the inner schedule)."""
    p = torch.nn.Parameter(torch.zeros(1))
    if cfg.get("warmup_epoch") or cfg.get("by_epoch"):
        return None
    if cfg["name"] == "Cosine":
        opt = torch.optim.SGD([p], lr=cfg["learning_rate"])
        s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * spe, eta_min=cfg.get("eta_min", 0.0))
    else:
        base = cfg.get("learning_rate") or cfg["values"][0]
        decay = cfg["decay_epochs"] if not cfg.get("learning_rate") else list(range(30, epochs, 30))
        opt = torch.optim.SGD([p], lr=base)
        s = torch.optim.lr_scheduler.MultiStepLR(opt, [e * spe for e in decay], gamma=0.1)
    out = []
    for _ in range(epochs * spe):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return out


def lr():
    cases = []
    for name, cfg, epochs, spe in LR_CASES:
        want = paddleclas_lr(cfg, epochs, spe)
        cases.append({"name": name, "config": cfg, "epochs": epochs, "iters_per_epoch": spe, "lr": [repr(x) for x in want]})
        t = torch_lr(cfg, epochs, spe)
        if t is not None:
            diff = [i for i, (a, b) in enumerate(zip(want, t)) if a != b]
            rel = max((abs(a - b) / abs(a) for a, b in zip(want, t) if a), default=0)
            sched = "CosineAnnealingLR" if cfg["name"] == "Cosine" else "MultiStepLR"
            print("%-20s torch %-17s: %d of %d rates differ (largest relative difference %.2g)" % (
                name, sched, len(diff), len(want), rel))
    return cases


if __name__ == "__main__":
    with open(os.path.join(HERE, "typing.json"), "w") as f:
        json.dump(typing(), f, indent=1)
    with open(os.path.join(HERE, "lr.json"), "w") as f:
        json.dump({"cases": lr()}, f, indent=1)
