#!/usr/bin/env python3
"""Make reference fixtures for mergeflow's model-merging methods (MergeTests).

Every merged output in the fixtures is produced by the real mergekit
(`mergekit-yaml`, version pinned below), never by our own code, so the Swift
implementations of the merge methods can be checked against the reference.

What it writes (relative to the repo root, into Tests/MergeTests/Fixtures/):

  inputs/{base,m1,m2,m3}/      Four tiny GPT-2-shaped Hugging Face checkpoints:
                               model.safetensors (F32, GPT2LMHeadModel tensor
                               names, no lm_head: the embedding is tied) and
                               config.json (n_layer 4, n_head 2, n_embd 16,
                               n_positions 32, vocab_size 64). The inputs are
                               committed, so the Swift tests need no Python.
  cases/<name>/model.safetensors   mergekit's merged output for that case.
  cases/<name>/config.json     The mergekit YAML config of the case, as JSON,
                               with model paths written as the input names
                               (base, m1, m2, m3) relative to inputs/.
  manifest.json                Every case: name, merge_method, config, the
                               output's sha256, max |value| of every output
                               tensor, and an independent float64 numpy
                               re-implementation's max abs difference from the
                               mergekit output plus the smallest margin of every
                               discrete decision (top-k boundaries, sign votes,
                               the slerp lerp threshold, ...), so a reader knows
                               how far from a branch flip each fixture sits.

How the inputs are made (deterministic; numpy default_rng):
  base: every tensor ~ N(0, 0.02) from seed 0, LayerNorm weights 1 + N(0, 0.02).
  m_i = base + task vector d_i, with S ~ N(0,1) from seed 100 shared and
  N_i ~ N(0,1) from seed i:
    d1 = 0.01 (0.6 S + 0.8 N1)
    d2 = 0.01 (0.6 S + 0.8 N2), except on the "anti" tensors (wpe, c_attn.weight
         of layers 0 and 2, every mlp.c_fc.bias) where d2 = -0.8 d1 + 0.006 N2,
         so TIES sign election and model_stock's negative cosines matter;
    d3 = 0.01 (0.4 S + 0.9 N3).
  Special tensors: m1's transformer.h.1.attn.c_proj.weight is exactly 1.05 x
  base (colinear: SLERP takes its lerp fallback); m3's
  transformer.h.3.ln_2.bias equals base's (a zero task vector). LayerNorm
  weights are nearly colinear between models, as in real checkpoints.

Run (from the repo root; the venv lives outside the repo):

  python3 -m venv /tmp/mk && /tmp/mk/bin/pip install mergekit==0.1.5
  /tmp/mk/bin/python scripts/reference/make_merge_fixtures.py

mergekit is run on the CPU, offline (HF_HUB_OFFLINE=1), with absolute paths,
--no-copy-tokenizer, one torch thread and `dtype: float32` in every config
except arcee_fusion_f64 (`dtype: float64`, `out_dtype: float32`: arcee_fusion's
KL term is rounding noise in float32 at these magnitudes, see the README).
Every output is checked against the float64 numpy re-implementation below
(max abs difference < 1e-5, in practice <= 3e-7) and the script fails if
mergekit's output and that reading of its source disagree. Running it twice
gives byte-identical files.
Random methods (dare_ties, dare_linear, della, della_linear) are not fixtured:
see scripts/reference/README-merge.md. The script prints the versions used;
record them in README-merge.md if they change.
"""

import copy
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import yaml
from safetensors.numpy import load_file, save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "Tests", "MergeTests", "Fixtures")
INPUTS = os.path.join(FIX, "inputs")
CASES_DIR = os.path.join(FIX, "cases")

N_LAYER, N_HEAD, N_EMBD, N_POS, VOCAB = 4, 2, 16, 32, 64
MODEL_NAMES = ("base", "m1", "m2", "m3")

# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def tensor_layout():
    """(name, shape, layer index or None) in GPT2LMHeadModel state-dict order."""
    e = N_EMBD
    out = [
        ("transformer.wte.weight", (VOCAB, e), None),
        ("transformer.wpe.weight", (N_POS, e), None),
    ]
    for i in range(N_LAYER):
        p = f"transformer.h.{i}."
        out += [
            (p + "ln_1.weight", (e,), i),
            (p + "ln_1.bias", (e,), i),
            (p + "attn.c_attn.weight", (e, 3 * e), i),
            (p + "attn.c_attn.bias", (3 * e,), i),
            (p + "attn.c_proj.weight", (e, e), i),
            (p + "attn.c_proj.bias", (e,), i),
            (p + "ln_2.weight", (e,), i),
            (p + "ln_2.bias", (e,), i),
            (p + "mlp.c_fc.weight", (e, 4 * e), i),
            (p + "mlp.c_fc.bias", (4 * e,), i),
            (p + "mlp.c_proj.weight", (4 * e, e), i),
            (p + "mlp.c_proj.bias", (e,), i),
        ]
    out += [
        ("transformer.ln_f.weight", (e,), None),
        ("transformer.ln_f.bias", (e,), None),
    ]
    return out


LAYOUT = tensor_layout()
LAYER_OF = {name: layer for name, _, layer in LAYOUT}

ANTI = {
    "transformer.wpe.weight",
    "transformer.h.0.attn.c_attn.weight",
    "transformer.h.2.attn.c_attn.weight",
} | {f"transformer.h.{i}.mlp.c_fc.bias" for i in range(N_LAYER)}
COLINEAR_M1 = "transformer.h.1.attn.c_proj.weight"
ZERO_DELTA_M3 = "transformer.h.3.ln_2.bias"


def is_ln_weight(name):
    return name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "transformer.ln_f.weight"


def make_inputs():
    rng_base = np.random.default_rng(0)
    rng_s = np.random.default_rng(100)
    rng_n = {i: np.random.default_rng(i) for i in (1, 2, 3)}
    models = {m: {} for m in MODEL_NAMES}
    for name, shape, _ in LAYOUT:
        b = rng_base.normal(0.0, 0.02, shape)
        if is_ln_weight(name):
            b = b + 1.0
        b = b.astype(np.float32)
        s = rng_s.normal(0.0, 1.0, shape)
        n1, n2, n3 = (rng_n[i].normal(0.0, 1.0, shape) for i in (1, 2, 3))
        d1 = 0.01 * (0.6 * s + 0.8 * n1)
        d2 = (-0.8 * d1 + 0.006 * n2) if name in ANTI else 0.01 * (0.6 * s + 0.8 * n2)
        d3 = 0.01 * (0.4 * s + 0.9 * n3)
        models["base"][name] = b
        models["m1"][name] = (b.astype(np.float64) + d1).astype(np.float32)
        models["m2"][name] = (b.astype(np.float64) + d2).astype(np.float32)
        models["m3"][name] = (b.astype(np.float64) + d3).astype(np.float32)
    models["m1"][COLINEAR_M1] = (models["base"][COLINEAR_M1].astype(np.float64) * 1.05).astype(np.float32)
    models["m3"][ZERO_DELTA_M3] = models["base"][ZERO_DELTA_M3].copy()
    return models


HF_CONFIG = {
    "architectures": ["GPT2LMHeadModel"],
    "model_type": "gpt2",
    "n_layer": N_LAYER,
    "n_head": N_HEAD,
    "n_embd": N_EMBD,
    "n_positions": N_POS,
    "n_inner": None,
    "vocab_size": VOCAB,
    "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-05,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
}


def write_inputs(models):
    if os.path.isdir(INPUTS):
        shutil.rmtree(INPUTS)
    for m in MODEL_NAMES:
        d = os.path.join(INPUTS, m)
        os.makedirs(d)
        save_file(models[m], os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(HF_CONFIG, f, indent=2)
            f.write("\n")


def check_inputs_load_in_transformers():
    """GPT2LMHeadModel must load every input with no missing/unexpected key."""
    try:
        import transformers
    except ImportError:
        print("transformers not importable; skipping the load check")
        return
    transformers.logging.set_verbosity_error()
    for m in MODEL_NAMES:
        model, info = transformers.GPT2LMHeadModel.from_pretrained(
            os.path.join(INPUTS, m), output_loading_info=True
        )
        assert not info.get("unexpected_keys"), (m, info)
        assert not info.get("mismatched_keys"), (m, info)
        assert set(info.get("missing_keys") or ()) <= {"lm_head.weight"}, (m, info)
        assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "not tied"


# --------------------------------------------------------------------------
# Cases: mergekit configs with models named by their input folder
# --------------------------------------------------------------------------


def mdl(name, **params):
    d = {"model": name}
    if params:
        d["parameters"] = params
    return d


CASES = [
    # --- linear -------------------------------------------------------------
    ("linear", {
        "merge_method": "linear",
        "models": [mdl("m1", weight=0.5), mdl("m2", weight=0.3), mdl("m3", weight=0.2)],
        "parameters": {"normalize": True},
        "dtype": "float32",
    }),
    # weights sum to 1.2 so that normalize: false really differs
    ("linear_unnormalized", {
        "merge_method": "linear",
        "models": [mdl("m1", weight=0.5), mdl("m2", weight=0.3), mdl("m3", weight=0.4)],
        "parameters": {"normalize": False},
        "dtype": "float32",
    }),
    # per-layer gradient weights; m3 makes the weight sum 1.5 (normalize default true)
    ("linear_gradient", {
        "merge_method": "linear",
        "models": [mdl("m1", weight=[0, 0.5, 1]), mdl("m2", weight=[1, 0.5, 0]), mdl("m3", weight=0.5)],
        "dtype": "float32",
    }),
    # --- task vectors ------------------------------------------------------------
    ("task_arithmetic", {
        "merge_method": "task_arithmetic",
        "base_model": "base",
        "models": [mdl("m1", weight=1.0), mdl("m2", weight=0.5)],
        "parameters": {"lambda": 0.8},
        "dtype": "float32",
    }),
    ("ties", {
        "merge_method": "ties",
        "base_model": "base",
        "models": [mdl("m1", weight=1.0), mdl("m2", weight=1.0), mdl("m3", weight=1.0)],
        "parameters": {"density": 0.5},
        "dtype": "float32",
    }),
    # global density gradient and name-filtered global weight; per-model
    # overrides (m2 density, m3 weight) take precedence; normalize false
    ("ties_gradient_filtered", {
        "merge_method": "ties",
        "base_model": "base",
        "models": [mdl("m1"), mdl("m2", density=0.5), mdl("m3", weight=1.0)],
        "parameters": {
            "density": [0.2, 0.8],
            "weight": [{"filter": "mlp", "value": 0.7}, {"value": 0.3}],
            "normalize": False,
        },
        "dtype": "float32",
    }),
    ("breadcrumbs", {
        "merge_method": "breadcrumbs",
        "base_model": "base",
        "models": [mdl("m1", weight=1.0), mdl("m2", weight=0.5), mdl("m3", weight=0.5)],
        "parameters": {"density": 0.8, "gamma": 0.05},
        "dtype": "float32",
    }),
    ("breadcrumbs_ties", {
        "merge_method": "breadcrumbs_ties",
        "base_model": "base",
        "models": [mdl("m1", weight=1.0), mdl("m2", weight=0.5), mdl("m3", weight=0.5)],
        "parameters": {"density": 0.8, "gamma": 0.05},
        "dtype": "float32",
    }),
    # --- spherical ------------------------------------------------------------
    ("slerp", {
        "merge_method": "slerp",
        "base_model": "base",
        "models": [mdl("base"), mdl("m1")],
        "parameters": {"t": 0.3},
        "dtype": "float32",
    }),
    ("slerp_gradient_filtered", {
        "merge_method": "slerp",
        "base_model": "base",
        "models": [mdl("base"), mdl("m1")],
        "parameters": {"t": [
            {"filter": "attn", "value": [0, 0.5, 0.3, 0.7, 1]},
            {"filter": "mlp", "value": [1, 0.5, 0.7, 0.3, 0]},
            {"value": 0.5},
        ]},
        "dtype": "float32",
    }),
    ("nuslerp", {
        "merge_method": "nuslerp",
        "models": [mdl("m1", weight=0.7), mdl("m2", weight=0.3)],
        "dtype": "float32",
    }),
    ("nuslerp_base", {
        "merge_method": "nuslerp",
        "base_model": "base",
        "models": [mdl("m1", weight=0.4), mdl("m2", weight=0.6)],
        "dtype": "float32",
    }),
    ("nuslerp_row_wise", {
        "merge_method": "nuslerp",
        "models": [mdl("m1", weight=1.0), mdl("m2", weight=3.0)],
        "parameters": {"nuslerp_flatten": False, "nuslerp_row_wise": True},
        "dtype": "float32",
    }),
    ("multislerp", {
        "merge_method": "multislerp",
        "base_model": "base",
        "models": [mdl("m1", weight=1.0), mdl("m2", weight=0.6), mdl("m3", weight=0.4)],
        "dtype": "float32",
    }),
    ("karcher", {
        "merge_method": "karcher",
        "models": [mdl("m1"), mdl("m2"), mdl("m3")],
        "dtype": "float32",
    }),
    # --- others ----------------------------------------------------------------
    ("model_stock", {
        "merge_method": "model_stock",
        "base_model": "base",
        "models": [mdl("m1"), mdl("m2"), mdl("m3")],
        "dtype": "float32",
    }),
    ("model_stock_filter_wise", {
        "merge_method": "model_stock",
        "base_model": "base",
        "models": [mdl("m1"), mdl("m2"), mdl("m3")],
        "parameters": {"filter_wise": True},
        "dtype": "float32",
    }),
    ("sce", {
        "merge_method": "sce",
        "base_model": "base",
        "models": [mdl("m1"), mdl("m2"), mdl("m3")],
        "parameters": {"select_topk": 0.5},
        "dtype": "float32",
    }),
    ("ram", {
        "merge_method": "ram",
        "base_model": "base",
        "models": [mdl("m1"), mdl("m2"), mdl("m3")],
        "parameters": {"epsilon": 0.005},
        "dtype": "float32",
    }),
    ("ramplus_tl", {
        "merge_method": "ramplus_tl",
        "base_model": "base",
        "models": [mdl("m1"), mdl("m2"), mdl("m3")],
        "parameters": {"epsilon": 0.005, "r": 0.3, "alpha": 0.5},
        "dtype": "float32",
    }),
    ("nearswap", {
        "merge_method": "nearswap",
        "base_model": "base",
        "models": [mdl("base"), mdl("m1")],
        "parameters": {"t": 0.005},
        "dtype": "float32",
    }),
    ("arcee_fusion", {
        "merge_method": "arcee_fusion",
        "base_model": "base",
        "models": [mdl("base"), mdl("m1")],
        "dtype": "float32",
    }),
    # torch computes arcee_fusion's KL in the working dtype; in float32 it is
    # dominated by rounding noise for deltas this small, so a few mask
    # decisions flip (counted in the manifest). The float64 twin is the
    # well-conditioned reference: inputs upcast, output cast back to float32.
    ("arcee_fusion_f64", {
        "merge_method": "arcee_fusion",
        "base_model": "base",
        "models": [mdl("base"), mdl("m1")],
        "dtype": "float64",
        "out_dtype": "float32",
    }),
    ("passthrough", {
        "merge_method": "passthrough",
        "models": [mdl("m1", scale=[
            {"filter": "mlp.c_proj", "value": 0.5},
            {"filter": "ln_f", "value": 2.0},
            {"value": 1.0},
        ])],
        "dtype": "float32",
    }),
]

# Methods that mergekit 0.1.5 registers but that are random (torch.bernoulli on
# torch's global generator): not fixtured, see README-merge.md.
RANDOM_METHODS = ("dare_ties", "dare_linear", "della", "della_linear")


def with_paths(obj, mapping):
    """Deep copy of a config with model names replaced by absolute paths."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("model", "base_model") and isinstance(v, str):
                out[k] = mapping[v]
            else:
                out[k] = with_paths(v, mapping)
        return out
    if isinstance(obj, list):
        return [with_paths(v, mapping) for v in obj]
    return obj


def run_mergekit(config, workdir, name):
    mapping = {m: os.path.join(INPUTS, m) for m in MODEL_NAMES}
    cfg_path = os.path.join(workdir, f"{name}.yml")
    out_dir = os.path.join(workdir, f"{name}.out")
    with open(cfg_path, "w") as f:
        yaml.safe_dump(with_paths(config, mapping), f, sort_keys=False)
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CUDA_VISIBLE_DEVICES="",
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "mergekit.scripts.run_yaml", cfg_path, out_dir,
           "--no-copy-tokenizer", "--device", "cpu", "--num-threads", "1",
           "--random-seed", "0", "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mergekit failed for {name}:\n{proc.stdout}\n{proc.stderr}")
    return os.path.join(out_dir, "model.safetensors")


# --------------------------------------------------------------------------
# Independent float64 re-implementation (from the 0.1.5 sources), used only to
# cross-check the fixtures and to measure how close each discrete decision is.
# --------------------------------------------------------------------------


class Margins:
    def __init__(self):
        self.m = {}

    def add(self, key, value):
        value = float(value)
        if key not in self.m or value < self.m[key]:
            self.m[key] = value


def evaluate_setting(tensor_name, setting, t):
    """mergekit.config.evaluate_setting for numeric/bool values."""
    if isinstance(setting, dict):
        setting = [setting]
    if isinstance(setting, (bool, int, float)):
        return setting
    if isinstance(setting, list):
        if not setting:
            return None
        if all(isinstance(e, (bool, int, float)) for e in setting):
            if any(isinstance(e, bool) for e in setting):
                return setting[int(t * (len(setting) - 1))]
            scaled = t * (len(setting) - 1)
            i0 = int(scaled)
            i1 = min(len(setting) - 1, i0 + 1)
            frac = scaled - i0
            return (1 - frac) * setting[i0] + frac * setting[i1]
        for cond in setting:
            f = cond.get("filter")
            if f is None or f == "*" or (tensor_name and f in tensor_name):
                return evaluate_setting(tensor_name, cond["value"], t)
        return None
    raise RuntimeError(setting)


def layer_t(name):
    layer = LAYER_OF[name]
    if layer is None:
        return 0.0  # embeddings and final norm are planned at t = 0
    return layer / (N_LAYER - 1) if N_LAYER > 1 else 1.0


def param(config, name, key, model=None, default=None):
    """Per-model parameters, then global ones, then the default."""
    t = layer_t(name)
    scopes = []
    if model is not None:
        for m in config["models"]:
            if m["model"] == model:
                scopes.append(m.get("parameters") or {})
    scopes.append(config.get("parameters") or {})
    for scope in scopes:
        if key in scope:
            v = evaluate_setting(name, scope[key], t)
            if v is not None:
                return v
    return default


def input_order(config):
    order = [m["model"] for m in config["models"]]
    base = config.get("base_model")
    if base and base not in order:
        order.append(base)
    return order


def f64(x):
    return np.asarray(x, dtype=np.float64)


def magnitude(delta32, density, name, margins, label):
    if density >= 1:
        return f64(delta32)
    n = delta32.size
    if density <= 0 or n == 0:
        return np.zeros(delta32.shape)
    k = max(1, int(density * n))
    w = np.abs(delta32).reshape(-1)
    order = np.argsort(-w, kind="stable")
    if k < n:
        gap = w[order[k - 1]] - w[order[k]]
        if w[order[k - 1]] > 0:
            margins.add(f"{label}: top-k boundary gap / value", gap / w[order[k - 1]])
    mask = np.zeros(n)
    mask[order[:k]] = 1
    return f64(delta32) * mask.reshape(delta32.shape)


def magnitude_outliers(delta32, density, gamma, margins, label):
    if density >= 1:
        return f64(delta32)
    n = delta32.size
    target = int(density * n)
    n_top = int(gamma * n)
    n_bot = max(0, n - target - n_top)
    w = np.abs(delta32).reshape(-1)
    order = np.argsort(w, kind="stable")
    for lo in (n_bot, n_bot + target):
        if 0 < lo < n and w[order[lo]] > 0:
            margins.add(f"{label}: keep-range boundary gap / value",
                        (w[order[lo]] - w[order[lo - 1]]) / w[order[lo]])
    mask = np.zeros(n)
    mask[order[n_bot:n_bot + target]] = 1
    return f64(delta32) * mask.reshape(delta32.shape)


GTA = {
    # name: (sparsification, consensus, normalize default)
    "task_arithmetic": (None, False, False),
    "ties": ("magnitude", True, True),
    "breadcrumbs": ("magnitude_outliers", False, False),
    "breadcrumbs_ties": ("magnitude_outliers", True, False),
}


def ref_gta(config, name, x, margins):
    sp, consensus, norm_default = GTA[config["merge_method"]]
    base_name = config["base_model"]
    base = x[base_name]
    others = [m for m in input_order(config) if m != base_name]
    deltas, weights = [], []
    for m in others:
        d32 = (x[m] - base).astype(np.float32)  # torch subtracts in f32
        density = param(config, name, "density", m, 1.0)
        if sp == "magnitude":
            d = magnitude(d32, density, name, margins, "magnitude")
        elif sp == "magnitude_outliers":
            d = magnitude_outliers(d32, density, param(config, name, "gamma", m, 0.01), margins, "magnitude_outliers")
        else:
            d = f64(d32)
        w = param(config, name, "weight", m)
        deltas.append(d * w)
        weights.append(w)
    deltas = np.stack(deltas)
    wv = np.array(weights).reshape((-1,) + (1,) * (deltas.ndim - 1))
    if consensus:
        s = deltas.sum(0)
        nz = np.any(deltas != 0, axis=0)
        if nz.any():
            margins.add("sign vote |sum w*delta| (min)", np.abs(s[nz]).min())
        majority = np.where(s >= 0, 1.0, -1.0)
        keep = np.sign(deltas) == majority
        mixed = (deltas * keep).sum(0)
        divisor = (wv * keep).sum(0)
        divisor[divisor == 0] = 1
    else:
        mixed = deltas.sum(0)
        divisor = np.broadcast_to(wv.sum(0), mixed.shape).copy()
        divisor[np.abs(divisor) < 1e-8] = 1
    if param(config, name, "normalize", None, norm_default):
        mixed = mixed / divisor
    lam = param(config, name, "lambda", None, 1.0)
    return f64(base) + mixed * lam


def ref_linear(config, name, x, margins):
    order = input_order(config)
    ws = [param(config, name, "weight", m) for m in order]
    res = sum(w * f64(x[m]) for w, m in zip(ws, order))
    if param(config, name, "normalize", None, True):
        res = res / sum(ws)
    return res


def ref_slerp(config, name, x, margins):
    t = param(config, name, "t")
    base_name = config["base_model"]
    other = [m for m in input_order(config) if m != base_name][0]
    a, b = f64(x[base_name]).reshape(-1), f64(x[other]).reshape(-1)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    na = na if na > 1e-8 else 1.0
    nb = nb if nb > 1e-8 else 1.0
    dot = float(np.clip(np.dot(a / na, b / nb), -1, 1))
    margins.add("| |dot| - 0.9995 |", abs(abs(dot) - 0.9995))
    if abs(dot) > 0.9995:
        res = (1 - t) * a + t * b
    else:
        th = math.acos(dot)
        res = (math.sin((1 - t) * th) * a + math.sin(t * th) * b) / math.sin(th)
    return res.reshape(x[base_name].shape)


def _nuslerp(t, v0, v1, dim, flatten, margins):
    shape = v0.shape
    if flatten:
        v0, v1 = v0.reshape(-1), v1.reshape(-1)
    elif dim != -1:
        v0, v1 = np.swapaxes(v0, dim, -1), np.swapaxes(v1, dim, -1)

    def unit(v):
        return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-7)

    cos = np.clip(np.sum(unit(v0) * unit(v1), axis=-1, keepdims=True), -1, 1)
    margins.add("1 - cos^2 (colinear iff <= 1e-16)", np.min(1 - cos ** 2))
    colinear = (1 - cos ** 2) <= 1e-16
    th = np.arccos(np.where(colinear, 0, cos))
    with np.errstate(invalid="ignore", divide="ignore"):
        res = (np.sin((1 - t) * th) * v0 + np.sin(t * th) * v1) / np.sin(th)
    res = np.where(colinear, (1 - t) * v0 + t * v1, res)
    if dim != -1 and not flatten:
        res = np.swapaxes(res, dim, -1)
    return res.reshape(shape)


def ref_nuslerp(config, name, x, margins):
    base_name = config.get("base_model")
    others = [m for m in input_order(config) if m != base_name]
    ws = [param(config, name, "weight", m) for m in others]
    total = sum(ws)
    t = 0.5 if abs(total) < 1e-6 else ws[1] / total
    row_wise = param(config, name, "nuslerp_row_wise", None, False)
    flatten = param(config, name, "nuslerp_flatten", None, True)
    dim = 0 if row_wise else -1
    v0, v1 = f64(x[others[0]]), f64(x[others[1]])
    if base_name:
        b = f64(x[base_name])
        d0 = f64((x[others[0]] - x[base_name]).astype(np.float32))
        d1 = f64((x[others[1]] - x[base_name]).astype(np.float32))
        return b + _nuslerp(t, d0, d1, dim, flatten, margins)
    return _nuslerp(t, v0, v1, dim, flatten, margins)


def ref_multislerp(config, name, x, margins):
    base_name = config.get("base_model")
    others = [m for m in input_order(config) if m != base_name]
    if len(others) == 1:
        return f64(x[others[0]])
    eps = param(config, name, "eps", None, 1e-8)
    tv = np.stack([f64(x[m]) for m in others])
    if base_name:
        tv = np.stack([f64((x[m] - x[base_name]).astype(np.float32)) for m in others])
    flat = tv.reshape(len(others), -1)
    w = np.array([param(config, name, "weight", m) for m in others], dtype=np.float64)
    if param(config, name, "normalize_weights", None, True):
        w = w / w.sum()
    norms = np.linalg.norm(flat, axis=-1, keepdims=True)
    unit = flat / (norms + eps)
    mean = (unit * w[:, None]).sum(0)
    mn = np.linalg.norm(mean)
    margins.add("|weighted mean of unit vectors|", mn)
    mean = mean / mn
    dots = (unit * mean).sum(-1, keepdims=True)
    tang = unit - dots * mean
    tr = (tang * w[:, None]).sum(0)
    tn = np.linalg.norm(tr) + eps
    res = mean * np.cos(tn) + tr * (np.sin(tn) / tn)
    res = res * (norms[:, 0] * w).sum()
    res = res.reshape(tv.shape[1:])
    if base_name:
        res = res + f64(x[base_name])
    return res


def ref_karcher(config, name, x, margins):
    tensors = [f64(x[m]) for m in input_order(config)]
    max_iter = param(config, name, "max_iter", None, 10)
    tol = param(config, name, "tol", None, 1e-5)
    alphas = [1.0 / len(tensors)] * len(tensors)
    norms = [np.linalg.norm(t) for t in tensors]
    units = [t / n for t, n in zip(tensors, norms)]
    mean = sum(a * u for a, u in zip(alphas, units))
    mean = mean / np.linalg.norm(mean)
    iters = 0
    for _ in range(max_iter):
        tangent = np.zeros_like(mean)
        for a, u in zip(alphas, units):
            dot = np.clip(np.dot(mean.reshape(-1), u.reshape(-1)), -1, 1)
            th = math.acos(dot)
            if th < tol:
                continue
            tangent += a * (th / math.sin(th)) * (u - dot * mean)
        tn = np.linalg.norm(tangent)
        iters += 1
        # the stop test ||tangent|| < tol; in float32 a test this close can go
        # either way (one more step of ~tol radians: a ~1e-5 relative change)
        margins.add("karcher: |tangent norm / tol - 1| at stop tests", abs(tn / tol - 1))
        if tn < tol:
            break
        mean = math.cos(tn) * mean + math.sin(tn) * (tangent / tn)
        mean = mean / np.linalg.norm(mean)
    margins.add("karcher: -(iterations) (min = -max iterations)", -iters)
    return sum(a * n for a, n in zip(alphas, norms)) * mean


def ref_model_stock(config, name, x, margins):
    base_name = config["base_model"]
    others = [m for m in input_order(config) if m != base_name]
    w0 = f64(x[base_name])
    ws = [f64(x[m]) for m in others]
    shape = w0.shape
    if param(config, name, "filter_wise", None, False):
        if w0.ndim == 1:
            w0, ws = w0[None], [w[None] for w in ws]
    else:
        w0, ws = w0.reshape(-1), [w.reshape(-1) for w in ws]
    offs = [f64((x[m] - x[base_name]).astype(np.float32)).reshape(w0.shape) for m in others]
    coss = []
    for i, a in enumerate(offs):
        for b in offs[i + 1:]:
            npd = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
            coss.append(np.clip((a * b).sum(-1) / np.maximum(npd, 1e-6), -1, 1))
    cos = np.mean(np.stack(coss), axis=0)[..., None]
    n = len(ws)
    den = 1 + (n - 1) * cos
    margins.add("|1 + (N-1) cos| (singular below 1e-6)", np.abs(den).min())
    singular = np.abs(den) < 1e-6
    t = np.where(singular, 0, n * cos / np.where(singular, 1, den))
    avg = sum(ws) / n
    return (t * avg + (1 - t) * w0).reshape(shape)


def ref_sce(config, name, x, margins):
    base_name = config["base_model"]
    others = [m for m in input_order(config) if m != base_name]
    base = f64(x[base_name])
    tv = np.stack([f64((x[m] - x[base_name]).astype(np.float32)) for m in others])
    topk = param(config, name, "select_topk", None, 1.0)
    if topk < 1:
        var = tv.var(axis=0)
        k = int(np.count_nonzero(var) * topk)
        flat = var.reshape(-1)
        order = np.argsort(-flat, kind="stable")
        if 0 < k < flat.size:
            margins.add("sce: variance top-k boundary gap / value",
                        (flat[order[k - 1]] - flat[order[k]]) / flat[order[k - 1]])
        mask = np.zeros(flat.size)
        mask[order[:k]] = 1
        tv = tv * mask.reshape(var.shape)[None]
    s = tv.sum(0)
    nz = np.any(tv != 0, axis=0)
    if nz.any():
        margins.add("sign vote |sum delta| (min)", np.abs(s[nz]).min())
    majority = np.where(s >= 0, 1.0, -1.0)
    keep = np.sign(tv) == majority
    w = (tv ** 2).reshape(len(others), -1).mean(1)
    w = w / w.sum() if abs(w.sum()) >= 1e-6 else np.ones_like(w) / len(w)
    ew = w.reshape((-1,) + (1,) * (tv.ndim - 1)) * keep
    return base + (tv * ew).sum(0) / np.maximum(ew.sum(0), 1e-6)


def ref_nearswap(config, name, x, margins):
    t = param(config, name, "t")
    base_name = config["base_model"]
    other = [m for m in input_order(config) if m != base_name][0]
    a, b = f64(x[base_name]), f64(x[other])
    w = np.clip(t / np.maximum(np.abs(a - b), 1e-6), 0, 1)
    return w * b + (1 - w) * a


def _softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_arcee_fusion(config, name, x, margins):
    base_name = config["base_model"]
    other = [m for m in input_order(config) if m != base_name][0]
    a, b = f64(x[base_name]), f64(x[other])
    diff = np.abs(b - a)
    p = _softmax(b) + 1e-8
    q = _softmax(a) + 1e-8
    kl = np.sum(p * np.log(p / q), axis=-1, keepdims=True)
    imp = diff * kl
    srt = np.sort(imp.reshape(-1))
    n = srt.size
    q1, med, q3 = (srt[int(np.float32(q) * (n - 1))] for q in (0.25, 0.5, 0.75))
    thr = med + 1.5 * (q3 - q1)
    margins.add("arcee_fusion: min |importance - threshold| / threshold",
                np.abs(imp - thr).min() / abs(thr))
    mask = (imp >= thr).astype(np.float64)
    return a + (b - a) * mask


def ref_ram(config, name, x, margins, plus=False):
    # RAM / RAM+ (tensor-local), from mergekit/merge_methods/ram.py.
    base_name = config["base_model"]
    others = [m for m in input_order(config) if m != base_name]
    eps = param(config, name, "epsilon", None, 1e-5)
    tv = np.stack([f64((x[m] - x[base_name]).astype(np.float32)) for m in others]).reshape(len(others), -1)
    nonzero = np.abs(tv) > eps
    counts = nonzero.sum(0, keepdims=True)
    overlap, unique = counts > 1, counts == 1
    lam = np.ones((len(others), 1))
    if plus:
        r = param(config, name, "r", None, 0.1)
        alpha = param(config, name, "alpha", None, 0.2)
        shared_counts = (nonzero & overlap).sum(1)
        unique_counts = (nonzero & unique).sum(1)
        rho = shared_counts / np.maximum(unique_counts, eps)
        lam = (1 + r * np.clip(rho, 0, alpha))[:, None]
    tvz = tv * nonzero
    merged = (tvz * unique * lam + tvz * overlap / np.maximum(counts, 1)).sum(0)
    return f64(x[base_name]) + merged.reshape(x[base_name].shape)


def ref_passthrough(config, name, x, margins):
    m = input_order(config)[0]
    s = param(config, name, "scale", m, None)
    return f64(x[m]) if s is None else f64(x[m]) * s


REFERENCE = {
    "linear": ref_linear,
    "task_arithmetic": ref_gta,
    "ties": ref_gta,
    "breadcrumbs": ref_gta,
    "breadcrumbs_ties": ref_gta,
    "slerp": ref_slerp,
    "nuslerp": ref_nuslerp,
    "multislerp": ref_multislerp,
    "karcher": ref_karcher,
    "model_stock": ref_model_stock,
    "sce": ref_sce,
    "nearswap": ref_nearswap,
    "arcee_fusion": ref_arcee_fusion,
    "passthrough": ref_passthrough,
    "ram": ref_ram,
    "ramplus_tl": lambda config, name, x, margins: ref_ram(config, name, x, margins, plus=True),
}


# --------------------------------------------------------------------------


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def sig(v, digits=6):
    return float(f"{float(v):.{digits}g}")


def compact_json(manifest):
    """Indented JSON, but each per-tensor table on one line (keeps the file small)."""
    inline = {}

    def mark(obj):
        key = f"@@{len(inline)}@@"
        inline[key] = json.dumps(obj, separators=(",", ":"))
        return key

    m = copy.deepcopy(manifest)
    m["tensors"] = [mark(t) for t in m["tensors"]]
    for c in m["cases"]:
        c["max_abs"] = mark(c["max_abs"])
    text = json.dumps(m, indent=1)
    for key, value in inline.items():
        text = text.replace(json.dumps(key), value)
    return text + "\n"


def versions():
    import importlib.metadata as md
    out = {"python": sys.version.split()[0]}
    for pkg in ("mergekit", "torch", "safetensors", "numpy", "transformers", "pyyaml", "pydantic"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def registered_methods():
    from mergekit import merge_methods
    return sorted(m.spec.name for m in merge_methods.registered_methods())


def main():
    vers = versions()
    print("versions:", json.dumps(vers))
    methods = registered_methods()
    print("mergekit registers:", ", ".join(methods))

    models = make_inputs()
    write_inputs(models)
    check_inputs_load_in_transformers()
    x = {m: load_file(os.path.join(INPUTS, m, "model.safetensors")) for m in MODEL_NAMES}
    names = [n for n, _, _ in LAYOUT]

    if os.path.isdir(CASES_DIR):
        shutil.rmtree(CASES_DIR)
    os.makedirs(CASES_DIR)

    manifest_cases, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="mergefix-") as work:
        for case_name, config in CASES:
            method = config["merge_method"]
            if method not in methods:
                skipped.append({"name": case_name, "merge_method": method,
                                "reason": "not registered in this mergekit"})
                print(f"SKIP {case_name}: {method} not registered")
                continue
            out_file = run_mergekit(config, work, case_name)
            merged = load_file(out_file)
            assert sorted(merged) == sorted(names), (case_name, sorted(set(merged) ^ set(names)))
            for n in names:
                assert merged[n].dtype == np.float32 and merged[n].shape == x["base"][n].shape, (case_name, n)
                assert np.all(np.isfinite(merged[n])), (case_name, n)

            d = os.path.join(CASES_DIR, case_name)
            os.makedirs(d)
            shutil.copyfile(out_file, os.path.join(d, "model.safetensors"))
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(config, f, indent=2)
                f.write("\n")

            margins = Margins()
            max_diff, max_rel = 0.0, 0.0
            noisy = method == "arcee_fusion" and config["dtype"] == "float32"
            flips = {}
            for n in names:
                ref = REFERENCE[method](config, n, {m: x[m][n] for m in MODEL_NAMES}, margins)
                diff = np.abs(ref - f64(merged[n]))
                if noisy:
                    # elements are either base or m1: a disagreement is a mask flip
                    k = int((diff > 1e-6).sum())
                    if k:
                        flips[n] = k
                    diff = np.where(diff > 1e-6, 0.0, diff)
                max_diff = max(max_diff, float(diff.max()))
                max_rel = max(max_rel, float((diff / np.maximum(np.abs(ref), 1e-3)).max()))
            print(f"{case_name:26s} {method:17s} max|mergekit - numpy f64| = {max_diff:.3g}"
                  + (f" (excluding {sum(flips.values())} float32 mask flips)" if flips else ""))
            assert max_diff < 1e-5, f"{case_name}: reference disagrees with mergekit ({max_diff})"
            assert sum(flips.values()) <= 20, flips

            manifest_cases.append({
                "name": case_name,
                "merge_method": method,
                "config": config,
                "output": f"cases/{case_name}/model.safetensors",
                "sha256": sha256(os.path.join(d, "model.safetensors")),
                "numpy_f64_check": {
                    "max_abs_diff": sig(max_diff, 3),
                    "max_rel_diff": sig(max_rel, 3),
                    "min_decision_margins": {k: sig(v, 3) for k, v in sorted(margins.m.items())},
                    **({"float32_mask_flips_vs_float64": flips} if noisy else {}),
                },
                "max_abs": {n: sig(np.abs(merged[n]).max()) for n in names},
            })

    for m in RANDOM_METHODS:
        skipped.append({"name": m, "merge_method": m,
                        "reason": "random (torch.bernoulli on torch's global generator); "
                                  "not reproducible outside torch, use statistical tests"})

    manifest = {
        "generator": "scripts/reference/make_merge_fixtures.py",
        "versions": vers,
        "mergekit_invocation": "python -m mergekit.scripts.run_yaml CONFIG OUT --no-copy-tokenizer "
                               "--device cpu --num-threads 1 --random-seed 0 --quiet "
                               "(HF_HUB_OFFLINE=1, absolute model paths)",
        "inputs": {
            m: {"path": f"inputs/{m}/model.safetensors",
                "sha256": sha256(os.path.join(INPUTS, m, "model.safetensors"))}
            for m in MODEL_NAMES
        },
        "tensors": [{"name": n, "shape": list(s), "layer": l} for n, s, l in LAYOUT],
        "input_structure": {
            "anti_correlated_m2": sorted(ANTI),
            "m1_equals_1.05_x_base": COLINEAR_M1,
            "m3_equals_base": ZERO_DELTA_M3,
        },
        "cases": manifest_cases,
        "not_fixtured": skipped,
    }
    with open(os.path.join(FIX, "manifest.json"), "w") as f:
        f.write(compact_json(manifest))

    # Sanity: reload one output and show a few values next to the inputs.
    out = load_file(os.path.join(CASES_DIR, "task_arithmetic", "model.safetensors"))
    n = "transformer.h.0.mlp.c_fc.weight"
    b, m1, m2 = x["base"][n][0, :3], x["m1"][n][0, :3], x["m2"][n][0, :3]
    print("task_arithmetic", n, "[0,:3]:", out[n][0, :3].tolist())
    print("  base + 0.8*((m1-base) + 0.5*(m2-base)) =",
          (b + 0.8 * ((m1 - b) + 0.5 * (m2 - b))).tolist())

    total = 0
    for dp, _, fs in os.walk(FIX):
        total += sum(os.path.getsize(os.path.join(dp, f)) for f in fs)
    print(f"{len(manifest_cases)} cases; fixtures folder {total} bytes ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
