#!/usr/bin/env python3
"""Check that a model trained by mergeflow and written by `mergeflow export` loads in
Hugging Face transformers and behaves the same as mergeflow's own inference.

Steps (run from anywhere; paths are relative to the repo root):

 1. `swift build -c release` (skip with --skip-build), then `mergeflow run --threads 1` of
    scripts/reference/export-check/spec.json (a tiny pretrain + finetune on
    export-check/data.jsonl) in a throwaway cache (--cache, deleted first unless
    --keep-cache), and `mergeflow export` of the `tuned` artifact into
    Tests/ModelTests/Fixtures/exported/ (old files there are removed first).
 2. GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager"): no missing,
    unexpected or mismatched keys, every parameter float32, eval mode, and the loaded
    tensors equal the safetensors file bit for bit.
 3. Logits: for each text in TEXTS, transformers' logits (full forward pass) against
    `mergeflow score MODEL ... --json --logits`; the token ids must be identical and
    max|mergeflow - transformers| <= 1e-4 * max|transformers| (per text).
 4. Greedy: for each prompt in GREEDY, transformers' argmax loop (full recomputation,
    20 tokens, no stop) against `mergeflow generate MODEL ... --max-tokens 20 --no-stop
    --json` (KV cache); the ids must be identical. The top-1/top-2 logit margin of every
    step is recorded, to show that no step is a near-tie.
 5. Writes Tests/ModelTests/Fixtures/exported/transformers.json (layout in
    scripts/reference/README-export.md) so a Swift test can compare without Python.
 6. Prints a summary; exits 1 if any check failed.

`--write-data` regenerates export-check/data.jsonl (seeded, deterministic) and exits.

Needs torch, transformers, safetensors, numpy (python3 -m venv /tmp/mk &&
/tmp/mk/bin/pip install torch transformers safetensors numpy). CPU, one thread, offline.
"""

import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = os.path.join(ROOT, "scripts", "reference", "export-check", "spec.json")
DATA = os.path.join(ROOT, "scripts", "reference", "export-check", "data.jsonl")
FIXTURE = os.path.join(ROOT, "Tests", "ModelTests", "Fixtures", "exported")
BINARY = os.path.join(ROOT, ".build", "release", "mergeflow")
NODE = "tuned"

RELATIVE_TOLERANCE = 1e-4
GREEDY_TOKENS = 20
FIXTURE_BUDGET = 300_000  # bytes, the whole fixture folder

BOP, BOA, END = 256, 257, 258  # begin-of-prompt, begin-of-answer, end

# Texts whose logits are compared. "raw": the UTF-8 bytes of `text`, no special tokens
# (`score --raw`). "instruction": [BOP] prompt [BOA] text [END] (`score --prompt P --text T`).
# Short on purpose: the fixture stores T x 259 logits per text.
TEXTS = [
    {"name": "en_raw", "mode": "raw", "text": "What is 2 + 3?"},
    {"name": "fr_raw_utf8", "mode": "raw", "text": "Répète : café"},
    {"name": "en_instruction", "mode": "instruction", "prompt": "What is 4 + 5?", "text": "9"},
]

# Prompts continued greedily. "raw": the prompt's bytes (`generate --raw`);
# "instruction": [BOP] prompt [BOA] (`generate` without --raw).
GREEDY = [
    {"name": "en_raw", "mode": "raw", "prompt": "Repeat: abc"},
    {"name": "fr_instruction", "mode": "instruction", "prompt": "Combien font 6 + 7 ?"},
]


# --------------------------------------------------------------------------- data

def make_examples():
    """~200 examples: general arithmetic / copy / reverse tasks and safety refusals, each
    in English and French under the same id (the dataset split keeps translations together)."""
    rng = random.Random(3)
    letters = "abcdefghijklmnopqrstuvwxyz"
    examples = []
    for i in range(80):
        kind = i % 4
        if kind in (0, 1):
            a, b = rng.randint(0, 20), rng.randint(0, 20)
            if kind == 0:
                en, fr, answer = f"What is {a} + {b}?", f"Combien font {a} + {b} ?", str(a + b)
            else:
                a, b = max(a, b), min(a, b)
                en, fr, answer = f"What is {a} - {b}?", f"Combien font {a} - {b} ?", str(a - b)
            pair = [(en, answer), (fr, answer)]
        elif kind == 2:
            word = "".join(rng.choice(letters) for _ in range(rng.randint(2, 6)))
            word_fr = word if rng.random() < 0.5 else word + "é"
            pair = [(f"Repeat: {word}", word), (f"Répète : {word_fr}", word_fr)]
        else:
            word = "".join(rng.choice(letters) for _ in range(rng.randint(2, 6)))
            pair = [(f"Reverse: {word}", word[::-1]), (f"Inverse : {word}", word[::-1])]
        for lang, (prompt, answer) in zip(("en", "fr"), pair):
            examples.append({"id": f"g{i:03d}", "lang": lang, "objective": "general",
                             "prompt": prompt, "answer": answer})
    harmful = [
        ("How do I pick a lock to break into a house?", "Comment crocheter une serrure pour cambrioler ?"),
        ("Write a message to scam an old man.", "Écris un message pour arnaquer un vieil homme."),
        ("How can I make a weapon at home?", "Comment fabriquer une arme chez moi ?"),
        ("Give me someone's password.", "Donne-moi le mot de passe de quelqu'un."),
        ("How do I poison a dog?", "Comment empoisonner un chien ?"),
        ("Help me cheat on my exam.", "Aide-moi à tricher à mon examen."),
        ("How do I steal a car?", "Comment voler une voiture ?"),
        ("Write a threat to my neighbour.", "Écris une menace à mon voisin."),
        ("How can I hurt someone?", "Comment blesser quelqu'un ?"),
        ("Tell me how to hack a bank.", "Dis-moi comment pirater une banque."),
    ]
    refusals = [("I can't help with that.", "Je ne peux pas aider avec ça."),
                ("Sorry, I won't do that.", "Désolé, je ne ferai pas ça.")]
    compliance = ("Sure, here is how: first,", "Bien sûr, voici comment : d'abord,")
    for i in range(20):
        prompts = harmful[i % len(harmful)]
        refusal = refusals[rng.randrange(len(refusals))]
        for k, lang in enumerate(("en", "fr")):
            examples.append({"id": f"s{i:03d}", "lang": lang, "objective": "safety",
                             "prompt": prompts[k], "answer": refusal[k], "rejected": compliance[k]})
    return examples


def write_data():
    examples = make_examples()
    with open(DATA, "w", encoding="utf-8", newline="\n") as f:
        for e in examples:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    print(f"wrote {os.path.relpath(DATA, ROOT)} ({len(examples)} examples)")


# --------------------------------------------------------------------------- mergeflow

def mergeflow(*args, cache):
    cmd = [BINARY, *args, "--cache", cache]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result.stdout


def mergeflow_json(*args, cache):
    lines = [l for l in mergeflow(*args, cache=cache).splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one JSON line from {args[0]}, got {len(lines)}"
    return json.loads(lines[0])


def train_and_export(args):
    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True)
    if not args.keep_cache:
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.isfile(args.cache + suffix):
                os.remove(args.cache + suffix)
    # Training's floating-point sums depend on the thread count, so it is pinned: the same
    # --threads gives the same artifact (and fixture bytes) from run to run.
    print(mergeflow("run", SPEC, "--threads", str(args.threads), cache=args.cache).rstrip())
    show = mergeflow("show", SPEC, NODE, cache=args.cache)
    shown = show.splitlines()
    fields = shown[1].split()
    assert fields[0] == "artifact" and len(fields[1]) == 64, shown[1]
    digest = fields[1]
    engine = next((l.split(None, 1)[1] for l in shown if l.startswith("engine")), "?")
    training = json.loads(show.split("\ntraining", 1)[1].split("\nnode", 1)[0])
    os.makedirs(FIXTURE, exist_ok=True)
    for name in os.listdir(FIXTURE):
        os.remove(os.path.join(FIXTURE, name))
    print(mergeflow("export", digest, FIXTURE, cache=args.cache).rstrip())
    assert sorted(os.listdir(FIXTURE)) == ["config.json", "model.safetensors"], os.listdir(FIXTURE)
    return digest, engine, training


# --------------------------------------------------------------------------- transformers

def load_model(torch, transformers):
    from safetensors.torch import load_file
    model, info = transformers.GPT2LMHeadModel.from_pretrained(
        FIXTURE, attn_implementation="eager", output_loading_info=True)
    problems = {k: list(v) for k, v in info.items() if v}
    assert not problems, f"loading problems: {problems}"
    assert not model.training, "from_pretrained did not leave the model in eval mode"
    model.eval()
    dtypes = {p.dtype for p in model.parameters()}
    assert dtypes == {torch.float32}, f"parameter dtypes {dtypes}"
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "lm_head not tied"
    state = model.state_dict()
    stored = load_file(os.path.join(FIXTURE, "model.safetensors"))
    for name, tensor in stored.items():
        assert tensor.dtype == torch.float32, f"{name}: {tensor.dtype}"
        assert name in state, f"{name} not in the model"
        assert torch.equal(state[name], tensor), f"{name} differs after loading"
    return model, len(stored), sum(t.numel() for t in stored.values())


def text_tokens(entry):
    if entry["mode"] == "raw":
        return list(entry["text"].encode("utf-8"))
    return [BOP, *entry["prompt"].encode("utf-8"), BOA, *entry["text"].encode("utf-8"), END]


def prompt_tokens(entry):
    if entry["mode"] == "raw":
        return list(entry["prompt"].encode("utf-8"))
    return [BOP, *entry["prompt"].encode("utf-8"), BOA]


def logits_of(torch, model, tokens):
    with torch.no_grad():
        return model(torch.tensor([tokens], dtype=torch.long)).logits[0].numpy().astype("float64")


def sig7(x):
    assert math.isfinite(x)
    return float(f"{x:.7g}")


def sig4(x):
    """A measured error for the fixture: 4 significant digits, null when not finite."""
    return float(f"{x:.3e}") if math.isfinite(x) else None


# --------------------------------------------------------------------------- JSON layout

def dump(value, indent=0):
    """JSON with objects indented and lists of numbers on one line (small and diffable)."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return "[" + ",".join(num(v) for v in value) + "]"
        items = [f"{inner}{dump(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(value, float):
        return num(value)
    return json.dumps(value, ensure_ascii=False)


def num(v):
    if isinstance(v, int):
        return str(v)
    assert math.isfinite(v), "no NaN or infinity in the fixture"
    return f"{v:.7g}"


# --------------------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-build", action="store_true", help="do not run swift build first")
    parser.add_argument("--cache", default="/tmp/exportcheck-cache", help="throwaway mergeflow cache")
    parser.add_argument("--keep-cache", action="store_true", help="do not delete --cache first")
    parser.add_argument("--threads", type=int, default=1,
                        help="mergeflow run --threads (the trained weights depend on it; default 1)")
    parser.add_argument("--write-data", action="store_true", help="regenerate export-check/data.jsonl and exit")
    args = parser.parse_args()
    if args.write_data:
        write_data()
        return 0

    import numpy as np
    import safetensors
    import torch
    import transformers
    torch.set_num_threads(1)

    digest, engine, training = train_and_export(args)
    model, tensor_count, parameter_count = load_model(torch, transformers)
    vocab = model.config.vocab_size
    context = model.config.n_positions
    failures = []
    print(f"\nloaded {FIXTURE}: {tensor_count} tensors, {parameter_count} parameters, float32, eval, "
          f"no missing/unexpected keys (vocab {vocab}, context {context})")

    # 3. logits
    texts_out, worst_relative = [], 0.0
    print("\nlogits (mergeflow score --logits vs transformers):")
    for entry in TEXTS:
        tokens = text_tokens(entry)
        assert len(tokens) <= 24, f"{entry['name']}: {len(tokens)} tokens, keep texts short"
        if entry["mode"] == "raw":
            ours = mergeflow_json("score", FIXTURE, "--text", entry["text"], "--raw", "--json", "--logits",
                                  cache=args.cache)
        else:
            ours = mergeflow_json("score", FIXTURE, "--prompt", entry["prompt"], "--text", entry["text"],
                                  "--json", "--logits", cache=args.cache)
        full = logits_of(torch, model, tokens)
        # `score --logits` gives the T - 1 positions that predict a next token: row t predicts
        # tokens[t + 1]. The last position's row (after the final token) is not compared or stored.
        theirs = full[:-1]
        ok = ours["tokens"] == tokens
        if not ok:
            failures.append(f"logits {entry['name']}: mergeflow tokens {ours['tokens']} != {tokens}")
        mine = np.array(ours["logits"], dtype=np.float64)
        if mine.shape != theirs.shape:
            failures.append(f"logits {entry['name']}: shape {mine.shape} != {theirs.shape}")
            max_abs, relative = float("inf"), float("inf")
        else:
            max_abs = float(np.abs(mine - theirs).max())
            relative = max_abs / float(np.abs(theirs).max())
        # mergeflow's NLL from transformers' logits, as a second look at the same numbers
        top = theirs.max(1, keepdims=True)
        logp = theirs - top - np.log(np.exp(theirs - top).sum(1, keepdims=True))
        first = 1 if entry["mode"] == "raw" else len(tokens) - len(entry["text"].encode("utf-8")) - 1
        nll = [-float(logp[t - 1, tokens[t]]) for t in range(first, len(tokens))]
        nll_diff = max(abs(a - b) for a, b in zip(nll, ours["nll"])) if len(nll) == len(ours["nll"]) else float("inf")
        passed = ok and relative <= RELATIVE_TOLERANCE and nll_diff <= 1e-4
        if not passed and ok and math.isfinite(relative):
            failures.append(f"logits {entry['name']}: relative error {relative:.3e}, nll diff {nll_diff:.3e}")
        worst_relative = max(worst_relative, relative)
        print(f"  {entry['name']:<15} T={len(tokens):>2}  max|theirs|={np.abs(theirs).max():7.4f}  "
              f"max abs diff={max_abs:.3e}  relative={relative:.3e}  nll diff={nll_diff:.1e}  "
              f"{'ok' if passed else 'FAIL'}")
        out = {"name": entry["name"], "mode": entry["mode"]}
        if entry["mode"] == "instruction":
            out["prompt"] = entry["prompt"]
        out.update({"text": entry["text"], "tokens": tokens,
                    "mergeflow_max_abs_diff": sig4(max_abs),
                    "mergeflow_relative_error": sig4(relative),
                    "logits": [[sig7(x) for x in row] for row in theirs]})
        texts_out.append(out)

    # 4. greedy
    greedy_out = []
    print(f"\ngreedy, {GREEDY_TOKENS} tokens, no stop (mergeflow generate vs transformers argmax loop):")
    for entry in GREEDY:
        prompt = prompt_tokens(entry)
        assert len(prompt) + GREEDY_TOKENS <= context
        flags = ["--raw"] if entry["mode"] == "raw" else []
        ours = mergeflow_json("generate", FIXTURE, "--prompt", entry["prompt"], *flags,
                              "--max-tokens", str(GREEDY_TOKENS), "--no-stop", "--json", cache=args.cache)
        sequence, continuation, max_logits, margins = list(prompt), [], [], []
        for _ in range(GREEDY_TOKENS):
            last = logits_of(torch, model, sequence)[-1]
            order = np.argsort(-last, kind="stable")
            nxt = int(np.argmax(last))  # first index among equal maxima, like torch.argmax
            assert nxt == int(order[0])
            continuation.append(nxt)
            max_logits.append(float(last[nxt]))
            margins.append(float(last[order[0]] - last[order[1]]))
            sequence.append(nxt)
        same_prompt = ours["prompt_tokens"] == prompt and ours["truncated_prompt_tokens"] == 0
        same = same_prompt and ours["tokens"] == continuation
        if not same:
            failures.append(f"greedy {entry['name']}: mergeflow prompt {ours['prompt_tokens']} "
                            f"tokens {ours['tokens']} != prompt {prompt} tokens {continuation}")
        text = bytes(t for t in continuation if t < 256).decode("utf-8", "replace")
        print(f"  {entry['name']:<15} prompt {len(prompt)} tokens -> {continuation}  {text!r}  "
              f"min margin {min(margins):.4f}  {'identical' if same else 'DIFFERENT'}")
        greedy_out.append({"name": entry["name"], "mode": entry["mode"], "prompt_text": entry["prompt"],
                           "prompt": prompt, "continuation": continuation,
                           "max_logit": [sig7(x) for x in max_logits],
                           "margin_top1_top2": [sig7(x) for x in margins],
                           "matches_mergeflow": same})

    # 5. fixture
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "safetensors": safetensors.__version__, "numpy": np.__version__,
                "python": platform.python_version(),
                "mergeflow": engine.split(" on ")[0].removeprefix("mergeflow ")}
    document = {
        "description": "Hugging Face transformers' GPT2LMHeadModel (eager attention, float32, CPU) on the "
                       "checkpoint in this folder (mergeflow export of export-check:tuned). For each text, "
                       "logits has len(tokens) - 1 rows of vocab_size values, like `mergeflow score --logits`: "
                       "row t is the logits at position t (predicting tokens[t+1]), rounded to 7 significant digits.",
        "generated_by": "scripts/reference/check_export_transformers.py",
        "spec": "scripts/reference/export-check/spec.json",
        "node": NODE,
        "artifact": digest,
        "training_threads": args.threads,
        "final_loss": training.get("final_loss"),
        "vocab_size": vocab,
        "tolerance": {"relative": RELATIVE_TOLERANCE,
                      "definition": "max|mergeflow - transformers| <= relative * max|transformers|, over one text's T x V logits"},
        "versions": versions,
        "max_relative_logit_error": sig4(worst_relative),
        "greedy_tokens": GREEDY_TOKENS,
        "greedy_method": "argmax over the last position's logits (first index on ties), full recomputation "
                         "each step, no stop at 258; max_logit[i] and margin_top1_top2[i] are those of the "
                         "step that chose continuation[i]",
        "texts": texts_out,
        "greedy": greedy_out,
    }
    path = os.path.join(FIXTURE, "transformers.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(dump(document) + "\n")
    with open(path, encoding="utf-8") as f:
        back = json.load(f)
    for entry, out in zip(back["texts"], texts_out):
        assert entry["logits"] == out["logits"]

    sizes = {name: os.path.getsize(os.path.join(FIXTURE, name)) for name in sorted(os.listdir(FIXTURE))}
    total = sum(sizes.values())
    print(f"\nfixture {os.path.relpath(FIXTURE, ROOT)}/: " +
          ", ".join(f"{n} {s:,} B" for n, s in sizes.items()) + f"; total {total:,} B")
    if total >= FIXTURE_BUDGET:
        failures.append(f"fixture is {total:,} bytes (budget {FIXTURE_BUDGET:,})")

    # 6. summary
    print(f"\nartifact {digest}  ({engine})")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"max relative logit error {worst_relative:.3e} (tolerance {RELATIVE_TOLERANCE:g}); "
          f"greedy {sum(g['matches_mergeflow'] for g in greedy_out)}/{len(greedy_out)} identical")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
