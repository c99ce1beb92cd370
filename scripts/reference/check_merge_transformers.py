#!/usr/bin/env python3
"""Loads a `mergeflow merge` output with transformers and generates (issue 15).

  .build/release/mergeflow merge Tests/MergeTests/Fixtures/checkpoints/cases/llama_ties_bf16/config.json /tmp/mf-ties --direct --out-shard-size 50K
  /tmp/ref/bin/python scripts/reference/check_merge_transformers.py /tmp/mf-ties [Tests/MergeTests/Fixtures/checkpoints/cases/llama_ties_bf16/expected]

Loads OUT with AutoModelForCausalLM.from_pretrained and AutoTokenizer.from_pretrained
(no missing or unexpected weights allowed), greedily generates 8 tokens from a prompt and
prints them. Given mergekit's output of the same config as a second folder, it loads that
too and prints the largest difference between the two models' logits on the prompt.
"""
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def load(path):
    model, info = AutoModelForCausalLM.from_pretrained(path, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if bad:
        raise SystemExit(f"{path}: {bad}")
    return model.eval()


def main():
    out = sys.argv[1]
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = load(out)
    prompt = "w1 w2 w3"
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    with torch.no_grad():
        generated = model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        logits = model(ids).logits
    print(f"{out}: {type(model).__name__}, dtype {model.dtype}, {sum(p.numel() for p in model.parameters())} parameters")
    print(f"  prompt {prompt!r} -> {tokenizer.decode(generated[0][ids.shape[1]:])!r}")
    if len(sys.argv) > 2:
        reference = load(sys.argv[2])
        with torch.no_grad():
            theirs = reference(ids).logits
        print(f"  vs {sys.argv[2]}: max |logit difference| {(logits.float() - theirs.float()).abs().max().item():.3g}, "
              f"same generation: {torch.equal(generated, reference.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id))}")


if __name__ == "__main__":
    main()
