#!/usr/bin/env python3
"""Make reference safetensors fixtures for mergeflow's CheckpointTests.

Every .safetensors file made here is written by the real Python `safetensors`
package (`safetensors.numpy.save_file`), never assembled by hand, so the Swift
reader can be tested against what the reference implementation emits.

Output (into Tests/CheckpointTests/Fixtures/, relative to the repo root):

  mixed.safetensors        F32, F16 and BF16 tensors with odd shapes (incl. a
                           0-d tensor and a [0,4] empty tensor) holding special
                           values (+/-0, subnormals, largest finite, +/-inf)
                           and seeded random normals, plus __metadata__.
  mixed.expected.json      For every tensor: name, dtype as stored, shape,
                           data_offsets (read back from the written header),
                           raw_bits (stored bit patterns, u16 for F16/BF16,
                           u32 for F32) and f32_bits (u32 bit patterns of the
                           values widened to float32, computed independently in
                           numpy: F16 via astype(np.float32), BF16 by putting
                           the 16 bits in the high half of a u32).
  sharded/                 A tiny GPT-2-like checkpoint laid out as Hugging Face
                           does: model-0000{1,2}-of-00002.safetensors,
                           model.safetensors.index.json, config.json.
  sharded.expected.json    Same format as mixed.expected.json, over the tensors
                           of both shards (each entry also names its file).

No NaN is written anywhere (its payload handling would differ between
conversion paths).

Run (from the repo root):

  python3 -m venv /tmp/ref && /tmp/ref/bin/pip install safetensors numpy ml_dtypes \
    && /tmp/ref/bin/python scripts/reference/make_safetensors_fixtures.py

The output is deterministic (fixed numpy seed). After running, update the
versions recorded in Tests/CheckpointTests/Fixtures/README.md if they changed;
the script prints them. scripts/reference/check_safetensors_fixtures.py
re-verifies the files with nothing but the standard library.
"""

import json
import os
import struct
import sys

import ml_dtypes
import numpy as np
import safetensors
from safetensors.numpy import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "CheckpointTests", "Fixtures")
SEED = 20240607

BF16 = ml_dtypes.bfloat16


def f32_from_bits(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def f16_from_bits(bits):
    return np.array(bits, dtype=np.uint16).view(np.float16)


def bf16_from_bits(bits):
    return np.array(bits, dtype=np.uint16).view(BF16)


def stored_dtype(arr):
    if arr.dtype == np.float32:
        return "F32"
    if arr.dtype == np.float16:
        return "F16"
    if arr.dtype == BF16:
        return "BF16"
    raise ValueError(arr.dtype)


def raw_and_f32_bits(arr):
    """Stored bit patterns and float32-widened bit patterns, row-major."""
    flat = np.ascontiguousarray(arr).reshape(-1)
    dt = stored_dtype(arr)
    if dt == "F32":
        raw = flat.view(np.uint32)
        f32 = raw
    elif dt == "F16":
        raw = flat.view(np.uint16)
        f32 = flat.astype(np.float32).view(np.uint32)
    else:  # BF16: by definition the high 16 bits of a float32
        raw = flat.view(np.uint16)
        f32 = raw.astype(np.uint32) << np.uint32(16)
    return [int(x) for x in raw], [int(x) for x in f32]


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def expected_entries(tensors, path, file_label=None):
    header = read_header(path)
    entries = []
    for name in sorted(tensors):
        arr = tensors[name]
        raw, f32 = raw_and_f32_bits(arr)
        e = {"name": name}
        if file_label is not None:
            e["file"] = file_label
        e.update(
            {
                "dtype": stored_dtype(arr),
                "shape": list(arr.shape),
                "data_offsets": header[name]["data_offsets"],
                "raw_bits": raw,
                "f32_bits": f32,
            }
        )
        entries.append(e)
    return entries


def write_expected(path, top, entries):
    # One tensor per line keeps the file small and diff-friendly.
    lines = ["{"]
    for k, v in top.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append('  "tensors": [')
    body = [
        "    " + json.dumps(e, separators=(", ", ": ")) for e in entries
    ]
    lines.append(",\n".join(body))
    lines.append("  ]")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def make_mixed(rng):
    # F32 [3,5]: 10 specials + 5 random normals.
    f32_specials = [
        0x00000000,  # +0
        0x80000000,  # -0
        0x00000001,  # smallest positive subnormal
        0x807FFFFF,  # largest-magnitude negative subnormal
        0x00800000,  # smallest positive normal
        0x7F7FFFFF,  # largest finite
        0xFF7FFFFF,  # most negative finite
        0x7F800000,  # +inf
        0xFF800000,  # -inf
        0x3F800000,  # 1.0
    ]
    a = np.concatenate(
        [f32_from_bits(f32_specials), rng.standard_normal(5).astype(np.float32)]
    ).reshape(3, 5)

    # F16 [7]: specials only.
    b = f16_from_bits(
        [
            0x0000,  # +0
            0x8000,  # -0
            0x0001,  # smallest positive subnormal (2^-24)
            0x83FF,  # largest-magnitude negative subnormal
            0x7BFF,  # largest finite (65504)
            0x7C00,  # +inf
            0xFC00,  # -inf
        ]
    )

    # BF16 [2,3,4]: 10 specials + 14 random normals (round-to-nearest-even
    # via ml_dtypes).
    bf16_specials = [
        0x0000,  # +0
        0x8000,  # -0
        0x0001,  # smallest positive subnormal
        0x807F,  # largest-magnitude negative subnormal
        0x0080,  # smallest positive normal
        0x7F7F,  # largest finite
        0xFF7F,  # most negative finite
        0x7F80,  # +inf
        0xFF80,  # -inf
        0xBF80,  # -1.0
    ]
    c = np.concatenate(
        [
            bf16_from_bits(bf16_specials),
            rng.standard_normal(14).astype(np.float32).astype(BF16),
        ]
    ).reshape(2, 3, 4)

    # F16 [3,3]: random normals plus a mid-range subnormal.
    d = rng.standard_normal(9).astype(np.float16)
    d[4] = f16_from_bits([0x0200])[0]  # 2^-15, subnormal
    d = d.reshape(3, 3)

    scalar = np.array(-2.5, dtype=np.float32)  # 0-d
    empty = np.zeros((0, 4), dtype=np.float32)

    tensors = {
        "a.f32": a,
        "b.f16": b,
        "c.bf16": c,
        "d.f16": d,
        "scalar.f32": scalar,
        "empty.f32": empty,
    }
    metadata = {"format": "pt", "note": "mergeflow fixture"}
    path = os.path.join(OUT, "mixed.safetensors")
    save_file(tensors, path, metadata=metadata)
    os.chmod(path, 0o644)  # save_file creates files 0600
    write_expected(
        os.path.join(OUT, "mixed.expected.json"),
        {"file": "mixed.safetensors", "__metadata__": metadata},
        expected_entries(tensors, path),
    )


# Tiny GPT-2: vocab 11, n_positions 6, n_embd 4, n_head 2, n_layer 2.
VOCAB, NPOS, NEMBD, NHEAD, NLAYER = 11, 6, 4, 2, 2


def gpt2_tensors(rng):
    def w(*shape):
        return (0.02 * rng.standard_normal(shape)).astype(np.float32)

    t = {
        "transformer.wte.weight": w(VOCAB, NEMBD),
        "transformer.wpe.weight": w(NPOS, NEMBD),
    }
    for i in range(NLAYER):
        p = f"transformer.h.{i}."
        t[p + "ln_1.weight"] = (1 + w(NEMBD)).astype(np.float32)
        t[p + "ln_1.bias"] = w(NEMBD)
        t[p + "attn.c_attn.weight"] = w(NEMBD, 3 * NEMBD)
        t[p + "attn.c_attn.bias"] = w(3 * NEMBD)
        t[p + "attn.c_proj.weight"] = w(NEMBD, NEMBD)
        t[p + "attn.c_proj.bias"] = w(NEMBD)
        t[p + "ln_2.weight"] = (1 + w(NEMBD)).astype(np.float32)
        t[p + "ln_2.bias"] = w(NEMBD)
        t[p + "mlp.c_fc.weight"] = w(NEMBD, 4 * NEMBD)
        t[p + "mlp.c_fc.bias"] = w(4 * NEMBD)
        t[p + "mlp.c_proj.weight"] = w(4 * NEMBD, NEMBD)
        t[p + "mlp.c_proj.bias"] = w(NEMBD)
    t["transformer.ln_f.weight"] = (1 + w(NEMBD)).astype(np.float32)
    t["transformer.ln_f.bias"] = w(NEMBD)
    return t


def make_sharded(rng):
    folder = os.path.join(OUT, "sharded")
    os.makedirs(folder, exist_ok=True)
    tensors = gpt2_tensors(rng)
    names = list(tensors)  # insertion (model) order
    cut = names.index("transformer.h.1.ln_1.weight")
    shards = [names[:cut], names[cut:]]
    n = len(shards)
    metadata = {"format": "pt"}  # what transformers writes into each shard

    weight_map, entries, files = {}, [], []
    for i, shard_names in enumerate(shards, start=1):
        fname = f"model-{i:05d}-of-{n:05d}.safetensors"
        files.append(fname)
        shard = {k: tensors[k] for k in shard_names}
        path = os.path.join(folder, fname)
        save_file(shard, path, metadata=metadata)
        os.chmod(path, 0o644)  # save_file creates files 0600
        for k in shard_names:
            weight_map[k] = fname
        entries.extend(expected_entries(shard, path, file_label=fname))

    # transformers: total_size is the sum of tensor byte sizes (not file
    # sizes); written with indent=2, sort_keys=True, trailing newline.
    total_size = int(sum(a.nbytes for a in tensors.values()))
    index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")

    config = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "bos_token_id": 0,
        "eos_token_id": 0,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": NPOS,
        "n_embd": NEMBD,
        "n_head": NHEAD,
        "n_inner": None,
        "n_layer": NLAYER,
        "n_positions": NPOS,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "vocab_size": VOCAB,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")

    entries.sort(key=lambda e: e["name"])
    write_expected(
        os.path.join(OUT, "sharded.expected.json"),
        {
            "folder": "sharded",
            "files": files,
            "total_size": total_size,
            "__metadata__": metadata,
        },
        entries,
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)
    make_mixed(rng)
    make_sharded(rng)
    print(
        f"wrote fixtures to {OUT}\n"
        f"python {sys.version.split()[0]}, safetensors {safetensors.__version__}, "
        f"numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__}"
    )


if __name__ == "__main__":
    main()
