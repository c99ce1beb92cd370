#!/usr/bin/env python3
"""Re-verify the safetensors fixtures with nothing but the standard library.

Parses each .safetensors file by hand (u64 little-endian header length, JSON
header, data_offsets relative to the end of the header), decodes the data
(F16 via struct's 'e' format, BF16 by shifting into the high half of a u32)
and checks it against mixed.expected.json / sharded.expected.json, plus the
sharded index (weight_map, total_size).

Run from the repo root with any python3:

  python3 scripts/reference/check_safetensors_fixtures.py
"""

import json
import os
import struct
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "Tests", "CheckpointTests", "Fixtures")
SIZE = {"F32": 4, "F16": 2, "BF16": 2}


def parse(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    raw = blob[8 : 8 + n]
    header = json.loads(raw)
    return blob, n, raw, header


def decode(dtype, data):
    """Return (raw_bits, f32_bits) lists."""
    if dtype == "F32":
        raw = list(struct.unpack(f"<{len(data) // 4}I", data))
        return raw, raw
    raw = list(struct.unpack(f"<{len(data) // 2}H", data))
    if dtype == "BF16":
        return raw, [r << 16 for r in raw]
    f32 = []
    for r in raw:
        (x,) = struct.unpack("<e", struct.pack("<H", r))
        (b,) = struct.unpack("<I", struct.pack("<f", x))
        f32.append(b)
    return raw, f32


def check_file(path, entries, metadata):
    blob, n, raw, header = parse(path)
    name = os.path.relpath(path, FIX)
    assert (8 + n) % 8 == 0, f"{name}: header end {8 + n} not 8-aligned"
    assert raw.rstrip(b" ").endswith(b"}"), f"{name}: header padding is not spaces"
    assert header.pop("__metadata__", None) == metadata, f"{name}: metadata"
    assert set(header) == {e["name"] for e in entries}, f"{name}: tensor names"
    data = blob[8 + n :]
    # Offsets must tile the data section exactly, in header order.
    pos = 0
    for k, v in header.items():
        b, e = v["data_offsets"]
        assert b == pos and e >= b, f"{name}: {k} offsets {v['data_offsets']}"
        pos = e
    assert pos == len(data), f"{name}: data section {len(data)} != {pos}"
    for e in entries:
        h = header[e["name"]]
        assert h["dtype"] == e["dtype"], (name, e["name"], "dtype")
        assert h["shape"] == e["shape"], (name, e["name"], "shape")
        assert h["data_offsets"] == e["data_offsets"], (name, e["name"], "offsets")
        count = 1
        for d in e["shape"]:
            count *= d
        b, end = h["data_offsets"]
        assert end - b == count * SIZE[e["dtype"]], (name, e["name"], "size")
        rawb, f32b = decode(e["dtype"], data[b:end])
        assert rawb == e["raw_bits"], (name, e["name"], "raw_bits")
        assert f32b == e["f32_bits"], (name, e["name"], "f32_bits")
    print(f"ok {name}: {len(entries)} tensors, header {n} bytes, data {len(data)} bytes")


def main():
    mixed = json.load(open(os.path.join(FIX, "mixed.expected.json")))
    check_file(os.path.join(FIX, mixed["file"]), mixed["tensors"], mixed["__metadata__"])

    sh = json.load(open(os.path.join(FIX, "sharded.expected.json")))
    folder = os.path.join(FIX, sh["folder"])
    index = json.load(open(os.path.join(folder, "model.safetensors.index.json")))
    wm = index["weight_map"]
    assert wm == {e["name"]: e["file"] for e in sh["tensors"]}, "weight_map"
    assert index["metadata"]["total_size"] == sh["total_size"], "total_size"
    assert sh["total_size"] == sum(
        e["data_offsets"][1] - e["data_offsets"][0] for e in sh["tensors"]
    ), "total_size vs tensor bytes"
    for fname in sh["files"]:
        entries = [e for e in sh["tensors"] if e["file"] == fname]
        check_file(os.path.join(folder, fname), entries, sh["__metadata__"])
    cfg = json.load(open(os.path.join(folder, "config.json")))
    assert cfg["model_type"] == "gpt2"
    print("all fixtures ok")


if __name__ == "__main__":
    sys.exit(main())
