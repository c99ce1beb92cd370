#!/usr/bin/env python3
"""Reference fixtures for merging real Hugging Face checkpoints (issue 15).

Every merged output here is written by the real mergekit 0.1.5 (`mergekit-yaml`,
CPU), never by mergeflow, so CI (no Python) can check `mergeflow merge --direct`
bit for bit against it on the shapes and files users merge.

Writes Tests/MergeTests/Fixtures/checkpoints/:

  inputs/<family>-{base,m1,m2}/   tiny models made by transformers
      (`LlamaConfig` / `Qwen2Config`: 3 layers, hidden 32, 4 heads, 2 KV heads,
      vocab 96, untied `lm_head`), saved in bfloat16 by `save_pretrained` with a
      small `max_shard_size`, so each input is sharded
      (model-0000i-of-0000N.safetensors + model.safetensors.index.json). The
      base also has tokenizer files (a word-level tokenizer made with
      `tokenizers`, saved by `PreTrainedTokenizerFast.save_pretrained`) and
      generation_config.json. m_i = base + a small task vector (N(0, 0.004),
      seed i); m2's task vector on every q_proj is -0.8 x m1's (+ noise), so TIES's
      sign election matters.
  cases/<name>/config.json        the mergekit config as JSON, model paths
      relative to inputs/ (the Swift test resolves them against the copy);
  cases/<name>/args.json          the extra mergekit-yaml flags (--out-shard-size);
  cases/<name>/expected/          mergekit's output: the shards, the index (if
      sharded), config.json and the tokenizer files it copied.

Run from the repo root with the reference venv (torch, transformers, mergekit 0.1.5):

  /tmp/ref/bin/python scripts/reference/make_checkpoint_fixtures.py

Running it twice gives the same tensors (inputs are seeded; the DARE case is
kept only for its statistics, see the Swift test).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, PreTrainedTokenizerFast
from tokenizers import Tokenizer, models, pre_tokenizers

import mergekit
import safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "MergeTests", "Fixtures", "checkpoints")
MERGEKIT = os.path.join(os.path.dirname(sys.executable), "mergekit-yaml")


def tiny_tokenizer(path):
    words = ["<unk>", "<s>", "</s>", "<pad>"] + [f"w{i}" for i in range(92)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(path)


def make_family(family):
    common = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False,
                  bos_token_id=1, eos_token_id=2, pad_token_id=3)
    if family == "llama":
        config, cls = LlamaConfig(**common), LlamaForCausalLM
    else:
        config, cls = Qwen2Config(**common), Qwen2ForCausalLM
    torch.manual_seed(0 if family == "llama" else 10)
    base = cls(config).to(torch.bfloat16)
    state = {k: v.clone() for k, v in base.state_dict().items()}
    paths = {}
    for i, name in enumerate(["base", "m1", "m2"]):
        model = cls(config).to(torch.bfloat16)
        sd = {}
        g = torch.Generator().manual_seed(100 + i)
        first = {}
        for k, v in state.items():
            if i == 0:
                sd[k] = v
                continue
            d = torch.randn(v.shape, generator=g) * 0.004
            if i == 1:
                first[k] = d
            if i == 2 and "q_proj" in k:
                d = -0.8 * torch.randn(v.shape, generator=torch.Generator().manual_seed(100 + 1)) * 0.004 + 0.1 * d
            sd[k] = (v.float() + d).to(torch.bfloat16)
        model.load_state_dict(sd)
        path = os.path.join(OUT, "inputs", f"{family}-{name}")
        model.save_pretrained(path, max_shard_size="60KB")
        if name == "base":
            tiny_tokenizer(path)
        paths[name] = path
    return paths


CASES = [
    # name, family, config (model names resolved later), --out-shard-size
    ("llama_linear_bf16", "llama", {"merge_method": "linear", "base_model": "base", "models": [
        {"model": "base", "parameters": {"weight": 0.5}}, {"model": "m1", "parameters": {"weight": 0.3}},
        {"model": "m2", "parameters": {"weight": 0.2}}], "dtype": "bfloat16"}, "50K"),
    ("llama_linear_fp16", "llama", {"merge_method": "linear", "models": [
        {"model": "base", "parameters": {"weight": 0.6}}, {"model": "m1", "parameters": {"weight": 0.4}}],
        "dtype": "float32", "out_dtype": "float16"}, "5B"),
    ("llama_ties_bf16", "llama", {"merge_method": "ties", "base_model": "base", "models": [
        {"model": "m1", "parameters": {"weight": 0.6, "density": 0.5}},
        {"model": "m2", "parameters": {"weight": 0.4, "density": 0.5}}], "dtype": "float32", "out_dtype": "bfloat16"}, "50K"),
    ("llama_slerp_bf16", "llama", {"merge_method": "slerp", "base_model": "base", "models": [{"model": "m1"}],
        "parameters": {"t": 0.3}, "dtype": "bfloat16"}, "50K"),
    ("llama_gradient_bf16", "llama", {"merge_method": "linear", "models": [
        {"model": "m1", "parameters": {"weight": [0, 0.5, 1]}}, {"model": "m2", "parameters": {"weight": [1, 0.5, 0]}}],
        "parameters": {"normalize": True}, "dtype": "bfloat16"}, "5B"),
    ("llama_dare_ties_bf16", "llama", {"merge_method": "dare_ties", "base_model": "base", "models": [
        {"model": "m1", "parameters": {"weight": 0.5, "density": 0.5}},
        {"model": "m2", "parameters": {"weight": 0.5, "density": 0.5}}], "dtype": "float32", "out_dtype": "bfloat16"}, "5B"),
    ("qwen2_linear_bf16", "qwen2", {"merge_method": "linear", "base_model": "base", "models": [
        {"model": "base", "parameters": {"weight": 1.0}}, {"model": "m1", "parameters": {"weight": 1.0}},
        {"model": "m2", "parameters": {"weight": 1.0}}], "dtype": "bfloat16"}, "30K"),
    ("qwen2_ties_fp16", "qwen2", {"merge_method": "ties", "base_model": "base", "models": [
        {"model": "m1", "parameters": {"weight": 1.0, "density": 0.3}},
        {"model": "m2", "parameters": {"weight": 1.0, "density": 0.7}}], "dtype": "float32", "out_dtype": "float16"}, "50K"),
    # A frankenmerge: layers 0-1 of the base, then layers 1-2 of m1 (4 layers out).
    ("llama_passthrough_slices_bf16", "llama", {"merge_method": "passthrough", "slices": [
        {"sources": [{"model": "base", "layer_range": [0, 2]}]},
        {"sources": [{"model": "m1", "layer_range": [1, 3]}]}], "dtype": "bfloat16"}, "50K"),
    # Slices for a method that mixes: layers 1-2 of base and m2 mixed 0.7/0.3 (gradient per
    # slice), then layer 0 of m1 passed through as a mix of one.
    ("qwen2_linear_slices_bf16", "qwen2", {"merge_method": "linear", "base_model": "base", "slices": [
        {"sources": [{"model": "base", "layer_range": [1, 3], "parameters": {"weight": [0.7, 0.2]}},
                     {"model": "m2", "layer_range": [1, 3], "parameters": {"weight": 0.3}}]},
        {"sources": [{"model": "m1", "layer_range": [0, 1], "parameters": {"weight": 1.0}}]}], "dtype": "bfloat16"}, "5B"),
    ("qwen2_slerp_fp16", "qwen2", {"merge_method": "slerp", "base_model": "base", "models": [{"model": "m2"}],
        "parameters": {"t": [0, 0.5, 1]}, "dtype": "float32", "out_dtype": "float16"}, "5B"),
]


def resolve(config, family, absolute):
    def p(name):
        return os.path.join(OUT, "inputs", f"{family}-{name}") if absolute else f"../../inputs/{family}-{name}"
    c = json.loads(json.dumps(config))
    if "base_model" in c:
        c["base_model"] = p(c["base_model"])
    for m in c.get("models", []):
        m["model"] = p(m["model"])
    for sl in c.get("slices", []):
        for src in sl["sources"]:
            src["model"] = p(src["model"])
    return c


def main():
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, safetensors {safetensors.__version__}, "
          f"mergekit {getattr(mergekit, '__version__', '0.1.5')}, python {sys.version.split()[0]}")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for family in ["llama", "qwen2"]:
        make_family(family)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    for name, family, config, shard in CASES:
        case = os.path.join(OUT, "cases", name)
        os.makedirs(case)
        with open(os.path.join(case, "config.json"), "w") as f:
            json.dump(resolve(config, family, False), f, indent=2)
            f.write("\n")
        with open(os.path.join(case, "args.json"), "w") as f:
            json.dump({"out_shard_size": shard}, f)
            f.write("\n")
        with tempfile.TemporaryDirectory() as tmp:
            yml = os.path.join(tmp, "config.yml")
            with open(yml, "w") as f:
                json.dump(resolve(config, family, True), f)
            out = os.path.join(tmp, "out")
            subprocess.run([MERGEKIT, yml, out, "--out-shard-size", shard, "--device", "cpu", "--random-seed", "0",
                            "--quiet", "--no-write-model-card"], check=True, env=env)
            expected = os.path.join(case, "expected")
            shutil.copytree(out, expected)
        print(name, sorted(os.listdir(expected)))


if __name__ == "__main__":
    main()
