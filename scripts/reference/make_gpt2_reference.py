#!/usr/bin/env python3
"""Make the PyTorch reference fixtures for mergeflow's hand-written GPT-2 (ModelTests).

Like llm.c's test_gpt2 (a dump of inputs, logits, loss and every gradient from
PyTorch), but richer: a masked (SFT-style) loss, three AdamW steps with a
learning-rate schedule, selective weight decay and global-norm clipping,
per-tensor tolerances measured against a float64 run, a float64
finite-difference check of autograd, and a greedy-generation trace for a later
KV-cache implementation. Everything comes from Hugging Face transformers'
`GPT2LMHeadModel` (eager attention) built from a config in code: no hub access,
no tokenizer.

What it writes (relative to the repo root, into Tests/ModelTests/Fixtures/):

  tiny/config.json          Our config.json: exactly the keys and order of
                            GPT2Config.huggingFaceConfig (Sources/Model/GPT2Config.swift)
                            for n_layer 2, n_head 2, n_embd 16, n_positions 32,
                            vocab_size 259 (256 bytes + 256 begin-of-prompt,
                            257 begin-of-answer, 258 end).
  tiny/model.safetensors    The 28 parameters, F32, HF names, no lm_head.weight
                            (tied to transformer.wte.weight) and no buffers.
  reference.safetensors     All F32:
                              tokens, targets, mask   [B,T] (ids stored as floats)
                              logits                  [B,T,V]
                              loss_all, loss_masked   [1]
                              grad.<name>             d loss_masked / d param, every param
                              gradnorm                [3] global L2 norm before clipping, per step
                              loss_steps              [3] masked loss at the start of each step
                              step3.<name>            every param after 3 AdamW steps
                            __metadata__: hyperparameters, conventions, versions,
                            the finite-difference check (all strings).
  tolerances.json           {tensor: suggested relative tolerance}, measured
                            f32-vs-f64 error x 10, floor 1e-5 (definition in
                            README-gpt2.md).
  generate.json             Greedy decoding from the bytes of "Hello".

Model: torch.manual_seed(0), GPT2LMHeadModel(config) (HF's GPT-2 init: N(0, 0.02),
c_proj weights N(0, 0.02/sqrt(2 n_layer)), biases 0, LayerNorm 1/0), then every
LayerNorm weight += N(0, 0.1), every LayerNorm bias and every Conv1D bias = N(0, 0.05)
from torch.Generator seed 1, so no gradient is hidden behind a 1 or a 0; then the
query and key columns (0 ..< 2*n_embd) of every attn.c_attn.weight and every
mlp.c_fc.weight are multiplied by 10, so attention is far from uniform (the softmax
backward matters) and GELU inputs are O(1) (tanh- vs erf-GELU is visible).

Batch (B=3, T=12): each row is 13 tokens s[0..12]; tokens = s[:, :12],
targets = s[:, 1:]. Rows hold prompt/answer examples (256 prompt bytes 257 answer
bytes 258) with random bytes from torch.Generator seed 2; mask[b,t] = 1 when
targets[b,t] is an answer byte or the closing 258. Row 1 starts mid-answer, so
its mask is not a suffix. Masked positions per row: 5, 9, 3 (17 in all).

Run (from the repo root; CPU only, one thread, about 10 s):

  python3 -m venv /tmp/mk && /tmp/mk/bin/pip install torch transformers safetensors numpy
  /tmp/mk/bin/python scripts/reference/make_gpt2_reference.py

It fails (assert) if reloading tiny/ with GPT2LMHeadModel.from_pretrained does not
reproduce the logits bit for bit, or if the finite-difference check disagrees.
Two runs give byte-identical files. Conventions and measured numbers:
scripts/reference/README-gpt2.md.
"""

import copy
import json
import math
import os
import platform

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import safetensors
import safetensors.torch
import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "ModelTests", "Fixtures")

B, T = 3, 12
V = 259
BOP, BOA, END = 256, 257, 258
LRS = [1e-3, 8e-4, 5e-4]
BETAS = (0.9, 0.95)
EPS = 1e-8
WEIGHT_DECAY = 0.1
CLIP = 1.0
DECAYED_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
PROMPT = [72, 101, 108, 108, 111]  # "Hello"
NEW_TOKENS = 10
QK_SCALE = 10.0
FC_SCALE = 10.0

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------- config

def our_config_json(layers, heads, channels, context, vocabulary):
    """The keys and order of GPT2Config.huggingFaceConfig in Sources/Model/GPT2Config.swift."""
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": vocabulary,
        "n_positions": context,
        "n_ctx": context,
        "n_embd": channels,
        "n_layer": layers,
        "n_head": heads,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
        "layer_norm_epsilon": 1e-5,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
        "bos_token_id": 256, "eos_token_id": 258,
        "torch_dtype": "float32",
    }


def hf_config():
    return GPT2Config(
        vocab_size=V, n_positions=32, n_embd=16, n_layer=2, n_head=2, n_inner=None,
        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        summary_first_dropout=0.0, layer_norm_epsilon=1e-5, initializer_range=0.02,
        tie_word_embeddings=True, bos_token_id=BOP, eos_token_id=END,
        attn_implementation="eager",
    )


def swift_tensor_order(layers):
    """GPT2Config.tensorShapes order (HF's named_parameters order)."""
    names = ["transformer.wte.weight", "transformer.wpe.weight"]
    for l in range(layers):
        p = f"transformer.h.{l}."
        names += [p + s for s in ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                                  "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                                  "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")]
    return names + ["transformer.ln_f.weight", "transformer.ln_f.bias"]


# ---------------------------------------------------------------- model

def build_model():
    torch.manual_seed(0)
    model = GPT2LMHeadModel(hf_config())
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                if name.endswith(".weight"):
                    p.add_(0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
        # Query and key columns x 10: with plain GPT-2 init at n_embd 16 every attention row is
        # within 0.4% of uniform and the query/key gradients are ~1e-3 of the value gradients,
        # which would leave the softmax backward nearly untested.
        # mlp.c_fc.weight x 10: otherwise the GELU inputs are ~0.1, where tanh-GELU and erf-GELU
        # agree to well inside the tolerances (the check below would not catch the wrong GELU).
        C = model.config.n_embd
        for block in model.transformer.h:
            block.attn.c_attn.weight[:, :2 * C] *= QK_SCALE
            block.mlp.c_fc.weight *= FC_SCALE
    model.eval()  # dropout is 0 anyway; eval() makes it explicit
    return model


def params_of(model):
    """Parameters by name; the tied lm_head.weight is the same Parameter as wte and is listed once."""
    return dict(model.named_parameters())


# ---------------------------------------------------------------- batch

def make_batch():
    g = torch.Generator().manual_seed(2)

    def rnd(n):
        return torch.randint(0, 256, (n,), generator=g).tolist()

    # (sequence of T+1 tokens, set of indices into s whose token is "answer" or the closing END)
    rows = []
    # row 0: 256, 6 prompt bytes, 257, 4 answer bytes, 258
    s0 = [BOP] + rnd(6) + [BOA] + rnd(4) + [END]
    a0 = set(range(8, 13))
    # row 1: the tail of an earlier example (2 answer bytes, 258), then 256, 1 prompt byte, 257, 7 answer bytes
    s1 = rnd(2) + [END] + [BOP] + rnd(1) + [BOA] + rnd(7)
    a1 = {0, 1, 2} | set(range(6, 13))
    # row 2: 256, 8 prompt bytes, 257, 3 answer bytes (continues past the window)
    s2 = [BOP] + rnd(8) + [BOA] + rnd(3)
    a2 = set(range(10, 13))
    seqs, answers = [s0, s1, s2], [a0, a1, a2]
    for s in seqs:
        assert len(s) == T + 1, len(s)
    s = torch.tensor(seqs, dtype=torch.long)
    tokens, targets = s[:, :T].contiguous(), s[:, 1:].contiguous()
    # mask[b, t] predicts s[b, t+1]; index 0 of s is never a target
    mask = torch.tensor([[1.0 if (t + 1) in answers[b] else 0.0 for t in range(T)] for b in range(B)])
    return tokens, targets, mask


# ---------------------------------------------------------------- loss

def losses(logits, targets, mask):
    """Plain mean over all B*T targets, and sum(mask * token loss) / sum(mask)."""
    token_loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none").reshape(targets.shape)
    m = mask.to(token_loss.dtype)
    return token_loss.mean(), (token_loss * m).sum() / m.sum()


def forward_backward(model, tokens, targets, mask):
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=tokens, use_cache=False).logits
    loss_all, loss_masked = losses(logits, targets, mask)
    loss_masked.backward()
    grads = {n: p.grad.detach().clone() for n, p in params_of(model).items()}
    return logits.detach(), loss_all.detach(), loss_masked.detach(), grads


def train3(model, tokens, targets, mask):
    """3 AdamW steps on the masked loss: clip by global norm, then step with the scheduled lr."""
    named = params_of(model)
    decay = [p for n, p in named.items() if n.endswith(DECAYED_SUFFIXES) and n.startswith("transformer.h.")]
    no_decay = [p for n, p in named.items() if not (n.endswith(DECAYED_SUFFIXES) and n.startswith("transformer.h."))]
    assert len(decay) == 4 * model.config.n_layer
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
        lr=LRS[0], betas=BETAS, eps=EPS, amsgrad=False, maximize=False, foreach=False, fused=False)
    norms, step_losses = [], []
    for lr in LRS:
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=tokens, use_cache=False).logits
        _, loss = losses(logits, targets, mask)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(named.values()), CLIP, norm_type=2.0, foreach=False)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        norms.append(float(norm))
        step_losses.append(loss.item())
    return {n: p.detach().clone() for n, p in named.items()}, norms, step_losses


def manual_train3(model64, tokens, targets, mask, variant=None):
    """The documented AdamW/clipping convention written out by hand, in float64.

    variant=None must reproduce torch.optim.AdamW + clip_grad_norm_; the named variants are
    plausible Swift bugs, used to show the fixture's tolerances catch them."""
    model = copy.deepcopy(model64)
    named = params_of(model)
    decayed = {n for n in named if n.startswith("transformer.h.") and n.endswith(DECAYED_SUFFIXES)}
    m = {n: torch.zeros_like(p) for n, p in named.items()}
    v = {n: torch.zeros_like(p) for n, p in named.items()}
    b1, b2 = BETAS
    for t, lr in enumerate(LRS, start=1):
        if variant == "lr[0] every step":
            lr = LRS[0]
        model.zero_grad(set_to_none=True)
        _, loss = losses(model(input_ids=tokens, use_cache=False).logits, targets, mask)
        if variant == "loss mean per row":
            mm = mask.double()
            tl = torch.nn.functional.cross_entropy(
                model(input_ids=tokens, use_cache=False).logits.reshape(-1, V), targets.reshape(-1),
                reduction="none").reshape(B, T)
            loss = ((tl * mm).sum(1) / mm.sum(1)).mean()
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in named.items()}
        norm = math.sqrt(sum(float((g * g).sum()) for g in grads.values()))
        scale = min(1.0, CLIP / (norm + 1e-6))
        if variant == "no clipping":
            scale = 1.0
        if variant == "clip without +1e-6":
            scale = min(1.0, CLIP / norm)
        with torch.no_grad():
            for n, p in named.items():
                g = grads[n] * scale
                wd = WEIGHT_DECAY if n in decayed else 0.0
                if variant == "weight decay on every tensor":
                    wd = WEIGHT_DECAY
                if variant == "no weight decay":
                    wd = 0.0
                if variant == "L2 in the gradient (Adam, not AdamW)":
                    g = g + wd * p
                else:
                    p.mul_(1.0 - lr * wd)
                m[n].mul_(b1).add_((1 - b1) * g)
                v[n].mul_(b2).add_((1 - b2) * g * g)
                bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
                if variant == "no bias correction":
                    bc1 = bc2 = 1.0
                if variant == "eps inside the bias correction (sqrt(v)+eps)/sqrt(bc2)":
                    p.sub_(lr / bc1 * m[n] / ((v[n].sqrt() + EPS) / math.sqrt(bc2)))
                else:
                    p.sub_(lr / bc1 * m[n] / (v[n].sqrt() / math.sqrt(bc2) + EPS))
    return {n: p.detach().clone() for n, p in named.items()}


VARIANTS = [
    ("no clipping", True),
    ("clip without +1e-6", False),
    ("weight decay on every tensor", True),
    ("no weight decay", True),
    ("L2 in the gradient (Adam, not AdamW)", True),
    ("no bias correction", True),
    ("eps inside the bias correction (sqrt(v)+eps)/sqrt(bc2)", False),
    ("lr[0] every step", True),
    ("loss mean per row", True),
]


# ---------------------------------------------------------------- generation

@torch.no_grad()
def greedy(model, prompt, n):
    """Argmax loop with full recomputation (no cache). Does not stop at END."""
    ids = list(prompt)
    steps = []
    for _ in range(n):
        last = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1]
        top2 = torch.topk(last, 2)
        nxt = int(top2.indices[0])
        steps.append({
            "position": len(ids) - 1,
            "next": nxt,
            "logits_first5": [float(x) for x in last[:5]],
            "max_logit": float(top2.values[0]),
            "margin_top1_top2": float(top2.values[0] - top2.values[1]),
        })
        ids.append(nxt)
    return ids[len(prompt):], steps


# ---------------------------------------------------------------- helpers

def rel_err(a, b):
    """max |a - b| / max |b| (b is the float64 value)."""
    d = (a.double() - b.double()).abs().max().item()
    s = b.double().abs().max().item()
    return d / s if s > 0 else d, d


def write_safetensors(path, tensors, metadata):
    """A deterministic safetensors writer: __metadata__ first with sorted keys, then the tensors
    in the given order with contiguous offsets; header padded with spaces to 8 bytes.
    (safetensors.torch.save_file orders __metadata__ by a Rust HashMap, which changes run to run.)"""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name, t in tensors.items():
        assert t.dtype == torch.float32 and t.is_contiguous(), name
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    with safetensors.safe_open(path, "pt") as f:  # read back with the real library
        assert f.metadata() == metadata
        for name, t in tensors.items():
            assert torch.equal(f.get_tensor(name), t), name


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def main():
    os.makedirs(os.path.join(OUT, "tiny"), exist_ok=True)
    versions = {
        "python": platform.python_version(), "torch": torch.__version__,
        "transformers": transformers.__version__, "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }
    print("versions:", versions)

    model = build_model()
    cfg = model.config
    names = swift_tensor_order(cfg.n_layer)
    named = params_of(model)
    assert list(named) == names, list(named)
    assert model.lm_head.weight is model.transformer.wte.weight
    buffers = [n for n, _ in model.named_buffers()]
    print("buffers in the module:", buffers or "none")
    print("state_dict keys not in named_parameters:", [k for k in model.state_dict() if k not in named])

    # -- tiny/: our config.json and our model.safetensors (parameters only)
    tiny = os.path.join(OUT, "tiny")
    with open(os.path.join(tiny, "config.json"), "w") as f:
        json.dump(our_config_json(cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.n_positions, cfg.vocab_size), f, indent=2)
        f.write("\n")
    safetensors.torch.save_file({n: f32(named[n]) for n in names}, os.path.join(tiny, "model.safetensors"),
                                metadata={"format": "pt"})

    # what save_pretrained itself would write, for the report
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d, safe_serialization=True)
        with safetensors.safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
            sp_keys = sorted(f.keys())
            sp_meta = f.metadata()
        extra = sorted(set(sp_keys) - set(names))
        missing = sorted(set(names) - set(sp_keys))
        print(f"save_pretrained writes {len(sp_keys)} tensors; extra vs ours: {extra}; missing: {missing}; "
              f"metadata {sp_meta}; files {sorted(os.listdir(d))}")

    # -- batch, forward, backward (float32)
    tokens, targets, mask = make_batch()
    print("tokens:\n", tokens, "\ntargets:\n", targets, "\nmask:\n", mask.long(), "\nmasked count", int(mask.sum()))
    logits, loss_all, loss_masked, grads = forward_backward(model, tokens, targets, mask)
    print(f"loss_all {loss_all.item():.9f}  loss_masked {loss_masked.item():.9f}  ln(V) {math.log(V):.9f}")
    # HF's own shifted loss over a (B, T+1) sequence equals our loss_all
    seq = torch.cat([tokens, targets[:, -1:]], dim=1)
    with torch.no_grad():
        hf_loss = model(input_ids=seq, labels=seq, use_cache=False).loss
    print(f"HF labels= loss on the T+1 sequence: {hf_loss.item():.9f} (ours {loss_all.item():.9f})")

    # -- reload check: from_pretrained on our folder gives the same logits bit for bit
    reloaded, info = GPT2LMHeadModel.from_pretrained(tiny, attn_implementation="eager", output_loading_info=True)
    print("from_pretrained loading info:", info)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    reloaded.eval()
    with torch.no_grad():
        logits_reloaded = reloaded(input_ids=tokens, use_cache=False).logits
    assert reloaded.lm_head.weight.data_ptr() == reloaded.transformer.wte.weight.data_ptr(), "lm_head not tied"
    assert torch.equal(logits_reloaded, logits), (logits_reloaded - logits).abs().max()
    print("reload of tiny/ with from_pretrained: logits identical (bit for bit), lm_head tied")
    with torch.no_grad():
        sdpa = GPT2LMHeadModel.from_pretrained(tiny, attn_implementation="sdpa").eval()
        print("sdpa vs eager max |dlogits|:", (sdpa(input_ids=tokens, use_cache=False).logits - logits).abs().max().item())

    # -- float64 twin
    model64 = copy.deepcopy(model).double()
    logits64, loss_all64, loss_masked64, grads64 = forward_backward(model64, tokens, targets, mask)

    tol = {}
    measured = {}

    def record(key, a, b):
        r, d = rel_err(a, b)
        measured[key] = (d, r)
        tol[key] = max(r * 10.0, 1e-5)

    record("logits", logits, logits64)
    record("loss_all", loss_all.reshape(1), loss_all64.reshape(1))
    record("loss_masked", loss_masked.reshape(1), loss_masked64.reshape(1))
    for n in names:
        record("grad." + n, grads[n], grads64[n])

    # -- finite differences (float64) on 3 random parameter entries
    g = torch.Generator().manual_seed(3)
    fd = []
    named64 = params_of(model64)
    for _ in range(3):
        n = names[int(torch.randint(0, len(names), (1,), generator=g))]
        p = named64[n]
        i = int(torch.randint(0, p.numel(), (1,), generator=g))
        h = 1e-5
        flat = p.data.view(-1)
        orig = flat[i].item()
        with torch.no_grad():
            flat[i] = orig + h
            lp = losses(model64(input_ids=tokens, use_cache=False).logits, targets, mask)[1].item()
            flat[i] = orig - h
            lm = losses(model64(input_ids=tokens, use_cache=False).logits, targets, mask)[1].item()
            flat[i] = orig
        num = (lp - lm) / (2 * h)
        ana = grads64[n].view(-1)[i].item()
        err = abs(num - ana) / max(abs(num), abs(ana), 1e-12)
        # central difference in float64: truncation ~h^2 |L'|/6, rounding ~1e-16 |L| / h ~ 1e-10
        ok = abs(num - ana) <= 1e-6 * max(abs(num), abs(ana)) + 1e-9
        fd.append({"tensor": n, "flat_index": i, "h": h, "finite_difference": num, "autograd_f64": ana,
                   "autograd_f32": grads[n].view(-1)[i].item(), "rel_err": err, "abs_err": abs(num - ana)})
        print(f"FD {n}[{i}]: numeric {num:.12e}  autograd {ana:.12e}  abs err {abs(num - ana):.2e}  rel err {err:.2e}")
        assert ok, (n, i, num, ana)

    # -- 3 AdamW steps, float32 and float64
    step3, norms, step_losses = train3(copy.deepcopy(model), tokens, targets, mask)
    step3_64, norms64, step_losses64 = train3(copy.deepcopy(model64), tokens, targets, mask)
    print("grad norms (pre-clip) f32:", norms, " f64:", norms64)
    print("masked loss at each step f32:", step_losses)
    record("gradnorm", torch.tensor(norms), torch.tensor(norms64, dtype=torch.float64))
    record("loss_steps", torch.tensor(step_losses), torch.tensor(step_losses64, dtype=torch.float64))
    upd = {}
    for n in names:
        # step3 tolerance is relative to the size of the update (step3 - initial), not of the parameter
        d32 = step3[n].double() - named[n].detach().double()
        d64 = step3_64[n] - named64[n].detach()
        r, d = rel_err(d32, d64)
        measured["step3." + n] = (d, r)
        tol["step3." + n] = max(r * 10.0, 1e-5)
        upd[n] = d64.abs().max().item()

    # -- the written-out convention reproduces torch in float64; plausible bugs are caught
    init64 = {n: p.detach().clone() for n, p in named64.items()}
    manual = manual_train3(model64, tokens, targets, mask)
    worst = max((manual[n] - step3_64[n]).abs().max().item() / (step3_64[n] - init64[n]).abs().max().item()
                for n in names)
    print(f"hand-written AdamW+clip (float64) vs torch (float64): max rel diff of the update {worst:.2e}")
    assert worst < 1e-9, worst
    sensitivity = {}
    for variant, must_catch in VARIANTS:
        out = manual_train3(model64, tokens, targets, mask, variant)
        ratio, where = 0.0, None
        for n in names:
            r = (out[n] - step3_64[n]).abs().max().item() / (step3_64[n] - init64[n]).abs().max().item()
            if r / tol["step3." + n] > ratio:
                ratio, where = r / tol["step3." + n], n
        sensitivity[variant] = ratio
        print(f"  bug '{variant}': worst error / tolerance = {ratio:.3g} (in step3.{where})"
              f" -> {'caught' if ratio > 1 else 'NOT caught'}")
        assert ratio > 1 or not must_catch, variant

    # -- forward variants a Swift port could get wrong: are they outside the logits/grad tolerances?
    def variant_model(kind):
        mv = copy.deepcopy(model64)
        for mod in mv.modules():
            if kind == "exact erf GELU" and hasattr(mod, "act"):
                mod.act = torch.nn.GELU(approximate="none")
            if kind == "LayerNorm eps 1e-6" and isinstance(mod, torch.nn.LayerNorm):
                mod.eps = 1e-6
            if kind == "no 1/sqrt(head_dim) scaling" and hasattr(mod, "scaling"):
                mod.scaling = 1.0
        return mv
    for kind in ["exact erf GELU", "LayerNorm eps 1e-6", "no 1/sqrt(head_dim) scaling"]:
        lv, _, _, gv = forward_backward(variant_model(kind), tokens, targets, mask)
        r_logits = rel_err(lv, logits64)[0] / tol["logits"]
        r_grad, where = max((rel_err(gv[n], grads64[n])[0] / tol["grad." + n], n) for n in names)
        print(f"  variant '{kind}': logits error / tolerance {r_logits:.3g}, worst grad error / tolerance "
              f"{r_grad:.3g} (grad.{where})")
        assert r_logits > 1 and r_grad > 1, kind

    # -- generation
    cont, steps = greedy(model, PROMPT, NEW_TOKENS)
    with torch.no_grad():
        gen = model.generate(torch.tensor([PROMPT]), attention_mask=torch.ones(1, len(PROMPT), dtype=torch.long),
                             do_sample=False, max_new_tokens=NEW_TOKENS, pad_token_id=END, use_cache=True)
    gen_cont = gen[0, len(PROMPT):].tolist()
    print("greedy (no cache):", cont)
    print("model.generate (KV cache):", gen_cont)
    if END in cont:
        print("note: the greedy loop produced END (258); generate() stops there")
    k = cont.index(END) + 1 if END in cont else len(cont)
    assert gen_cont[:k] == cont[:k], (gen_cont, cont)
    # the per-step logits with the KV cache vs full recompute
    with torch.no_grad():
        out = model(input_ids=torch.tensor([PROMPT]), use_cache=True)
        past, last = out.past_key_values, out.logits[0, -1]
        kv_diff = 0.0
        for s in steps:
            kv_diff = max(kv_diff, abs(last[:5].double() - torch.tensor(s["logits_first5"], dtype=torch.float64)).max().item())
            out = model(input_ids=torch.tensor([[s["next"]]]), past_key_values=past, use_cache=True)
            past, last = out.past_key_values, out.logits[0, -1]
    print("KV-cache vs recompute, max |d logits_first5|:", kv_diff)
    with open(os.path.join(OUT, "generate.json"), "w") as f:
        json.dump({
            "model": "tiny",
            "prompt_text": "Hello",
            "prompt": PROMPT,
            "continuation": cont,
            "method": "argmax over the last position's logits, full recomputation each step, no stop at 258; "
                      "step i's logits are those that chose continuation[i] (position = prompt length - 1 + i)",
            "steps": steps,
            "hf_generate_continuation": gen_cont,
            "hf_generate_args": "do_sample=False, max_new_tokens=10, pad_token_id=258, use_cache=True",
            "kv_cache_vs_recompute_max_abs_diff_first5": kv_diff,
        }, f, indent=1)
        f.write("\n")

    # -- reference.safetensors
    tensors = {
        "tokens": f32(tokens), "targets": f32(targets), "mask": f32(mask),
        "logits": f32(logits),
        "loss_all": f32(loss_all.reshape(1)), "loss_masked": f32(loss_masked.reshape(1)),
        "gradnorm": torch.tensor(norms, dtype=torch.float32),
        "loss_steps": torch.tensor(step_losses, dtype=torch.float32),
    }
    for n in names:
        tensors["grad." + n] = f32(grads[n])
        tensors["step3." + n] = f32(step3[n])
    meta = {
        "format": "pt",
        "fixture_version": "1",
        "model": "tiny/ (n_layer 2, n_head 2, n_embd 16, n_positions 32, vocab_size 259, eager attention)",
        "B": str(B), "T": str(T), "V": str(V),
        "targets": "targets[b,t] = token at t+1 of a (B, T+1) sequence; tokens = its first T",
        "loss_all": "mean over all B*T of -log softmax(logits)[target] (natural log)",
        "loss_masked": "sum(mask * token loss) / sum(mask), summed over the whole batch (token mean, not row mean)",
        "gradients": "grad.<name> = d loss_masked / d <name> at the tiny/ weights; wte includes the tied lm_head",
        "optimizer": "torch.optim.AdamW, 3 steps on loss_masked with the same batch; per step: zero grads, "
                     "forward, backward, clip_grad_norm_(all params, 1.0), set lr, step",
        "lr_schedule": json.dumps(LRS),
        "betas": json.dumps(list(BETAS)),
        "eps": repr(EPS),
        "weight_decay": repr(WEIGHT_DECAY),
        "weight_decay_on": "transformer.h.*." + ", transformer.h.*.".join(DECAYED_SUFFIXES),
        "weight_decay_off": "all biases, LayerNorm weights and biases, transformer.wte.weight, transformer.wpe.weight",
        "adamw_update": "p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; "
                        "p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)",
        "clip": "norm = sqrt(sum over all params of sum g^2) (pre-clip, stored in gradnorm); "
                "g *= min(1, 1.0 / (norm + 1e-6))",
        "gradnorm": json.dumps(norms),
        "loss_steps": json.dumps(step_losses),
        "finite_difference_f64": json.dumps(fd),
        "tolerances": "tolerances.json: max|f32-f64|/max|f64| x 10, floor 1e-5; step3.* relative to the update",
        "versions": json.dumps(versions),
    }
    write_safetensors(os.path.join(OUT, "reference.safetensors"), tensors, meta)

    with open(os.path.join(OUT, "tolerances.json"), "w") as f:
        json.dump({k: float(f"{v:.3g}") for k, v in tol.items()}, f, indent=1)
        f.write("\n")

    # -- report
    print("\nf32 vs f64 (max abs diff, relative to max |f64|):")
    for k, (d, r) in measured.items():
        extra = f"  (max |update| {upd[k[6:]]:.3e})" if k.startswith("step3.") else ""
        print(f"  {k:45s} {d:.3e}  {r:.3e}{extra}")
    total = 0
    for root, _, files in sorted(os.walk(OUT)):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            os.chmod(p, 0o644)  # safetensors creates its files 0600
            total += os.path.getsize(p)
            print(f"{os.path.relpath(p, ROOT)}: {os.path.getsize(p)} bytes")
    print("total", total, "bytes")
    assert total < 300_000


if __name__ == "__main__":
    main()
