// See include/CMergeKernels.h: TIES (and task arithmetic) from the stored bytes. The loops
// define nothing new: they are Sources/Merge/MagnitudeSelection.swift's first two passes and
// TaskArithmetic.mix's 8-lane loop (also 16 lanes at a time on AVX-512 CPUs, the same
// operations per lane), written with the intrinsics that round each operation as Swift's
// Float operations do (contraction off: no product is fused into a sum).
#pragma clang fp contract(off)
// The loops over models carry `#pragma unroll`: inlined with a constant model count they
// unroll, and each model's lanes stay in registers; the instance for a count known only at
// run time (more than 4 models) cannot, which is expected, not worth a warning.
#pragma clang diagnostic ignored "-Wpass-failed"

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

// For each 8-bit lane mask, the indices of its set lanes in order, one byte each (the rest
// 0): the permutation that packs a vector's selected lanes to its front. Filled before main.
static uint64_t packed_lanes[256];

__attribute__((constructor)) static void fill_packed_lanes(void) {
    for (int mask = 0; mask < 256; mask++) {
        uint64_t v = 0;
        int b = 0;
        for (int lane = 0; lane < 8; lane++) if (mask >> lane & 1) v |= (uint64_t)lane << (8 * b++);
        packed_lanes[mask] = v;
    }
}

// The lanes of `hit` (a lane mask) of b and idx, packed to out_bits + n and indices + n:
// all 8 lanes are stored (the caller leaves room), n advances by how many were hit. No
// branch per lane: which lanes fall in a window is data, not something to predict.
FAST size_t pack_hits(__m256i b, __m256i idx, int hit, uint32_t *out_bits, uint32_t *indices, size_t n) {
    __m256i order = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)packed_lanes[hit]));
    _mm256_storeu_si256((__m256i *)(out_bits + n), _mm256_permutevar8x32_epi32(b, order));
    _mm256_storeu_si256((__m256i *)(indices + n), _mm256_permutevar8x32_epi32(idx, order));
    return n + (size_t)__builtin_popcount((unsigned)hit);
}

// Pass 1 for m models with windows, in one sweep (the base loaded and checked once): model
// k's entries above its window counted into above[k], those inside collected into bits[k]
// and indices[k] (room for capacity entries). `m` is a constant where this is inlined.
FAST void windows_fast(const void *const *xs, int m, const void *base, size_t count, size_t offset, int dtype,
                       const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits,
                       uint32_t *const *indices, size_t capacity, size_t *found, int *all_finite) {
    const void *x[MF_MAX_TASK_MODELS];
    __m256i lo[MF_MAX_TASK_MODELS], hi[MF_MAX_TASK_MODELS], over[MF_MAX_TASK_MODELS];
    uint32_t *out_bits[MF_MAX_TASK_MODELS], *out_indices[MF_MAX_TASK_MODELS];
    size_t n[MF_MAX_TASK_MODELS];
    for (int k = 0; k < m; k++) {
        x[k] = xs[k]; out_bits[k] = bits[k]; out_indices[k] = indices[k]; n[k] = 0;
        lo[k] = _mm256_set1_epi32((int)low[k]); hi[k] = _mm256_set1_epi32((int)high[k]); over[k] = _mm256_setzero_si256();
    }
    const __m256i magnitude_mask = _mm256_set1_epi32(0x7FFFFFFF), eight = _mm256_set1_epi32(8);
    __m256i bad = _mm256_setzero_si256();
    __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int)offset), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    size_t i = 0;
    for (; i + 8 <= count; i += 8, idx = _mm256_add_epi32(idx, eight)) {
        __m256 bv = load8(base, i, dtype);
        bad = _mm256_or_si256(bad, not_finite(bv));
#pragma unroll
        for (int k = 0; k < m; k++) {
            __m256 xv = load8(x[k], i, dtype);
            bad = _mm256_or_si256(bad, not_finite(xv));
            __m256i b = _mm256_and_si256(_mm256_castps_si256(_mm256_sub_ps(xv, bv)), magnitude_mask);
            __m256i h = _mm256_srli_epi32(b, 16), is_above = _mm256_cmpgt_epi32(h, hi[k]);
            over[k] = _mm256_sub_epi32(over[k], is_above);  // − (−1) per lane above
            __m256i outside = _mm256_or_si256(_mm256_cmpgt_epi32(lo[k], h), is_above);
            int hit = ~_mm256_movemask_ps(_mm256_castsi256_ps(outside)) & 0xFF;
            if (n[k] + 8 <= capacity) n[k] = pack_hits(b, idx, hit, out_bits[k], out_indices[k], n[k]);
            else n[k] = collect_window(b, i, offset, lo[k], hi[k], out_bits[k], out_indices[k], capacity, n[k]);
        }
    }
    int finite = _mm256_testz_si256(bad, bad);
    for (int k = 0; k < m; k++) {
        uint32_t lanes[8];
        _mm256_storeu_si256((__m256i *)lanes, over[k]);
        uint64_t total = 0;
        for (int lane = 0; lane < 8; lane++) total += lanes[lane];
        for (size_t j = i; j < count; j++) {
            uint32_t b = delta_bits1(x[k], base, j, dtype);
            total += b >> 16 > high[k];
            n[k] = collect_window1(b, j, offset, low[k], high[k], out_bits[k], out_indices[k], capacity, n[k]);
        }
        above[k] = total;
        found[k] = n[k];
    }
    for (size_t j = i; j < count; j++) {
        finite &= finite1(load1(base, j, dtype));
        for (int k = 0; k < m; k++) finite &= finite1(load1(x[k], j, dtype));
    }
    *all_finite = finite;
}

// The counting pass without a window: the high bits of every element counted into bins.
FAST void bins_fast(const void *x, const void *base, size_t count, int dtype, uint32_t *bins, int *all_finite) {
    uint32_t bin[8] __attribute__((aligned(32)));
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 xv = load8(x, i, dtype), bv = load8(base, i, dtype);
        bad = _mm256_or_si256(bad, _mm256_or_si256(not_finite(xv), not_finite(bv)));
        __m256i b = _mm256_and_si256(_mm256_castps_si256(_mm256_sub_ps(xv, bv)), _mm256_set1_epi32(0x7FFFFFFF));
        _mm256_store_si256((__m256i *)bin, _mm256_srli_epi32(b, 16));
        for (int lane = 0; lane < 8; lane++) bins[bin[lane]]++;
    }
    int finite = _mm256_testz_si256(bad, bad);
    for (; i < count; i++) {
        finite &= finite1(load1(x, i, dtype)) & finite1(load1(base, i, dtype));
        bins[delta_bits1(x, base, i, dtype) >> 16]++;
    }
    *all_finite = finite;
}

// TaskArithmetic.Lanes.isZero on integer lanes: all ones where x is 0.
FAST __m256i is_zero(__m256i x) { return _mm256_cmpeq_epi32(x, _mm256_setzero_si256()); }

// What the mix of one piece needs per model, copied out of the caller's arrays before the
// loop: the output stores may alias any array (they are char-typed), so reading the
// caller's arrays in the loop would reload them every iteration.
typedef struct {
    const void *x;
    __m256i threshold;
    __m256 weight;
    uint64_t ties_before;
} mix_model;

// Elements i ..< i + 8 (absolute index offset + i) of the mix: TaskArithmetic.mix's vector
// loop, with Contribution.values for each model. `m` is a constant where this is inlined
// (the MIX instances below), so the per-model values stay in registers.
FAST __m256 mix8(const mix_model *models, int m, const void *base, size_t i, size_t offset,
                 int consensus, int normalize, __m256 total, float lambda, int dtype) {
    const __m256i magnitude_mask = _mm256_set1_epi32(0x7FFFFFFF);
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 b = load8(base, i, dtype);
    __m256 values[MF_MAX_TASK_MODELS];
    size_t j = offset + i;
#pragma unroll
    for (int k = 0; k < m; k++) {
        __m256 d = _mm256_sub_ps(load8(models[k].x, i, dtype), b);
        __m256i bits = _mm256_and_si256(_mm256_castps_si256(d), magnitude_mask);
        __m256i t = models[k].threshold;
        // Kept: |δ| above the threshold, or equal to it at an index before the tie cut.
        __m256i above = _mm256_cmpgt_epi32(bits, t), keep;
        uint64_t ties_before = models[k].ties_before;
        if (j + 8 <= ties_before) keep = _mm256_or_si256(above, _mm256_cmpeq_epi32(bits, t));
        else if (j >= ties_before) keep = above;
        else {
            __m256i before = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(ties_before - j)), lane_index);
            keep = _mm256_or_si256(above, _mm256_and_si256(_mm256_cmpeq_epi32(bits, t), before));
        }
        __m256 v = _mm256_mul_ps(d, models[k].weight);
        values[k] = _mm256_and_ps(v, _mm256_castsi256_ps(keep));
    }
    __m256 mixed = _mm256_setzero_ps(), divisor = total;
    if (consensus) {
        __m256 s = _mm256_setzero_ps();
#pragma unroll
        for (int k = 0; k < m; k++) s = _mm256_add_ps(s, values[k]);
        // Negative: sign bit set and not ±0 (the majority sign of a zero sum is +).
        __m256i sb = _mm256_castps_si256(s);
        __m256i negative = _mm256_andnot_si256(is_zero(_mm256_and_si256(sb, magnitude_mask)), _mm256_srai_epi32(sb, 31));
        divisor = _mm256_setzero_ps();
    #pragma unroll
    for (int k = 0; k < m; k++) {
            __m256i vb = _mm256_castps_si256(values[k]);
            __m256i same_sign = _mm256_xor_si256(_mm256_srai_epi32(_mm256_xor_si256(vb, negative), 31), _mm256_set1_epi32(-1));
            __m256 counted = _mm256_castsi256_ps(_mm256_andnot_si256(is_zero(_mm256_and_si256(vb, magnitude_mask)), same_sign));
            mixed = _mm256_add_ps(mixed, _mm256_and_ps(values[k], counted));
            divisor = _mm256_add_ps(divisor, _mm256_and_ps(models[k].weight, counted));
        }
        __m256 none = _mm256_castsi256_ps(is_zero(_mm256_and_si256(_mm256_castps_si256(divisor), magnitude_mask)));
        divisor = _mm256_add_ps(_mm256_andnot_ps(none, divisor), _mm256_and_ps(none, _mm256_set1_ps(1)));
    } else {
#pragma unroll
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
    mix_model models[MF_MAX_TASK_MODELS];
    for (int k = 0; k < m; k++) {
        models[k].x = xs[k];
        models[k].threshold = _mm256_set1_epi32((int)thresholds[k]);
        models[k].weight = _mm256_set1_ps(weights[k]);
        models[k].ties_before = ties_before[k];
    }
    const __m256 total8 = _mm256_set1_ps(total);
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 r = mix8(models, m, base, i, offset, consensus, normalize, total8, lambda, in_dtype);
        bad = _mm256_or_si256(bad, not_finite(r));
        store8(out, i, r, out_dtype);
    }
    if (i < count) {
        // The last few elements through the same 8-lane code, from zero-padded copies (a
        // padding lane's result is computed and dropped), so every element has one definition.
        size_t rest = count - i, size = in_dtype == MF_F32 ? 4 : 2;
        unsigned char padded[MF_MAX_TASK_MODELS + 1][32] __attribute__((aligned(32)));
        memset(padded, 0, sizeof padded);
        for (int k = 0; k < m; k++) { memcpy(padded[k], element_at(xs[k], i, in_dtype), rest * size); models[k].x = padded[k]; }
        memcpy(padded[m], element_at(base, i, in_dtype), rest * size);
        __m256 r = mix8(models, m, padded[m], 0, offset + i, consensus, normalize, total8, lambda, in_dtype);
        float lanes[8];
        _mm256_storeu_ps(lanes, r);
        for (size_t lane = 0; lane < rest; lane++) {
            if (!finite1(lanes[lane])) bad = _mm256_set1_epi32(-1);
            store1(out, i + lane, lanes[lane], out_dtype);
        }
    }
    *all_finite = _mm256_testz_si256(bad, bad);
}

// The mix 16 lanes at a time with AVX-512 (mask registers for the keep, sign and count
// masks), for the loops' AVX-512 instances: the same operations per lane as mix8, so the
// same bits; the last count % 16 elements go through mix_fast.
typedef struct {
    const void *x;
    __m512i threshold;
    __m512 weight;
    uint64_t ties_before;
} wide_model;

WIDE __m512 mix16(const wide_model *models, int m, const void *base, size_t i, size_t offset,
                  int consensus, int normalize, __m512 total, float lambda, int dtype) {
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF), sign = _mm512_set1_epi32((int)0x80000000);
    __m512 b = load16(base, i, dtype);
    __m512 values[MF_MAX_TASK_MODELS];
    size_t j = offset + i;
#pragma unroll
    for (int k = 0; k < m; k++) {
        __m512 d = _mm512_sub_ps(load16(models[k].x, i, dtype), b);
        __m512i bits = _mm512_and_si512(_mm512_castps_si512(d), magnitude);
        __m512i t = models[k].threshold;
        __mmask16 keep = _mm512_cmpgt_epi32_mask(bits, t);
        uint64_t ties_before = models[k].ties_before;
        if (j + 16 <= ties_before) keep |= _mm512_cmpeq_epi32_mask(bits, t);
        else if (j < ties_before) keep |= _mm512_cmpeq_epi32_mask(bits, t) & (__mmask16)((1u << (ties_before - j)) - 1);
        values[k] = _mm512_maskz_mul_ps(keep, d, models[k].weight);  // +0 where not kept, as mix8's mask
    }
    __m512 mixed = _mm512_setzero_ps(), divisor = total;
    if (consensus) {
        __m512 s = _mm512_setzero_ps();
#pragma unroll
        for (int k = 0; k < m; k++) s = _mm512_add_ps(s, values[k]);
        __m512i sb = _mm512_castps_si512(s);
        __mmask16 negative = _mm512_test_epi32_mask(sb, sign) & _mm512_test_epi32_mask(sb, magnitude);
        divisor = _mm512_setzero_ps();
#pragma unroll
        for (int k = 0; k < m; k++) {
            __m512i vb = _mm512_castps_si512(values[k]);
            __mmask16 counted = _mm512_test_epi32_mask(vb, magnitude) & (__mmask16)~(_mm512_test_epi32_mask(vb, sign) ^ negative);
            mixed = _mm512_add_ps(mixed, _mm512_maskz_mov_ps(counted, values[k]));
            divisor = _mm512_add_ps(divisor, _mm512_maskz_mov_ps(counted, models[k].weight));
        }
        divisor = _mm512_mask_mov_ps(divisor, _mm512_testn_epi32_mask(_mm512_castps_si512(divisor), magnitude), _mm512_set1_ps(1));
    } else {
#pragma unroll
        for (int k = 0; k < m; k++) mixed = _mm512_add_ps(mixed, values[k]);
    }
    if (normalize) mixed = _mm512_div_ps(mixed, divisor);
    if (lambda != 1) mixed = _mm512_mul_ps(mixed, _mm512_set1_ps(lambda));
    return _mm512_add_ps(b, mixed);
}

WIDE void mix_wide(const void *const *xs, int m, const void *base, size_t count, size_t offset,
                   const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                   int consensus, int normalize, float total, float lambda,
                   int in_dtype, int out_dtype, void *out, int *all_finite) {
    wide_model models[MF_MAX_TASK_MODELS];
    for (int k = 0; k < m; k++) {
        models[k].x = xs[k];
        models[k].threshold = _mm512_set1_epi32((int)thresholds[k]);
        models[k].weight = _mm512_set1_ps(weights[k]);
        models[k].ties_before = ties_before[k];
    }
    const __m512 total16 = _mm512_set1_ps(total);
    __mmask16 bad = 0;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 r = mix16(models, m, base, i, offset, consensus, normalize, total16, lambda, in_dtype);
        bad |= not_finite16(r);
        store16(out, i, r, out_dtype);
    }
    int finite = 1;
    if (i < count) {
        const void *rest[MF_MAX_TASK_MODELS];
        for (int k = 0; k < m; k++) rest[k] = element_at(xs[k], i, in_dtype);
        mix_fast(rest, m, element_at(base, i, in_dtype), count - i, offset + i, thresholds, ties_before, weights,
                 consensus, normalize, total, lambda, in_dtype, out_dtype, element_at_mutable(out, i, out_dtype), &finite);
    }
    *all_finite = finite && bad == 0;
}

// Pass 1 (windows_fast) 16 lanes at a time, for the AVX-512 instances: window hits packed by
// the compress instruction instead of a table; the last count % 16 elements through
// windows_fast.
WIDE void windows_wide(const void *const *xs, int m, const void *base, size_t count, size_t offset, int dtype,
                       const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits,
                       uint32_t *const *indices, size_t capacity, size_t *found, int *all_finite) {
    // The 16 stores at n[k] need room: n[k] ≤ i, so there is when capacity ≥ count.
    if (capacity < count) {
        windows_fast(xs, m, base, count, offset, dtype, low, high, above, bits, indices, capacity, found, all_finite);
        return;
    }
    const void *x[MF_MAX_TASK_MODELS];
    __m512i lo[MF_MAX_TASK_MODELS], hi[MF_MAX_TASK_MODELS], over[MF_MAX_TASK_MODELS];
    size_t n[MF_MAX_TASK_MODELS];
    for (int k = 0; k < m; k++) {
        x[k] = xs[k]; n[k] = 0; over[k] = _mm512_setzero_si512();
        lo[k] = _mm512_set1_epi32((int)low[k]); hi[k] = _mm512_set1_epi32((int)high[k]);
    }
    const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF), one = _mm512_set1_epi32(1);
    __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)offset), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __mmask16 bad = 0;
    size_t i = 0;
    for (; i + 16 <= count; i += 16, idx = _mm512_add_epi32(idx, _mm512_set1_epi32(16))) {
        __m512 bv = load16(base, i, dtype);
        bad |= not_finite16(bv);
#pragma unroll
        for (int k = 0; k < m; k++) {
            __m512 xv = load16(x[k], i, dtype);
            bad |= not_finite16(xv);
            __m512i b = _mm512_and_si512(_mm512_castps_si512(_mm512_sub_ps(xv, bv)), magnitude);
            __m512i h = _mm512_srli_epi32(b, 16);
            __mmask16 is_above = _mm512_cmpgt_epi32_mask(h, hi[k]);
            over[k] = _mm512_mask_add_epi32(over[k], is_above, over[k], one);
            __mmask16 hit = _mm512_cmpge_epi32_mask(h, lo[k]) & (__mmask16)~is_above;
            _mm512_storeu_si512(bits[k] + n[k], _mm512_maskz_compress_epi32(hit, b));
            _mm512_storeu_si512(indices[k] + n[k], _mm512_maskz_compress_epi32(hit, idx));
            n[k] += (size_t)__builtin_popcount((unsigned)hit);
        }
    }
    int finite = bad == 0;
    for (int k = 0; k < m; k++) above[k] = (uint64_t)_mm512_reduce_add_epi32(over[k]);
    if (i < count) {
        size_t rest_found[MF_MAX_TASK_MODELS];
        uint64_t rest_above[MF_MAX_TASK_MODELS];
        const void *rest[MF_MAX_TASK_MODELS];
        uint32_t *rest_bits[MF_MAX_TASK_MODELS], *rest_indices[MF_MAX_TASK_MODELS];
        // Collected after what the vector loop found: room for all, as n[k] ≤ i.
        for (int k = 0; k < m; k++) {
            rest[k] = element_at(x[k], i, dtype);
            rest_bits[k] = bits[k] + n[k]; rest_indices[k] = indices[k] + n[k];
        }
        int rest_finite = 1;
        windows_fast(rest, m, element_at(base, i, dtype), count - i, offset + i, dtype, low, high, rest_above,
                     rest_bits, rest_indices, count - i, rest_found, &rest_finite);
        finite = finite && rest_finite;
        for (int k = 0; k < m; k++) { above[k] += rest_above[k]; n[k] += rest_found[k]; }
    }
    for (int k = 0; k < m; k++) found[k] = n[k];
    *all_finite = finite;
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
    __attribute__((target("avx2,fma"))) static void bins_##NAME(const void *x, const void *base, size_t count, uint32_t *bins, \
        int *all_finite) { bins_fast(x, base, count, T, bins, all_finite); } \
    __attribute__((target("avx2,fma"))) static int all_finite_##NAME(const void *p, size_t count) { return all_finite_fast(p, count, T); }
IN(MF_F32, f32)
IN(MF_BF16, bf16)

// ... and per model count up to 4, where the loops over models unroll (more: m at run time),
// in two instances: for AVX2 (8 lanes) and for AVX-512 (16 lanes, windows_wide).
#define WINDOWS_INSTANCE(T, FUNCTION, TARGET, LOOP) \
    __attribute__((target(TARGET))) static void FUNCTION(const void *const *xs, int m, const void *base, size_t count, \
        size_t offset, const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits, \
        uint32_t *const *indices, size_t capacity, size_t *found, int *all_finite) { \
        switch (m) { \
        case 1: LOOP(xs, 1, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        case 2: LOOP(xs, 2, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        case 3: LOOP(xs, 3, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        case 4: LOOP(xs, 4, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        default: LOOP(xs, m, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); \
        } }
#define WINDOWS(T, NAME) \
    WINDOWS_INSTANCE(T, windows_##NAME##_avx2, "avx2,fma", windows_fast) \
    WINDOWS_INSTANCE(T, windows_##NAME##_avx512, WIDE_TARGET, windows_wide) \
    static void windows_##NAME(const void *const *xs, int m, const void *base, size_t count, size_t offset, \
        const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits, uint32_t *const *indices, \
        size_t capacity, size_t *found, int *all_finite) { \
        if (mf_merge_kernels_wide()) windows_##NAME##_avx512(xs, m, base, count, offset, low, high, above, bits, indices, capacity, found, all_finite); \
        else windows_##NAME##_avx2(xs, m, base, count, offset, low, high, above, bits, indices, capacity, found, all_finite); }
WINDOWS(MF_F32, f32)
WINDOWS(MF_BF16, bf16)

// ... and per model count up to 4, for AVX2 (8 lanes) and for AVX-512 (16 lanes, mix_wide).
#define MIX_INSTANCE(IN, OUT, FUNCTION, TARGET, LOOP) \
    __attribute__((target(TARGET))) static void FUNCTION(const void *const *xs, int m, const void *base, size_t count, \
        size_t offset, const uint32_t *thresholds, const uint64_t *ties_before, const float *weights, int consensus, \
        int normalize, float total, float lambda, void *out, int *all_finite) { \
        switch (m) { \
        case 1: LOOP(xs, 1, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        case 2: LOOP(xs, 2, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        case 3: LOOP(xs, 3, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        case 4: LOOP(xs, 4, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        default: LOOP(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); \
        } }
#define MIX(IN, OUT, NAME) \
    MIX_INSTANCE(IN, OUT, mix_##NAME##_avx2, "avx2,fma", mix_fast) \
    MIX_INSTANCE(IN, OUT, mix_##NAME##_avx512, WIDE_TARGET, mix_wide) \
    static void mix_##NAME(const void *const *xs, int m, const void *base, size_t count, size_t offset, \
        const uint32_t *thresholds, const uint64_t *ties_before, const float *weights, int consensus, int normalize, \
        float total, float lambda, void *out, int *all_finite) { \
        if (mf_merge_kernels_wide()) mix_##NAME##_avx512(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, out, all_finite); \
        else mix_##NAME##_avx2(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, out, all_finite); }
MIX(MF_F32, MF_F32, f32_f32)
MIX(MF_F32, MF_BF16, f32_bf16)
MIX(MF_BF16, MF_F32, bf16_f32)
MIX(MF_BF16, MF_BF16, bf16_bf16)

int mf_delta_bins(const void *x, const void *base, size_t count, int dtype, uint32_t *bins, int *all_finite) {
    if (!known(dtype) || !mf_merge_kernels_available()) return 0;
    if (dtype == MF_F32) bins_f32(x, base, count, bins, all_finite);
    else bins_bf16(x, base, count, bins, all_finite);
    return 1;
}

int mf_delta_windows(const void *const *xs, int m, const void *base, size_t count, size_t offset, int dtype,
                     const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits,
                     uint32_t *const *indices, size_t capacity, size_t *found, int *all_finite) {
    if (m < 1 || m > MF_MAX_TASK_MODELS || !known(dtype) || !mf_merge_kernels_available()) return 0;
    if (dtype == MF_F32) windows_f32(xs, m, base, count, offset, low, high, above, bits, indices, capacity, found, all_finite);
    else windows_bf16(xs, m, base, count, offset, low, high, above, bits, indices, capacity, found, all_finite);
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

int mf_delta_bins(const void *x, const void *base, size_t count, int dtype, uint32_t *bins, int *all_finite) { return 0; }
int mf_delta_windows(const void *const *xs, int m, const void *base, size_t count, size_t offset, int dtype,
                     const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits,
                     uint32_t *const *indices, size_t capacity, size_t *found, int *all_finite) { return 0; }
int mf_stored_all_finite(const void *p, size_t count, int dtype, int *all_finite) { return 0; }
int mf_task_vector_mix(const void *const *xs, int m, const void *base, size_t count, size_t offset,
                       const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                       int consensus, int normalize, float total, float lambda,
                       int in_dtype, int out_dtype, void *out, int *all_finite) { return 0; }

#endif
