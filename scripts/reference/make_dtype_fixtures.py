#!/usr/bin/env python3
"""torch's float32 -> bfloat16 / float16 rounding, as a fixture (DTypeRoundingTests).

Writes Tests/MergeTests/Fixtures/dtype/rounding.safetensors with three tensors:
  input  F32  special values (+-0, +-inf, NaNs with several payloads, float32 and
              target subnormals, the overflow boundaries, exact halfway cases of
              both targets) followed by random bit patterns over every exponent;
  bf16   BF16 input.to(torch.bfloat16)
  f16    F16  input.to(torch.float16)
Conversions run on the CPU with torch's default threads, the way mergekit's
SaveTensor casts its output. The element count is a multiple of 64 so every element
goes through torch's vectorised kernel (its scalar tail writes other NaN bits).

  /tmp/ref/bin/python scripts/reference/make_dtype_fixtures.py
"""
import os
import numpy as np
import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
bits = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FBFFFFF,
        0xFFFFFFFF, 0x7FFFFFFF, 0x00000001, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
        0x7F7F8000, 0x7F7F7FFF, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F817FFF]
specials = np.array(bits, dtype=np.uint32).view(np.float32).tolist()
specials += [65504.0, 65519.99, 65520.0, -65520.0, 6.1035156e-05, 5.9604645e-08, 2.9802322e-08, 2.9802326e-08,
             8.940697e-08, 1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11, 1.0 + 2 ** -11 + 2 ** -30, 2 ** -25, 2 ** -24 * 1.5,
             1e-45, 1e-40, 3e-39, 0.1, 0.3, -0.7, 1e38, 3.4e38]
rng = np.random.default_rng(0)
random_bits = rng.integers(0, 2 ** 32, size=16000, dtype=np.uint64).astype(np.uint32).view(np.float32)
# Values of a merge's magnitude, where most output lands.
normal = (rng.standard_normal(8000) * 0.02).astype(np.float32)
x = np.concatenate([np.array(specials, dtype=np.float32), random_bits, normal])
x = np.concatenate([x, np.zeros((-len(x)) % 64, dtype=np.float32)])
t = torch.from_numpy(x)
out = os.path.join(ROOT, "Tests", "MergeTests", "Fixtures", "dtype")
os.makedirs(out, exist_ok=True)
save_file({"input": t, "bf16": t.to(torch.bfloat16), "f16": t.to(torch.float16)}, os.path.join(out, "rounding.safetensors"),
          metadata={"torch": torch.__version__})
print(torch.__version__, len(x), "values")
