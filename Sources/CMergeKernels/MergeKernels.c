// See include/CMergeKernels.h. Every product and sum below is written as the intrinsic that
// rounds it, and contraction is off, so the compiler cannot fuse or reorder what the Swift
// loops (Sources/Merge/Linear+Stored.swift, Slerp+Stored.swift) define.
#pragma clang fp contract(off)

#include "CMergeKernels.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include "Lanes.h"

int mf_merge_kernels_available(void) {
    // Merge threads may ask at once the first time: they compute the same answer, and the
    // atomics make their racing stores well defined.
    static int answer = -1;
    int known = __atomic_load_n(&answer, __ATOMIC_RELAXED);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&answer, known, __ATOMIC_RELAXED);
    }
    return known;
}

static int wide_allowed = 1;

int mf_merge_kernels_wide(void) {
    static int answer = -1;  // racing first calls compute the same answer, as above
    int known = __atomic_load_n(&answer, __ATOMIC_RELAXED);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
        __atomic_store_n(&answer, known, __ATOMIC_RELAXED);
    }
    return known && __atomic_load_n(&wide_allowed, __ATOMIC_RELAXED);
}

int mf_merge_kernels_allow_wide(int allowed) {
    __atomic_store_n(&wide_allowed, allowed != 0, __ATOMIC_RELAXED);
    return mf_merge_kernels_wide();
}

// The loops take their dtypes as arguments and are inlined into one function per pair
// (below), where the dtypes are constants and every branch on them folds away.
__attribute__((target("avx2,fma"), always_inline))
static inline void linear_fast(const void *const *xs, int n, size_t count, const float *weights,
                        int has_divisor, float divisor, int has_scale, float scale,
                        int in_dtype, int out_dtype, void *out, int *all_finite) {
    __m256i bad = _mm256_setzero_si256();
    const __m256 zero = _mm256_setzero_ps(), d = _mm256_set1_ps(divisor), s = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 acc = _mm256_fmadd_ps(load8(xs[0], i, in_dtype), _mm256_set1_ps(weights[0]), zero);
        for (int k = 1; k < n; k++) acc = _mm256_fmadd_ps(load8(xs[k], i, in_dtype), _mm256_set1_ps(weights[k]), acc);
        if (has_divisor) acc = _mm256_div_ps(acc, d);
        if (has_scale) acc = _mm256_mul_ps(acc, s);
        bad = _mm256_or_si256(bad, not_finite(acc));
        store8(out, i, acc, out_dtype);
    }
    int finite = _mm256_testz_si256(bad, bad);
    for (; i < count; i++) {
        float acc = __builtin_fmaf(load1(xs[0], i, in_dtype), weights[0], 0.0f);
        for (int k = 1; k < n; k++) acc = __builtin_fmaf(load1(xs[k], i, in_dtype), weights[k], acc);
        if (has_divisor) acc = acc / divisor;
        if (has_scale) acc = acc * scale;
        finite &= finite1(acc);
        store1(out, i, acc, out_dtype);
    }
    *all_finite = finite;
}

__attribute__((target("avx2,fma"), always_inline))
static inline void pair_sum_fast(const void *v0, const void *v1, size_t count, float w0, float w1,
                          int in_dtype, int out_dtype, void *out, int *all_finite) {
    __m256i bad = _mm256_setzero_si256();
    const __m256 a = _mm256_set1_ps(w0), b = _mm256_set1_ps(w1);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 sum = _mm256_add_ps(_mm256_mul_ps(a, load8(v0, i, in_dtype)), _mm256_mul_ps(b, load8(v1, i, in_dtype)));
        bad = _mm256_or_si256(bad, not_finite(sum));
        store8(out, i, sum, out_dtype);
    }
    int finite = _mm256_testz_si256(bad, bad);
    for (; i < count; i++) {
        float p0 = w0 * load1(v0, i, in_dtype), p1 = w1 * load1(v1, i, in_dtype);
        float sum = p0 + p1;
        finite &= finite1(sum);
        store1(out, i, sum, out_dtype);
    }
    *all_finite = finite;
}

// The same loops 16 lanes at a time, for CPUs with AVX-512: per lane the same operations, so
// the same bits; the last count % 16 elements through the 8-lane loops.
WIDE void linear_wide(const void *const *xs, int n, size_t count, const float *weights,
                      int has_divisor, float divisor, int has_scale, float scale,
                      int in_dtype, int out_dtype, void *out, int *all_finite) {
    __mmask16 bad = 0;
    const __m512 zero = _mm512_setzero_ps(), d = _mm512_set1_ps(divisor), s = _mm512_set1_ps(scale);
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 acc = _mm512_fmadd_ps(load16(xs[0], i, in_dtype), _mm512_set1_ps(weights[0]), zero);
        for (int k = 1; k < n; k++) acc = _mm512_fmadd_ps(load16(xs[k], i, in_dtype), _mm512_set1_ps(weights[k]), acc);
        if (has_divisor) acc = _mm512_div_ps(acc, d);
        if (has_scale) acc = _mm512_mul_ps(acc, s);
        bad |= not_finite16(acc);
        store16(out, i, acc, out_dtype);
    }
    int finite = 1;
    if (i < count) {
        const void *rest[n];
        for (int k = 0; k < n; k++) rest[k] = element_at(xs[k], i, in_dtype);
        linear_fast(rest, n, count - i, weights, has_divisor, divisor, has_scale, scale, in_dtype, out_dtype,
                    element_at_mutable(out, i, out_dtype), &finite);
    }
    *all_finite = finite && bad == 0;
}

WIDE void pair_sum_wide(const void *v0, const void *v1, size_t count, float w0, float w1,
                        int in_dtype, int out_dtype, void *out, int *all_finite) {
    __mmask16 bad = 0;
    const __m512 a = _mm512_set1_ps(w0), b = _mm512_set1_ps(w1);
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 sum = _mm512_add_ps(_mm512_mul_ps(a, load16(v0, i, in_dtype)), _mm512_mul_ps(b, load16(v1, i, in_dtype)));
        bad |= not_finite16(sum);
        store16(out, i, sum, out_dtype);
    }
    int finite = 1;
    if (i < count) {
        pair_sum_fast(element_at(v0, i, in_dtype), element_at(v1, i, in_dtype), count - i, w0, w1,
                      in_dtype, out_dtype, element_at_mutable(out, i, out_dtype), &finite);
    }
    *all_finite = finite && bad == 0;
}

// One function per dtype pair, where the dtype branches fold away, in two instances (AVX2;
// AVX-512 where mf_merge_kernels_wide says so).
#define PAIR(IN, OUT, NAME) \
    __attribute__((target("avx2,fma"))) static void linear_##NAME##_avx2(const void *const *xs, int n, size_t count, \
        const float *weights, int has_divisor, float divisor, int has_scale, float scale, void *out, int *all_finite) { \
        linear_fast(xs, n, count, weights, has_divisor, divisor, has_scale, scale, IN, OUT, out, all_finite); } \
    __attribute__((target(WIDE_TARGET))) static void linear_##NAME##_avx512(const void *const *xs, int n, size_t count, \
        const float *weights, int has_divisor, float divisor, int has_scale, float scale, void *out, int *all_finite) { \
        linear_wide(xs, n, count, weights, has_divisor, divisor, has_scale, scale, IN, OUT, out, all_finite); } \
    static void linear_##NAME(const void *const *xs, int n, size_t count, const float *weights, int has_divisor, \
        float divisor, int has_scale, float scale, void *out, int *all_finite) { \
        if (mf_merge_kernels_wide()) linear_##NAME##_avx512(xs, n, count, weights, has_divisor, divisor, has_scale, scale, out, all_finite); \
        else linear_##NAME##_avx2(xs, n, count, weights, has_divisor, divisor, has_scale, scale, out, all_finite); } \
    __attribute__((target("avx2,fma"))) static void pair_sum_##NAME##_avx2(const void *v0, const void *v1, size_t count, \
        float w0, float w1, void *out, int *all_finite) { \
        pair_sum_fast(v0, v1, count, w0, w1, IN, OUT, out, all_finite); } \
    __attribute__((target(WIDE_TARGET))) static void pair_sum_##NAME##_avx512(const void *v0, const void *v1, size_t count, \
        float w0, float w1, void *out, int *all_finite) { \
        pair_sum_wide(v0, v1, count, w0, w1, IN, OUT, out, all_finite); } \
    static void pair_sum_##NAME(const void *v0, const void *v1, size_t count, float w0, float w1, void *out, int *all_finite) { \
        if (mf_merge_kernels_wide()) pair_sum_##NAME##_avx512(v0, v1, count, w0, w1, out, all_finite); \
        else pair_sum_##NAME##_avx2(v0, v1, count, w0, w1, out, all_finite); }
PAIR(MF_F32, MF_F32, f32_f32)
PAIR(MF_F32, MF_BF16, f32_bf16)
PAIR(MF_BF16, MF_F32, bf16_f32)
PAIR(MF_BF16, MF_BF16, bf16_bf16)

__attribute__((target("avx2,fma"), always_inline))
static inline double lanes_sum(__m256d a, __m256d b) {
    double lanes[4];
    _mm256_storeu_pd(lanes, _mm256_add_pd(a, b));
    double sum = 0;
    for (int j = 0; j < 4; j++) sum += lanes[j];
    return sum;
}

__attribute__((target("avx2,fma"), always_inline))
static inline void dot_and_squares_fast(const void *v0, const void *v1, size_t count, int in_dtype, double *sums) {
    __m256d xy0 = _mm256_setzero_pd(), xy1 = xy0, xx0 = xy0, xx1 = xy0, yy0 = xy0, yy1 = xy0;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 u = load8(v0, i, in_dtype), v = load8(v1, i, in_dtype);
        __m256d ul = _mm256_cvtps_pd(_mm256_castps256_ps128(u)), uh = _mm256_cvtps_pd(_mm256_extractf128_ps(u, 1));
        __m256d vl = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), vh = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        xy0 = _mm256_add_pd(xy0, _mm256_mul_pd(ul, vl)); xy1 = _mm256_add_pd(xy1, _mm256_mul_pd(uh, vh));
        xx0 = _mm256_add_pd(xx0, _mm256_mul_pd(ul, ul)); xx1 = _mm256_add_pd(xx1, _mm256_mul_pd(uh, uh));
        yy0 = _mm256_add_pd(yy0, _mm256_mul_pd(vl, vl)); yy1 = _mm256_add_pd(yy1, _mm256_mul_pd(vh, vh));
    }
    double xy = lanes_sum(xy0, xy1), xx = lanes_sum(xx0, xx1), yy = lanes_sum(yy0, yy1);
    for (; i < count; i++) {
        double u = load1(v0, i, in_dtype), v = load1(v1, i, in_dtype);
        xy += u * v; xx += u * u; yy += v * v;
    }
    sums[0] = xy; sums[1] = xx; sums[2] = yy;
}

// dot_and_squares_fast with one 8-lane Double accumulator per sum: lanes 0–3 are the 8-lane
// loop's xy0 (elements 8j … 8j + 3), lanes 4–7 its xy1, each added to in the same order, so
// the same sums; 16 elements a step (two adds to each accumulator, in element order).
WIDE void dot_and_squares_wide(const void *v0, const void *v1, size_t count, int in_dtype, double *sums) {
    __m512d xy = _mm512_setzero_pd(), xx = xy, yy = xy;
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 u = load16(v0, i, in_dtype), v = load16(v1, i, in_dtype);
        __m512d ul = _mm512_cvtps_pd(_mm512_castps512_ps256(u)), vl = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d uh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
        __m512d vh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        xy = _mm512_add_pd(xy, _mm512_mul_pd(ul, vl)); xx = _mm512_add_pd(xx, _mm512_mul_pd(ul, ul)); yy = _mm512_add_pd(yy, _mm512_mul_pd(vl, vl));
        xy = _mm512_add_pd(xy, _mm512_mul_pd(uh, vh)); xx = _mm512_add_pd(xx, _mm512_mul_pd(uh, uh)); yy = _mm512_add_pd(yy, _mm512_mul_pd(vh, vh));
    }
    for (; i + 8 <= count; i += 8) {
        __m512d ul = _mm512_cvtps_pd(load8(v0, i, in_dtype)), vl = _mm512_cvtps_pd(load8(v1, i, in_dtype));
        xy = _mm512_add_pd(xy, _mm512_mul_pd(ul, vl)); xx = _mm512_add_pd(xx, _mm512_mul_pd(ul, ul)); yy = _mm512_add_pd(yy, _mm512_mul_pd(vl, vl));
    }
    double s_xy = lanes_sum(_mm512_castpd512_pd256(xy), _mm512_extractf64x4_pd(xy, 1));
    double s_xx = lanes_sum(_mm512_castpd512_pd256(xx), _mm512_extractf64x4_pd(xx, 1));
    double s_yy = lanes_sum(_mm512_castpd512_pd256(yy), _mm512_extractf64x4_pd(yy, 1));
    for (; i < count; i++) {
        double a = load1(v0, i, in_dtype), b = load1(v1, i, in_dtype);
        s_xy += a * b; s_xx += a * a; s_yy += b * b;
    }
    sums[0] = s_xy; sums[1] = s_xx; sums[2] = s_yy;
}

#define DOT(T, NAME) \
    __attribute__((target("avx2,fma"))) static void dot_and_squares_##NAME##_avx2(const void *v0, const void *v1, size_t count, double *sums) { \
        dot_and_squares_fast(v0, v1, count, T, sums); } \
    __attribute__((target(WIDE_TARGET))) static void dot_and_squares_##NAME##_avx512(const void *v0, const void *v1, size_t count, double *sums) { \
        dot_and_squares_wide(v0, v1, count, T, sums); } \
    static void dot_and_squares_##NAME(const void *v0, const void *v1, size_t count, double *sums) { \
        if (mf_merge_kernels_wide()) dot_and_squares_##NAME##_avx512(v0, v1, count, sums); \
        else dot_and_squares_##NAME##_avx2(v0, v1, count, sums); }
DOT(MF_F32, f32)
DOT(MF_BF16, bf16)

int mf_dot_and_squares(const void *v0, const void *v1, size_t count, int in_dtype, double *sums) {
    if (!known(in_dtype) || !mf_merge_kernels_available()) return 0;
    if (in_dtype == MF_F32) dot_and_squares_f32(v0, v1, count, sums); else dot_and_squares_bf16(v0, v1, count, sums);
    return 1;
}

int mf_linear_fma(const void *const *xs, int n, size_t count, const float *weights,
                  int has_divisor, float divisor, int has_scale, float scale,
                  int in_dtype, int out_dtype, void *out, int *all_finite) {
    if (n < 1 || !known(in_dtype) || !known(out_dtype) || !mf_merge_kernels_available()) return 0;
    switch (in_dtype * 2 + out_dtype) {
    case 0: linear_f32_f32(xs, n, count, weights, has_divisor, divisor, has_scale, scale, out, all_finite); break;
    case 1: linear_f32_bf16(xs, n, count, weights, has_divisor, divisor, has_scale, scale, out, all_finite); break;
    case 2: linear_bf16_f32(xs, n, count, weights, has_divisor, divisor, has_scale, scale, out, all_finite); break;
    default: linear_bf16_bf16(xs, n, count, weights, has_divisor, divisor, has_scale, scale, out, all_finite); break;
    }
    return 1;
}

int mf_pair_sum(const void *v0, const void *v1, size_t count, float w0, float w1,
                int in_dtype, int out_dtype, void *out, int *all_finite) {
    if (!known(in_dtype) || !known(out_dtype) || !mf_merge_kernels_available()) return 0;
    switch (in_dtype * 2 + out_dtype) {
    case 0: pair_sum_f32_f32(v0, v1, count, w0, w1, out, all_finite); break;
    case 1: pair_sum_f32_bf16(v0, v1, count, w0, w1, out, all_finite); break;
    case 2: pair_sum_bf16_f32(v0, v1, count, w0, w1, out, all_finite); break;
    default: pair_sum_bf16_bf16(v0, v1, count, w0, w1, out, all_finite); break;
    }
    return 1;
}

#else  // no fast paths off x86-64: the Swift loops run

int mf_merge_kernels_available(void) { return 0; }

int mf_linear_fma(const void *const *xs, int n, size_t count, const float *weights,
                  int has_divisor, float divisor, int has_scale, float scale,
                  int in_dtype, int out_dtype, void *out, int *all_finite) { return 0; }

int mf_pair_sum(const void *v0, const void *v1, size_t count, float w0, float w1,
                int in_dtype, int out_dtype, void *out, int *all_finite) { return 0; }

int mf_dot_and_squares(const void *v0, const void *v1, size_t count, int in_dtype, double *sums) { return 0; }

int mf_merge_kernels_allow_wide(int allowed) { return 0; }

#endif
