// Training loops that need instructions the baseline x86-64 build cannot use (AVX2 and FMA):
// causal attention per (batch, head) and GELU, run on CPUs that have them, chosen at run
// time, so one binary stays portable. Each function returns 0 without touching its outputs
// when this CPU has no fast path; the caller then runs its portable Swift path (same
// mathematics, other roundings: training holds to one path per machine).
#ifndef CMODELKERNELS_H
#define CMODELKERNELS_H

#include <stddef.h>

/// Whether this CPU runs the fast paths (AVX2 and FMA).
int mf_model_kernels_available(void);

/// Lanes of the product tiles: 16 with AVX-512, else 8 (0 without the fast paths). The bits
/// are the same at either width.
int mf_model_kernels_lanes(void);

/// For tests: 8 runs the AVX2 tiles on an AVX-512 CPU; 16 goes back (where the CPU has it).
void mf_model_kernels_set_lanes(int lanes);

/// Floats of scratch the attention functions need for a sequence of `time` and head size `hs`.
size_t mf_attention_scratch(int time, int hs);

/// Causal self-attention of one (batch, head): for each row i < time,
///   att[i][j] = softmax_j(scale · q_i · k_j) over j ≤ i, out_i = Σ_j att[i][j] · v_j.
/// q, k, v: rows of `hs` floats `ld` apart (the fused qkv layout). out: rows `ldo` apart.
/// att: time × time, row-major; written on and below the diagonal, and with zeros right of
/// the diagonal up to the end of each block of eight rows (the backward pass reads no further).
/// scratch: mf_attention_scratch(time, hs) floats.
int mf_attention_forward(const float *q, const float *k, const float *v, ptrdiff_t ld,
                         float *out, ptrdiff_t ldo, float *att, int time, int hs, float scale,
                         float *scratch);

/// The gradient of `mf_attention_forward` given dout (rows `ldo` apart) and the att it saved:
/// writes every element of dq, dk, dv (rows `ld` apart; the fused dqkv layout). datt: time ×
/// time scratch, written like att.
int mf_attention_backward(const float *q, const float *k, const float *v, ptrdiff_t ld,
                          const float *dout, ptrdiff_t ldo, const float *att, float *datt,
                          float *dq, float *dk, float *dv, int time, int hs, float scale,
                          float *scratch);

/// GPT-2's tanh GELU as x·σ(2u), u = √(2/π)(x + 0.044715x³): out[i] = gelu(inp[i]) and
/// slope[i] = gelu'(inp[i]). `slope` may alias `inp` (each element is read before written).
int mf_gelu_forward(const float *inp, float *out, float *slope, size_t count);

#endif
