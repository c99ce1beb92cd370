// See include/CMergeKernels.h: TIES (and task arithmetic) from the stored bytes. The loops
// define nothing new: they are Sources/Merge/MagnitudeSelection.swift's first two passes and
// TaskArithmetic.mix's 8-lane loop, written with the intrinsics that round each operation as
// Swift's Float operations do (contraction off: no product is fused into a sum).
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

// The target of the loops' second instances: the same AVX2 intrinsics, compiled where the
// AVX-512VL register file (32 vector registers) and mask registers are there to use.
#define WIDE_TARGET "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq"

// Whether a loop runs its AVX-512VL instance: this CPU has it and no test asked for AVX2.
static int wide_allowed = 1;

static int wide_registers(void) {
    static int answer = -1;  // racing first calls compute the same answer; atomics as mf_merge_kernels_available
    int known = __atomic_load_n(&answer, __ATOMIC_RELAXED);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
        __atomic_store_n(&answer, known, __ATOMIC_RELAXED);
    }
    return known && __atomic_load_n(&wide_allowed, __ATOMIC_RELAXED);
}

int mf_task_vector_kernels_wide(int allowed) {
    __atomic_store_n(&wide_allowed, allowed != 0, __ATOMIC_RELAXED);
    return wide_registers();
}

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
// (mix_pieces below), so the per-model values stay in registers.
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
        for (int k = 0; k < m; k++) { memcpy(padded[k], (const unsigned char *)xs[k] + i * size, rest * size); models[k].x = padded[k]; }
        memcpy(padded[m], (const unsigned char *)base + i * size, rest * size);
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
// in two instances: for AVX2, and for AVX-512VL CPUs, where the same 8-lane code has 32
// vector registers instead of 16 and keeps every model's lanes out of memory.
#define WINDOWS_INSTANCE(T, FUNCTION, TARGET) \
    __attribute__((target(TARGET))) static void FUNCTION(const void *const *xs, int m, const void *base, size_t count, \
        size_t offset, const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits, \
        uint32_t *const *indices, size_t capacity, size_t *found, int *all_finite) { \
        switch (m) { \
        case 1: windows_fast(xs, 1, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        case 2: windows_fast(xs, 2, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        case 3: windows_fast(xs, 3, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        case 4: windows_fast(xs, 4, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); break; \
        default: windows_fast(xs, m, base, count, offset, T, low, high, above, bits, indices, capacity, found, all_finite); \
        } }
#define WINDOWS(T, NAME) \
    WINDOWS_INSTANCE(T, windows_##NAME##_avx2, "avx2,fma") \
    WINDOWS_INSTANCE(T, windows_##NAME##_avx512, WIDE_TARGET) \
    static void windows_##NAME(const void *const *xs, int m, const void *base, size_t count, size_t offset, \
        const uint32_t *low, const uint32_t *high, uint64_t *above, uint32_t *const *bits, uint32_t *const *indices, \
        size_t capacity, size_t *found, int *all_finite) { \
        if (wide_registers()) windows_##NAME##_avx512(xs, m, base, count, offset, low, high, above, bits, indices, capacity, found, all_finite); \
        else windows_##NAME##_avx2(xs, m, base, count, offset, low, high, above, bits, indices, capacity, found, all_finite); }
WINDOWS(MF_F32, f32)
WINDOWS(MF_BF16, bf16)

// ... and per model count up to 4, for AVX2 and for AVX-512VL, as the windows above.
#define MIX_INSTANCE(IN, OUT, FUNCTION, TARGET) \
    __attribute__((target(TARGET))) static void FUNCTION(const void *const *xs, int m, const void *base, size_t count, \
        size_t offset, const uint32_t *thresholds, const uint64_t *ties_before, const float *weights, int consensus, \
        int normalize, float total, float lambda, void *out, int *all_finite) { \
        switch (m) { \
        case 1: mix_fast(xs, 1, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        case 2: mix_fast(xs, 2, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        case 3: mix_fast(xs, 3, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        case 4: mix_fast(xs, 4, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); break; \
        default: mix_fast(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, IN, OUT, out, all_finite); \
        } }
#define MIX(IN, OUT, NAME) \
    MIX_INSTANCE(IN, OUT, mix_##NAME##_avx2, "avx2,fma") \
    MIX_INSTANCE(IN, OUT, mix_##NAME##_avx512, WIDE_TARGET) \
    static void mix_##NAME(const void *const *xs, int m, const void *base, size_t count, size_t offset, \
        const uint32_t *thresholds, const uint64_t *ties_before, const float *weights, int consensus, int normalize, \
        float total, float lambda, void *out, int *all_finite) { \
        if (wide_registers()) mix_##NAME##_avx512(xs, m, base, count, offset, thresholds, ties_before, weights, consensus, normalize, total, lambda, out, all_finite); \
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
int mf_task_vector_kernels_wide(int allowed) { return 0; }
int mf_task_vector_mix(const void *const *xs, int m, const void *base, size_t count, size_t offset,
                       const uint32_t *thresholds, const uint64_t *ties_before, const float *weights,
                       int consensus, int normalize, float total, float lambda,
                       int in_dtype, int out_dtype, void *out, int *all_finite) { return 0; }

#endif
