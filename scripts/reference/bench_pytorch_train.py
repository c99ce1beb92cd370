#!/usr/bin/env python3
"""PyTorch CPU baseline for mergeflow's hand-written GPT-2 training step.

Times one full training step (zero_grad, forward, cross-entropy, backward,
clip_grad_norm_ 1.0, AdamW) of a 6-layer GPT-2 (n_embd 384, 6 heads, T 256,
vocab 259, tied head, float32) on B=8 x T=256 random tokens, so the Swift side
can report "our tokens/s / PyTorch tokens/s". Offline: the model is built from a
config in code, never downloaded. Numbers: scripts/reference/README-bench.md.

  /tmp/mk/bin/python scripts/reference/bench_pytorch_train.py                 # HF, sdpa
  /tmp/mk/bin/python scripts/reference/bench_pytorch_train.py --attn eager    # HF, eager
  /tmp/mk/bin/python scripts/reference/bench_pytorch_train.py --model minimal # hand-written

FLOPs (printed too): flops_per_step = 6*P*B*T + 6*L*B*T*T*C, with P every
parameter (tied wte counted once, wte and wpe included); the second term is the
attention matmuls (q.k^T and att.v, 2*B*T*T*C flops each per layer forward,
x3 for forward+backward = 12*L*B*T^2*C) halved for the causal mask.

The last line is one JSON object; besides the headline fields it holds flops_per_step,
every timed step time, and the GFLOPS of a plain 1024^3 matmul measured before and
after the steps (this VM is shared and its speed drifts; see the README).
"""
import argparse, json, math, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F

V = 259   # vocabulary: 256 bytes + 3 specials

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
# The model and batch (defaults: gpt-small, B 8 x T 256); mergeflow's `bench --compare-pytorch`
# passes the preset it measures.
p.add_argument("--layers", type=int, default=6)
p.add_argument("--heads", type=int, default=6)
p.add_argument("--channels", type=int, default=384)
p.add_argument("--seq", type=int, default=256, help="T, also the context (wpe rows)")
p.add_argument("--batch", type=int, default=8)
p.add_argument("--model", choices=["hf", "minimal"], default="hf")
p.add_argument("--attn", choices=["eager", "sdpa"], default=None,
               help="HF attention implementation (default sdpa; minimal is always sdpa)")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--steps", type=int, default=10)
args = p.parse_args()
L, H, C, T, B = args.layers, args.heads, args.channels, args.seq, args.batch   # layers, heads, width, context, batch
if min(L, H, C, T, B) < 1 or C % H != 0:
    p.error("need positive sizes and --channels divisible by --heads")
if args.steps < 1 or args.warmup < 0:
    p.error("need --steps >= 1 and --warmup >= 0")
if args.model == "minimal" and args.attn == "eager":
    p.error("--model minimal always uses F.scaled_dot_product_attention (sdpa)")
attn = args.attn or "sdpa"

# Threads first: the interop pool can only be sized before any parallel work.
torch.set_num_interop_threads(1)
torch.set_num_threads(args.threads)
print("\n".join(torch.__config__.parallel_info().splitlines()[:9]))


class Block(nn.Module):
    """Pre-LN GPT-2 block: x += attn(ln_1(x)); x += mlp(ln_2(x))."""
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C, eps=1e-5), nn.LayerNorm(C, eps=1e-5)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # scale 1/sqrt(C/H)
        x = x + self.c_proj(y.transpose(1, 2).reshape(b, t, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class MinimalGPT2(nn.Module):
    """The same math as GPT2LMHeadModel (gelu_new = tanh GELU), nn.Linear layout."""
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(C, eps=1e-5)
        for name, w in self.named_parameters():          # GPT-2 init (irrelevant to speed)
            if name.endswith("bias"):
                nn.init.zeros_(w)
            elif "ln_" not in name:
                std = 0.02 / math.sqrt(2 * L) if "proj" in name else 0.02
                nn.init.normal_(w, std=std)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()        # tied LM head


torch.manual_seed(0)
if args.model == "hf":
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel
    cfg = GPT2Config(n_layer=L, n_head=H, n_embd=C, n_positions=T, n_ctx=T, vocab_size=V,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0, layer_norm_epsilon=1e-5, tie_word_embeddings=True,
                     bos_token_id=256, eos_token_id=258,   # ours (HF's 50256 is > vocab)
                     attn_implementation=attn)
    model = GPT2LMHeadModel(cfg)
    assert model.config._attn_implementation == attn, model.config._attn_implementation
    assert model.lm_head.weight is model.transformer.wte.weight
    forward = lambda idx: model(input_ids=idx, use_cache=False).logits
    decayed = lambda n, w: n.startswith("transformer.h.") and w.dim() == 2
    tf_version = transformers.__version__
else:
    model = MinimalGPT2()
    forward = model
    decayed = lambda n, w: n.startswith("h.") and w.dim() == 2
    try:
        import transformers
        tf_version = transformers.__version__
    except ImportError:
        tf_version = None
model.float().train()   # every dropout probability is 0, so train() only matters for autograd

# Parameters: named_parameters() lists the tied wte/lm_head tensor once.
params = [w for _, w in model.named_parameters()]
P = sum(w.numel() for w in params)
groups = [
    {"params": [w for n, w in model.named_parameters() if decayed(n, w)], "weight_decay": 0.1},
    {"params": [w for n, w in model.named_parameters() if not decayed(n, w)], "weight_decay": 0.0},
]
assert len(groups[0]["params"]) == 4 * L            # c_attn, c_proj, c_fc, mlp proj weights
opt = torch.optim.AdamW(groups, lr=3e-4, betas=(0.9, 0.95), eps=1e-8)  # fused/foreach: default

# One fixed random batch (reused every step).
g = torch.Generator().manual_seed(1234)
tokens = torch.randint(0, V, (B, T), generator=g)
targets = torch.randint(0, V, (B, T), generator=g)


def step():
    opt.zero_grad(set_to_none=True)
    logits = forward(tokens)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))  # mean over B*T
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    return loss.item(), norm.item()   # .item() is a sync point (CPU is synchronous anyway)


def sgemm_gflops(n=1024, reps=10):
    """Machine check: best of `reps` plain n^3 float32 matmuls. On a shared VM this drifts
    (we saw about 50 to 180 GFLOPS within minutes); compare it across runs before step times."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter(); torch.mm(a, b); best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


sgemm_before = sgemm_gflops()
times = []
for i in range(args.warmup + args.steps):
    t0 = time.perf_counter()
    loss, norm = step()
    dt = time.perf_counter() - t0
    tag = "warmup" if i < args.warmup else "timed"
    print(f"step {i:2d} ({tag}) {dt * 1e3:8.1f} ms  loss {loss:.4f}  gradnorm {norm:.3f}", flush=True)
    if i >= args.warmup:
        times.append(dt)

sgemm_after = sgemm_gflops()
print(f"sgemm 1024^3 float32 (best of 10): {sgemm_before:.1f} GFLOPS before the steps, "
      f"{sgemm_after:.1f} after")
med = statistics.median(times)
flops = 6 * P * B * T + 6 * L * B * T * T * C
print(f"flops_per_step = 6*P*B*T + 6*L*B*T*T*C = 6*{P}*{B}*{T} + 6*{L}*{B}*{T}*{T}*{C} "
      f"= {flops:.4e}")
try:  # what torch's default (foreach=None, fused=None) resolves to for these tensors
    from torch.optim.optimizer import _default_to_fused_or_foreach
    fused, foreach = _default_to_fused_or_foreach(params, differentiable=False, use_fused=False)
    impl = "fused" if fused else "foreach" if foreach else "for-loop (single-tensor)"
except Exception:  # private API; informational only
    impl = "unknown"
print(f"AdamW default implementation: {impl}; timed steps min {min(times) * 1e3:.1f} ms, "
      f"max {max(times) * 1e3:.1f} ms over {len(times)}")
print(json.dumps({
    "impl": args.model, "attn": attn, "threads": args.threads, "B": B, "T": T, "L": L, "H": H, "C": C,
    "params": P, "step_seconds_median": round(med, 5),
    "tokens_per_second": round(B * T / med, 1), "gflops": round(flops / med / 1e9, 2),
    "torch": torch.__version__, "transformers": tf_version,
    "flops_per_step": flops, "sgemm_gflops": [round(sgemm_before, 1), round(sgemm_after, 1)],
    "step_seconds": [round(t, 5) for t in times],
}))
