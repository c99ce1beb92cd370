// Merge loops that need instructions the baseline x86-64 build cannot use: run on CPUs
// that have them, chosen at run time, so one binary stays portable. Each function returns
// 0 without touching its output when this CPU (or this dtype pair) has no fast path; the
// caller then runs its portable Swift loop, which gives the same bits.
#ifndef CMERGEKERNELS_H
#define CMERGEKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Element types of stored tensors, little-endian.
enum mf_dtype { MF_F32 = 0, MF_BF16 = 1 };

/// Whether this CPU runs the fast paths (AVX2 and FMA).
int mf_merge_kernels_available(void);

/// Linear as torch's addcmul chain computes it: acc = fma(x0, w0, +0); acc = fma(xk, wk, acc)
/// for k = 1 ..< n (one rounding each, as the fused multiply-add torch's AVX2 kernels use);
/// then acc /= divisor when has_divisor, acc *= scale when has_scale; rounded to `out_dtype`
/// (bf16: to nearest even, NaN as 0xFFFF) at `out`. `xs` holds n pointers to `count`
/// elements of `in_dtype` each (any alignment).
/// Sets *all_finite to 0 when a result before rounding is NaN or infinite, else 1.
/// Returns 1 when it ran, 0 when this CPU has no fast path.
int mf_linear_fma(const void *const *xs, int n, size_t count, const float *weights,
                  int has_divisor, float divisor, int has_scale, float scale,
                  int in_dtype, int out_dtype, void *out, int *all_finite);

/// out = w0·v0 + w1·v1, each product and the sum rounded to float32 (no fused multiply-add),
/// rounded to `out_dtype` as mf_linear_fma does. Same returns.
int mf_pair_sum(const void *v0, const void *v1, size_t count, float w0, float w1,
                int in_dtype, int out_dtype, void *out, int *all_finite);

/// (Σ x·y, Σ x², Σ y²) of `count` elements of `in_dtype` at v0 and v1, in Double, summed as
/// `Kernels.dotAndSquaresBlock` sums (two 4-lane accumulators per sum over 8-element steps,
/// each product and sum rounded, no fused multiply-add; then lanes 0–3 plus lanes 4–7, their
/// four lanes added in order to 0; then the remaining elements one by one), written to
/// sums[0..2]. Returns 1 when it ran, 0 when this CPU has no fast path.
int mf_dot_and_squares(const void *v0, const void *v1, size_t count, int in_dtype, double *sums);

// TIES and task arithmetic from the stored bytes (TaskVectorKernels.c). δ = x − base in
// float32; "bits" are |δ|'s float32 bit pattern (sign cleared), which orders like |δ|.

/// The most models mf_task_vector_mix takes.
#define MF_MAX_TASK_MODELS 16

/// The counting pass of the magnitude cut without a window, over `count` elements:
/// bins[bits >> 16] += 1 for each (32 Ki counters); *all_finite = whether no element of x or
/// base is NaN or infinite. Returns 1 when it ran, 0 when this CPU or dtype has no fast path.
int mf_delta_bins(const void *x, const void *base, size_t count, int dtype, uint32_t *bins, int *all_finite);

/// The counting pass for m models (1 … 16) against one base, each with a non-empty window
/// [low[k], high[k]], in one sweep: above[k] = how many of model k's elements have bits >> 16
/// > high[k]; each element i (in order) whose bits >> 16 lies in the window, bits to
/// bits[k][n] and offset + i to indices[k][n] while n < capacity (slots past the last one
/// filled, up to capacity, may be overwritten); found[k] = how many there were (possibly more
/// than capacity); *all_finite = whether no element of any model or the base is NaN or
/// infinite. Same returns.
int mf_delta_windows(const void *const *xs, int m, const void *base, size_t count, size_t offset, int dtype,
                     const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits,
                     uint32_t *const *indices, size_t capacity, size_t *found, int *all_finite);

/// Lets the loops run their AVX-512 instances (16 lanes) where the CPU has AVX-512F/VL/BW/DQ
/// (allowed, the default) or holds them to their AVX2 instances (8 lanes; for tests: both
/// must give the same bits). Returns whether the AVX-512 instances now run.
int mf_merge_kernels_allow_wide(int allowed);

/// *all_finite = whether none of `count` elements is NaN or infinite. Same returns.
int mf_stored_all_finite(const void *p, size_t count, int dtype, int *all_finite);

/// TaskArithmetic.mix for `count` elements at absolute index offset ..< offset + count, from
/// m models at xs and the base, all of `in_dtype`: model k's δ is kept where its bits exceed
/// thresholds[k] or equal it at an index below ties_before[k] (UINT64_MAX: every tie), then
/// weighted; with `consensus`, only kept entries of the majority sign count and the divisor
/// is their weights' sum (1 when none), else `total`; divided when `normalize`, × lambda,
/// added to the base, rounded to `out_dtype` at `out`. *all_finite as mf_linear_fma. Returns 1
/// when it ran, 0 when this CPU or dtype pair has no fast path or m is outside 1 … 16.
int mf_task_vector_mix(const void *const *xs, int m, const void *base, size_t count, size_t offset,
                       const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                       int consensus, int normalize, float total, float lambda,
                       int in_dtype, int out_dtype, void *out, int *all_finite);

#endif
