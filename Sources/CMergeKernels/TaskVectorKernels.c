// See include/CMergeKernels.h: TIES (and task arithmetic) from the stored bytes. The loops
// define nothing new: they are Sources/Merge/MagnitudeSelection.swift's first two passes and
// TaskArithmetic.mix's 8-lane loop, written with the intrinsics that round each operation as
// Swift's Float operations do (contraction off: no product is fused into a sum).
#pragma clang fp contract(off)

#include "CMergeKernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include "Lanes.h"

// |x − base| as a float32 bit pattern (sign cleared).
FAST uint32_t delta_bits1(const void *x, const void *base, size_t i, int dtype) {
    float d = load1(x, i, dtype) - load1(base, i, dtype);
    uint32_t bits; memcpy(&bits, &d, 4);
    return bits & 0x7FFFFFFF;
}

// Appends (bits, offset + i) for each element whose bits >> 16 lies in [low, high], in
// order, while n < capacity; returns how many there were.
FAST size_t collect_window(__m256i b, size_t i, size_t offset, __m256i low, __m256i high,
                           uint32_t *out_bits, uint32_t *indices, size_t capacity, size_t n) {
    __m256i h = _mm256_srli_epi32(b, 16);
    __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi32(low, h), _mm256_cmpgt_epi32(h, high));
    int hit = ~_mm256_movemask_ps(_mm256_castsi256_ps(outside)) & 0xFF;
    if (!hit) return n;
    uint32_t bits[8] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)bits, b);
    for (int lane = 0; lane < 8; lane++) {
        if (!(hit >> lane & 1)) continue;
        if (n < capacity) { out_bits[n] = bits[lane]; indices[n] = (uint32_t)(offset + i + lane); }
        n++;
    }
    return n;
}

FAST size_t collect_window1(uint32_t b, size_t i, size_t offset, uint32_t low, uint32_t high,
                            uint32_t *out_bits, uint32_t *indices, size_t capacity, size_t n) {
    if (b >> 16 < low || b >> 16 > high) return n;
    if (n < capacity) { out_bits[n] = b; indices[n] = (uint32_t)(offset + i); }
    return n + 1;
}

// Pass 1 with bins: the high bits of every element counted. Without (bins NULL): only the
// elements above the window counted, into *above: all vector work, no per-element store.
FAST size_t counts_fast(const void *x, const void *base, size_t count, size_t offset, int dtype, uint32_t *bins, uint64_t *above,
                        uint32_t low, uint32_t high, uint32_t *out_bits, uint32_t *indices, size_t capacity, int *all_finite) {
    uint32_t bin[8] __attribute__((aligned(32)));
    const __m256i lo = _mm256_set1_epi32((int)low), hi = _mm256_set1_epi32((int)high);
    __m256i bad = _mm256_setzero_si256(), over = _mm256_setzero_si256();
    size_t n = 0, i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 xv = load8(x, i, dtype), bv = load8(base, i, dtype);
        bad = _mm256_or_si256(bad, _mm256_or_si256(not_finite(xv), not_finite(bv)));
        __m256i b = _mm256_and_si256(_mm256_castps_si256(_mm256_sub_ps(xv, bv)), _mm256_set1_epi32(0x7FFFFFFF));
        if (bins) {
            _mm256_store_si256((__m256i *)bin, _mm256_srli_epi32(b, 16));
            for (int lane = 0; lane < 8; lane++) bins[bin[lane]]++;
        } else {
            over = _mm256_sub_epi32(over, _mm256_cmpgt_epi32(_mm256_srli_epi32(b, 16), hi));  // − (−1) per lane above
        }
        if (low <= high) n = collect_window(b, i, offset, lo, hi, out_bits, indices, capacity, n);
    }
    int finite = _mm256_testz_si256(bad, bad);
    uint32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, over);
    uint64_t total = 0;
    for (int lane = 0; lane < 8; lane++) total += lanes[lane];
    for (; i < count; i++) {
        finite &= finite1(load1(x, i, dtype)) & finite1(load1(base, i, dtype));
        uint32_t b = delta_bits1(x, base, i, dtype);
        if (bins) bins[b >> 16]++; else total += b >> 16 > high;
        if (low <= high) n = collect_window1(b, i, offset, low, high, out_bits, indices, capacity, n);
    }
    if (!bins) *above = total;
    *all_finite = finite;
    return n;
}

// TaskArithmetic.Lanes.isZero on integer lanes: all ones where x is 0.
FAST __m256i is_zero(__m256i x) { return _mm256_cmpeq_epi32(x, _mm256_setzero_si256()); }

// Elements i ..< i + 8 (absolute index offset + i) of the mix: TaskArithmetic.mix's vector
// loop, with Contribution.values for each model.
FAST __m256 mix8(const void *const *xs, int m, const void *base, size_t i, size_t offset,
                 const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                 int consensus, int normalize, float total, float lambda, int dtype) {
    const __m256i magnitude_mask = _mm256_set1_epi32(0x7FFFFFFF);
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 b = load8(base, i, dtype);
    __m256 values[MF_MAX_TASK_MODELS];
    size_t j = offset + i;
    for (int k = 0; k < m; k++) {
        __m256 d = _mm256_sub_ps(load8(xs[k], i, dtype), b);
        __m256i bits = _mm256_and_si256(_mm256_castps_si256(d), magnitude_mask);
        __m256i t = _mm256_set1_epi32((int)thresholds[k]);
        // Kept: |δ| above the threshold, or equal to it at an index before the tie cut.
        __m256i above = _mm256_cmpgt_epi32(bits, t), keep;
        if (j + 8 <= ties_before[k]) keep = _mm256_or_si256(above, _mm256_cmpeq_epi32(bits, t));
        else if (j >= ties_before[k]) keep = above;
        else {
            __m256i before = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(ties_before[k] - j)), lane_index);
            keep = _mm256_or_si256(above, _mm256_and_si256(_mm256_cmpeq_epi32(bits, t), before));
        }
        __m256 v = _mm256_mul_ps(d, _mm256_set1_ps(weights[k]));
        values[k] = _mm256_and_ps(v, _mm256_castsi256_ps(keep));
    }
    __m256 mixed = _mm256_setzero_ps(), divisor = _mm256_set1_ps(total);
    if (consensus) {
        __m256 s = _mm256_setzero_ps();
        for (int k = 0; k < m; k++) s = _mm256_add_ps(s, values[k]);
        // Negative: sign bit set and not ±0 (the majority sign of a zero sum is +).
        __m256i sb = _mm256_castps_si256(s);
        __m256i negative = _mm256_andnot_si256(is_zero(_mm256_and_si256(sb, magnitude_mask)), _mm256_srai_epi32(sb, 31));
        divisor = _mm256_setzero_ps();
        for (int k = 0; k < m; k++) {
            __m256i vb = _mm256_castps_si256(values[k]);
            __m256i same_sign = _mm256_xor_si256(_mm256_srai_epi32(_mm256_xor_si256(vb, negative), 31), _mm256_set1_epi32(-1));
            __m256 counted = _mm256_castsi256_ps(_mm256_andnot_si256(is_zero(_mm256_and_si256(vb, magnitude_mask)), same_sign));
            mixed = _mm256_add_ps(mixed, _mm256_and_ps(values[k], counted));
            divisor = _mm256_add_ps(divisor, _mm256_and_ps(_mm256_set1_ps(weights[k]), counted));
        }
        __m256 none = _mm256_castsi256_ps(is_zero(_mm256_and_si256(_mm256_castps_si256(divisor), magnitude_mask)));
        divisor = _mm256_add_ps(_mm256_andnot_ps(none, divisor), _mm256_and_ps(none, _mm256_set1_ps(1)));
    } else {
        for (int k = 0; k < m; k++) mixed = _mm256_add_ps(mixed, values[k]);
    }
    if (normalize) mixed = _mm256_div_ps(mixed, divisor);
    if (lambda != 1) mixed = _mm256_mul_ps(mixed, _mm256_set1_ps(lambda));
    return _mm256_add_ps(b, mixed);
}

FAST void mix_fast(const void *const *xs, int m, const void *base, size_t count, size_t offset,
                   const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                   int consensus, int normalize, float total, float lambda,
                   int in_dtype, int out_dtype, void *out, int *all_finite) {
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 r = mix8(xs, m, base, i, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, in_dtype);
        bad = _mm256_or_si256(bad, not_finite(r));
        store8(out, i, r, out_dtype);
    }
    if (i < count) {
        // The last few elements through the same 8-lane code, from zero-padded copies (a
        // padding lane's result is computed and dropped), so every element has one definition.
        size_t rest = count - i, size = in_dtype == MF_F32 ? 4 : 2;
        unsigned char padded[MF_MAX_TASK_MODELS + 1][32] __attribute__((aligned(32)));
        const void *pxs[MF_MAX_TASK_MODELS];
        memset(padded, 0, sizeof padded);
        for (int k = 0; k < m; k++) { memcpy(padded[k], (const unsigned char *)xs[k] + i * size, rest * size); pxs[k] = padded[k]; }
        memcpy(padded[m], (const unsigned char *)base + i * size, rest * size);
        __m256 r = mix8(pxs, m, padded[m], 0, offset + i, thresholds, ties_before, weights, consensus, normalize, total, lambda, in_dtype);
        float lanes[8];
        _mm256_storeu_ps(lanes, r);
        for (size_t lane = 0; lane < rest; lane++) {
            if (!finite1(lanes[lane])) bad = _mm256_set1_epi32(-1);
            store1(out, i + lane, lanes[lane], out_dtype);
        }
    }
    *all_finite = _mm256_testz_si256(bad, bad);
}

FAST int all_finite_fast(const void *p, size_t count, int dtype) {
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) bad = _mm256_or_si256(bad, not_finite(load8(p, i, dtype)));
    int finite = _mm256_testz_si256(bad, bad);
    for (; i < count; i++) finite &= finite1(load1(p, i, dtype));
    return finite;
}

// One function per dtype (pair), where the dtype branches fold away.
#define IN(T, NAME) \
    __attribute__((target("avx2,fma"))) static size_t counts_##NAME(const void *x, const void *base, size_t count, size_t offset, \
        uint32_t *bins, uint64_t *above, uint32_t low, uint32_t high, uint32_t *out_bits, uint32_t *indices, size_t capacity, int *all_finite) { \
        return counts_fast(x, base, count, offset, T, bins, above, low, high, out_bits, indices, capacity, all_finite); } \
    __attribute__((target("avx2,fma"))) static int all_finite_##NAME(const void *p, size_t count) { return all_finite_fast(p, count, T); }
IN(MF_F32, f32)
IN(MF_BF16, bf16)

#define MIX(IN, OUT, NAME) \
    __attribute__((target("avx2,fma"))) static void mix_##NAME(const void *const *xs, int m, const void *base, size_t count, \
        size_t offset, const uint32_t *thresholds, const uint64_t *ties_before, const float *weights, int consensus, \
        int normalize, float total, float lambda, void *out, int *all_finite) { \
        mix_fast(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); }
MIX(MF_F32, MF_F32, f32_f32)
MIX(MF_F32, MF_BF16, f32_bf16)
MIX(MF_BF16, MF_F32, bf16_f32)
MIX(MF_BF16, MF_BF16, bf16_bf16)

int mf_delta_counts(const void *x, const void *base, size_t count, size_t offset, int dtype, uint32_t *bins, uint64_t *above,
                    uint32_t low, uint32_t high, uint32_t *bits, uint32_t *indices, size_t capacity, size_t *found, int *all_finite) {
    if (!known(dtype) || !mf_merge_kernels_available()) return 0;
    *found = dtype == MF_F32 ? counts_f32(x, base, count, offset, bins, above, low, high, bits, indices, capacity, all_finite)
                             : counts_bf16(x, base, count, offset, bins, above, low, high, bits, indices, capacity, all_finite);
    return 1;
}

int mf_stored_all_finite(const void *p, size_t count, int dtype, int *all_finite) {
    if (!known(dtype) || !mf_merge_kernels_available()) return 0;
    *all_finite = dtype == MF_F32 ? all_finite_f32(p, count) : all_finite_bf16(p, count);
    return 1;
}

int mf_task_vector_mix(const void *const *xs, int m, const void *base, size_t count, size_t offset,
                       const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                       int consensus, int normalize, float total, float lambda,
                       int in_dtype, int out_dtype, void *out, int *all_finite) {
    if (m < 1 || m > MF_MAX_TASK_MODELS || !known(in_dtype) || !known(out_dtype) || !mf_merge_kernels_available()) return 0;
    switch (in_dtype * 2 + out_dtype) {
    case 0: mix_f32_f32(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, out, all_finite); break;
    case 1: mix_f32_bf16(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, out, all_finite); break;
    case 2: mix_bf16_f32(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, out, all_finite); break;
    default: mix_bf16_bf16(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, out, all_finite); break;
    }
    return 1;
}

#else  // no fast paths off x86-64: the Swift loops run

int mf_delta_counts(const void *x, const void *base, size_t count, size_t offset, int dtype, uint32_t *bins, uint64_t *above,
                    uint32_t low, uint32_t high, uint32_t *bits, uint32_t *indices, size_t capacity, size_t *found, int *all_finite) { return 0; }
int mf_stored_all_finite(const void *p, size_t count, int dtype, int *all_finite) { return 0; }
int mf_task_vector_mix(const void *const *xs, int m, const void *base, size_t count, size_t offset,
                       const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                       int consensus, int normalize, float total, float lambda,
                       int in_dtype, int out_dtype, void *out, int *all_finite) { return 0; }

#endif
