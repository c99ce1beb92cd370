// See include/CModelKernels.h. The products are register tiles two registers wide (16 columns
// with AVX2, 32 with AVX-512) and 4 (AVX2) or 8 (AVX-512) rows high, streamed over the inner
// dimension: at a head size of 32 and sequences of 256, OpenBLAS's packing and dispatch cost
// more than the arithmetic of such small products.
#include "CModelKernels.h"
#include <math.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define FAST __attribute__((target("avx2,fma"))) static
#define INLINE __attribute__((target("avx2,fma"), always_inline)) static inline
#define FAST512 __attribute__((target("avx512f,avx2,fma"))) static
#define INLINE512 __attribute__((target("avx512f,avx2,fma"), always_inline)) static inline

// Lanes of the product tiles: 16 where the CPU has AVX-512, 8 where it has AVX2 and FMA, 0
// (no fast path) elsewhere. Each element of a product is the same chain of fused
// multiply-adds at either width, so the bits agree. Workers may ask at once the first time:
// they compute the same answer, and the atomics make their racing stores well defined.
static int tile_lanes = -1;

int mf_model_kernels_lanes(void) {
    int lanes = __atomic_load_n(&tile_lanes, __ATOMIC_RELAXED);
    if (lanes < 0) {
        __builtin_cpu_init();
        lanes = !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 0
              : __builtin_cpu_supports("avx512f") ? 16 : 8;
        __atomic_store_n(&tile_lanes, lanes, __ATOMIC_RELAXED);
    }
    return lanes;
}

int mf_model_kernels_available(void) { return mf_model_kernels_lanes() != 0; }

void mf_model_kernels_set_lanes(int lanes) {
    int native = mf_model_kernels_lanes();
    if ((lanes == 8 && native != 0) || (lanes == 16 && __builtin_cpu_supports("avx512f"))) __atomic_store_n(&tile_lanes, lanes, __ATOMIC_RELAXED);
}

// The first n lanes (0 ≤ n ≤ 8) set.
INLINE __m256i first_lanes(int n) {
    static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(bits + 8 - n));
}

// C[r][0..<cols] = alpha · Σ_{p<k} A(r, p) · B[p][0..<cols] for
// r < R, where A(r, p) = a[r·ars + p·acs]: any orientation of A, one broadcast per element.
INLINE void tile(const int R, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                 const float *b, ptrdiff_t ldb, int cols, float *c, ptrdiff_t ldc, float alpha) {
    __m256 acc[4][2];
    for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    if (cols == 16) {
        for (int p = 0; p < k; p++) {
            const float *bp = b + p * ldb, *ap = a + p * acs;
            __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
            for (int r = 0; r < R; r++) {
                __m256 x = _mm256_broadcast_ss(ap + r * ars);
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    } else {
        // Masked loads never touch the lanes past `cols` (they may lie past the buffer).
        __m256i m0 = first_lanes(cols < 8 ? cols : 8), m1 = first_lanes(cols > 8 ? cols - 8 : 0);
        for (int p = 0; p < k; p++) {
            const float *bp = b + p * ldb, *ap = a + p * acs;
            __m256 b0 = _mm256_maskload_ps(bp, m0), b1 = _mm256_maskload_ps(bp + 8, m1);
            for (int r = 0; r < R; r++) {
                __m256 x = _mm256_broadcast_ss(ap + r * ars);
                acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
            }
        }
    }
    __m256 scale = _mm256_set1_ps(alpha);
    __m256i m0 = first_lanes(cols < 8 ? cols : 8), m1 = first_lanes(cols > 8 ? cols - 8 : 0);
    for (int r = 0; r < R; r++) {
        float *cr = c + r * ldc;
        __m256 y0 = _mm256_mul_ps(scale, acc[r][0]), y1 = _mm256_mul_ps(scale, acc[r][1]);
        _mm256_maskstore_ps(cr, m0, y0);
        _mm256_maskstore_ps(cr + 8, m1, y1);
    }
}

// `gemm` with 8-lane tiles.
FAST void gemm8(int M, int N, int K, const float *a, ptrdiff_t ars, ptrdiff_t acs,
               const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha) {
    for (int i = 0; i < M; i += 4) {
        int rows = M - i < 4 ? M - i : 4;
        for (int j = 0; j < N; j += 16) {
            int cols = N - j < 16 ? N - j : 16;
            const float *ai = a + i * ars, *bj = b + j;
            float *cij = c + i * ldc + j;
            switch (rows) {
            case 4: tile(4, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 3: tile(3, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 2: tile(2, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            default: tile(1, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            }
        }
    }
}

// `tile` with 16-lane registers and up to 8 rows (16 accumulators of the 32 registers):
// R rows × 32 columns, `cols` ≤ 32 of them valid.
INLINE512 void tile512(const int R, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                       const float *b, ptrdiff_t ldb, int cols, float *c, ptrdiff_t ldc, float alpha) {
    __m512 acc[8][2];
    for (int r = 0; r < 8; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    for (int p = 0; p < k; p++) {
        const float *bp = b + p * ldb, *ap = a + p * acs;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bp), b1 = _mm512_maskz_loadu_ps(m1, bp + 16);
        for (int r = 0; r < R; r++) {
            __m512 x = _mm512_set1_ps(ap[r * ars]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    __m512 scale = _mm512_set1_ps(alpha);
    for (int r = 0; r < R; r++) {
        float *cr = c + r * ldc;
        __m512 y0 = _mm512_mul_ps(scale, acc[r][0]), y1 = _mm512_mul_ps(scale, acc[r][1]);
        _mm512_mask_storeu_ps(cr, m0, y0);
        _mm512_mask_storeu_ps(cr + 16, m1, y1);
    }
}

FAST512 void gemm16(int M, int N, int K, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha) {
    for (int i = 0; i < M; i += 8) {
        int rows = M - i < 8 ? M - i : 8;
        for (int j = 0; j < N; j += 32) {
            int cols = N - j < 32 ? N - j : 32;
            const float *ai = a + i * ars, *bj = b + j;
            float *cij = c + i * ldc + j;
            switch (rows) {
            case 8: tile512(8, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 7: tile512(7, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 6: tile512(6, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 5: tile512(5, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 4: tile512(4, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 3: tile512(3, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            case 2: tile512(2, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            default: tile512(1, K, ai, ars, acs, bj, ldb, cols, cij, ldc, alpha); break;
            }
        }
    }
}

// C (M × N, rows ldc apart) = alpha · A · B, A(r, p) = a[r·ars + p·acs], B rows ldb apart.
static void gemm(int M, int N, int K, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                 const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, float alpha) {
    if (mf_model_kernels_lanes() == 16) gemm16(M, N, K, a, ars, acs, b, ldb, c, ldc, alpha);
    else gemm8(M, N, K, a, ars, acs, b, ldb, c, ldc, alpha);
}

// eˣ as `VectorMath.exp` computes it (clamp to [−87, 88], Cody–Waite reduction, degree-7
// Taylor polynomial, 2ⁿ in the exponent bits), with fused multiply-adds.
INLINE __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), magic);
    __m256 n = _mm256_sub_ps(shifted, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.69314575f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.4286068e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i integer = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(integer, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
}

INLINE float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE float max8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// row[0..<n] = softmax(row[0..<n]) with the maximum subtracted first; row[n..<end] = 0.
FAST void softmax_row(float *row, int n, int end) {
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    int whole = n / 8 * 8, tail = n - whole;
    __m256i m = first_lanes(tail);
    __m256 mx = neg_inf;
    for (int j = 0; j < whole; j += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(row + j));
    if (tail) mx = _mm256_max_ps(mx, _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(row + whole, m), _mm256_castsi256_ps(m)));
    __m256 top = _mm256_set1_ps(max8(mx)), sum = _mm256_setzero_ps();
    for (int j = 0; j < whole; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), top));
        _mm256_storeu_ps(row + j, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (tail) {
        __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(row + whole, m), top)), _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(row + whole, m, e);
        sum = _mm256_add_ps(sum, e);
    }
    __m256 inv = _mm256_set1_ps(1.0f / sum8(sum));
    for (int j = 0; j < whole; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), inv));
    if (tail) _mm256_maskstore_ps(row + whole, m, _mm256_mul_ps(_mm256_maskload_ps(row + whole, m), inv));
    for (int j = n; j < end; j++) row[j] = 0;
}

// grad[j] = scale · probs[j] · (grad[j] − Σ_{i<n} probs[i]·grad[i]) for j < n; grad[n..<end] = 0.
FAST void softmax_backward_row(float *grad, const float *probs, int n, int end, float scale) {
    int whole = n / 8 * 8, tail = n - whole;
    __m256i m = first_lanes(tail);
    __m256 d = _mm256_setzero_ps();
    for (int j = 0; j < whole; j += 8) d = _mm256_fmadd_ps(_mm256_loadu_ps(probs + j), _mm256_loadu_ps(grad + j), d);
    if (tail) d = _mm256_fmadd_ps(_mm256_maskload_ps(probs + whole, m), _mm256_maskload_ps(grad + whole, m), d);
    __m256 dot = _mm256_set1_ps(sum8(d)), s = _mm256_set1_ps(scale);
    for (int j = 0; j < whole; j += 8) {
        __m256 p = _mm256_mul_ps(s, _mm256_loadu_ps(probs + j));
        _mm256_storeu_ps(grad + j, _mm256_mul_ps(p, _mm256_sub_ps(_mm256_loadu_ps(grad + j), dot)));
    }
    if (tail) {
        __m256 p = _mm256_mul_ps(s, _mm256_maskload_ps(probs + whole, m));
        _mm256_maskstore_ps(grad + whole, m, _mm256_mul_ps(p, _mm256_sub_ps(_mm256_maskload_ps(grad + whole, m), dot)));
    }
    for (int j = n; j < end; j++) grad[j] = 0;
}

// dst[d·time + j] = src[j·ld + d]: a head's keys (or values) as hs rows of `time`.
// Eight by eight in registers: element by element, every store went to another row of dst
// (a cache line each), a fifth of the attention's own time at gpt-mini-256.
FAST void transpose(const float *src, ptrdiff_t ld, float *dst, int time, int hs) {
    int j8 = time / 8 * 8, d8 = hs / 8 * 8;
    for (int j = 0; j < j8; j += 8)
        for (int d = 0; d < d8; d += 8) {
            const float *s = src + j * ld + d;
            __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ld), r2 = _mm256_loadu_ps(s + 2 * ld),
                   r3 = _mm256_loadu_ps(s + 3 * ld), r4 = _mm256_loadu_ps(s + 4 * ld), r5 = _mm256_loadu_ps(s + 5 * ld),
                   r6 = _mm256_loadu_ps(s + 6 * ld), r7 = _mm256_loadu_ps(s + 7 * ld);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                   t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                   t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                   u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                   u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                   u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *o = dst + (ptrdiff_t)d * time + j;
            _mm256_storeu_ps(o, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(o + time, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(o + 2 * (ptrdiff_t)time, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(o + 3 * (ptrdiff_t)time, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(o + 4 * (ptrdiff_t)time, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(o + 5 * (ptrdiff_t)time, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(o + 6 * (ptrdiff_t)time, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(o + 7 * (ptrdiff_t)time, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    // Ragged edges: the last columns of every row, then the last rows.
    for (int j = 0; j < j8; j++)
        for (int d = d8; d < hs; d++) dst[(ptrdiff_t)d * time + j] = src[j * ld + d];
    for (int j = j8; j < time; j++)
        for (int d = 0; d < hs; d++) dst[(ptrdiff_t)d * time + j] = src[j * ld + d];
}

// dst[j·hs + d] = src[j·ld + d]: a head's rows packed together. In the fused qkv layout a
// head's rows are 3C floats apart, a page every few rows: streamed as a product's B operand
// they cost a TLB miss every few multiply-adds.
static void pack(const float *src, ptrdiff_t ld, float *dst, int time, int hs) {
    for (int j = 0; j < time; j++)
        for (int d = 0; d < hs; d++) dst[(ptrdiff_t)j * hs + d] = src[j * ld + d];
}

size_t mf_attention_scratch(int time, int hs) { return 3 * (size_t)time * (size_t)hs; }

// Query rows per causal block (and key columns per block of the dk, dv gathers): entries
// right of the diagonal within a block are computed, then zeroed.
enum { BLOCK = 8 };

int mf_attention_forward(const float *q, const float *k, const float *v, ptrdiff_t ld,
                         float *out, ptrdiff_t ldo, float *att, int time, int hs, float scale,
                         float *scratch) {
    if (!mf_model_kernels_available()) return 0;
    float *kt = scratch, *vp = scratch + (ptrdiff_t)time * hs;
    transpose(k, ld, kt, time, hs);
    pack(v, ld, vp, time, hs);
    // BLOCK query rows at a time see keys 0 ..< i0 + BLOCK (causal).
    for (int i0 = 0; i0 < time; i0 += BLOCK) {
        int rows = time - i0 < BLOCK ? time - i0 : BLOCK, keys = i0 + rows;
        float *p = att + (ptrdiff_t)i0 * time;
        gemm(rows, keys, hs, q + i0 * ld, ld, 1, kt, time, p, time, scale);
        for (int r = 0; r < rows; r++) softmax_row(p + (ptrdiff_t)r * time, i0 + r + 1, keys);
        gemm(rows, hs, keys, p, time, 1, vp, hs, out + i0 * ldo, ldo, 1.0f);
    }
    return 1;
}

int mf_attention_backward(const float *q, const float *k, const float *v, ptrdiff_t ld,
                          const float *dout, ptrdiff_t ldo, const float *att, float *datt,
                          float *dq, float *dk, float *dv, int time, int hs, float scale,
                          float *scratch) {
    if (!mf_model_kernels_available()) return 0;
    float *vt = scratch, *kp = scratch + (ptrdiff_t)time * hs, *qp = kp + (ptrdiff_t)time * hs;
    transpose(v, ld, vt, time, hs);
    pack(k, ld, kp, time, hs);
    pack(q, ld, qp, time, hs);
    for (int i0 = 0; i0 < time; i0 += BLOCK) {
        int rows = time - i0 < BLOCK ? time - i0 : BLOCK, keys = i0 + rows;
        float *dp = datt + (ptrdiff_t)i0 * time;
        const float *p = att + (ptrdiff_t)i0 * time;
        // forward: out = att · v, so datt = dout · vᵀ
        gemm(rows, keys, hs, dout + i0 * ldo, ldo, 1, vt, time, dp, time, 1.0f);
        // forward: att = softmax(scale · q · kᵀ); dpreatt carries the scale
        for (int r = 0; r < rows; r++)
            softmax_backward_row(dp + (ptrdiff_t)r * time, p + (ptrdiff_t)r * time, i0 + r + 1, keys, scale);
        gemm(rows, hs, keys, dp, time, 1, kp, hs, dq + i0 * ld, ld, 1.0f);
    }
    // Key j gathers from query rows i ≥ j: column blocks of dpreatt and att, read downwards
    // from the diagonal (entries right of the diagonal within a row block are zeros).
    for (int j0 = 0; j0 < time; j0 += BLOCK) {
        int keys = time - j0 < BLOCK ? time - j0 : BLOCK, below = time - j0;
        ptrdiff_t corner = (ptrdiff_t)j0 * time + j0;
        gemm(keys, hs, below, datt + corner, 1, time, qp + (ptrdiff_t)j0 * hs, hs, dk + j0 * ld, ld, 1.0f);
        gemm(keys, hs, below, att + corner, 1, time, dout + j0 * ldo, ldo, dv + j0 * ld, ld, 1.0f);
    }
    return 1;
}

// One block of eight: gelu and its derivative, given x.
INLINE void gelu8(__m256 x, __m256 *y, __m256 *dy) {
    const __m256 s = _mm256_set1_ps(0.7978845608f), c = _mm256_set1_ps(0.044715f), one = _mm256_set1_ps(1.0f);
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 u = _mm256_mul_ps(s, _mm256_fmadd_ps(_mm256_mul_ps(c, x2), x, x));
    __m256 g = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), u))));
    __m256 du = _mm256_mul_ps(s, _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(3.0f), c), x2, one));
    __m256 dg = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2.0f), g), _mm256_sub_ps(one, g));
    *y = _mm256_mul_ps(x, g);
    *dy = _mm256_fmadd_ps(_mm256_mul_ps(x, dg), du, g);
}

FAST int gelu_forward(const float *inp, float *out, float *slope, size_t count) {
    size_t whole = count / 8 * 8;
    for (size_t i = 0; i < whole; i += 8) {
        __m256 y, dy;
        gelu8(_mm256_loadu_ps(inp + i), &y, &dy);
        _mm256_storeu_ps(out + i, y);
        _mm256_storeu_ps(slope + i, dy);
    }
    if (whole < count) {
        __m256i m = first_lanes((int)(count - whole));
        __m256 y, dy;
        gelu8(_mm256_maskload_ps(inp + whole, m), &y, &dy);
        _mm256_maskstore_ps(out + whole, m, y);
        _mm256_maskstore_ps(slope + whole, m, dy);
    }
    return 1;
}

int mf_gelu_forward(const float *inp, float *out, float *slope, size_t count) {
    if (!mf_model_kernels_available()) return 0;
    return gelu_forward(inp, out, slope, count);
}

#else

int mf_model_kernels_available(void) { return 0; }
int mf_model_kernels_lanes(void) { return 0; }
void mf_model_kernels_set_lanes(int lanes) {}
size_t mf_attention_scratch(int time, int hs) { return 3 * (size_t)time * (size_t)hs; }
int mf_attention_forward(const float *q, const float *k, const float *v, ptrdiff_t ld, float *out, ptrdiff_t ldo,
                         float *att, int time, int hs, float scale, float *scratch) { return 0; }
int mf_attention_backward(const float *q, const float *k, const float *v, ptrdiff_t ld, const float *dout, ptrdiff_t ldo,
                          const float *att, float *datt, float *dq, float *dk, float *dv, int time, int hs, float scale,
                          float *scratch) { return 0; }
int mf_gelu_forward(const float *inp, float *out, float *slope, size_t count) { return 0; }

#endif
