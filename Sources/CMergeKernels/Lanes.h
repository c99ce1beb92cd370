// Lane helpers shared by the merge loops (MergeKernels.c, TaskVectorKernels.c): loading
// stored elements as float32 lanes, rounding to the output dtype as DType.narrow does, and
// finiteness tests. x86-64 only; every function is compiled for AVX2 + FMA and inlined into
// loops that run only after mf_merge_kernels_available() said yes.
#ifndef CMERGEKERNELS_LANES_H
#define CMERGEKERNELS_LANES_H

#include "CMergeKernels.h"
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

#define FAST __attribute__((target("avx2,fma"), always_inline)) static inline

// 8 elements at p + i as float32 lanes.
FAST __m256 load8(const void *p, size_t i, int dtype) {
    if (dtype == MF_F32) return _mm256_loadu_ps((const float *)p + i);
    // bfloat16 is the high half of a float32: widening is a shift.
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

FAST float load1(const void *p, size_t i, int dtype) {
    if (dtype == MF_F32) { float x; memcpy(&x, (const float *)p + i, 4); return x; }
    uint16_t h; memcpy(&h, (const uint16_t *)p + i, 2);
    uint32_t bits = (uint32_t)h << 16; float x; memcpy(&x, &bits, 4); return x;
}

// Round-to-nearest-even to bfloat16, NaN (|bits| above infinity's) as 0xFFFF: DType.narrow.
FAST __m128i bf16_of(__m256 x) {
    __m256i bits = _mm256_castps_si256(x);
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), odd), 16);
    __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
    __m256i nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7F800000));
    __m256i result = _mm256_or_si256(_mm256_andnot_si256(nan, rounded), _mm256_and_si256(nan, _mm256_set1_epi32(0xFFFF)));
    // Pack the 8 low halves (each ≤ 0xFFFF) into 8 uint16: packus per 128-bit lane, then join.
    __m128i lo = _mm256_castsi256_si128(result), hi = _mm256_extracti128_si256(result, 1);
    return _mm_packus_epi32(lo, hi);
}

FAST uint16_t bf16_of1(float x) {
    uint32_t bits; memcpy(&bits, &x, 4);
    if ((bits & 0x7FFFFFFF) > 0x7F800000) return 0xFFFF;
    return (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

FAST void store8(void *p, size_t i, __m256 x, int dtype) {
    if (dtype == MF_F32) _mm256_storeu_ps((float *)p + i, x);
    else _mm_storeu_si128((__m128i *)((uint16_t *)p + i), bf16_of(x));
}

FAST void store1(void *p, size_t i, float x, int dtype) {
    if (dtype == MF_F32) memcpy((float *)p + i, &x, 4);
    else { uint16_t h = bf16_of1(x); memcpy((uint16_t *)p + i, &h, 2); }
}

// Lanes whose |x| is NaN or infinite, as all ones.
FAST __m256i not_finite(__m256 x) {
    __m256i magnitude = _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7FFFFFFF));
    return _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7F7FFFFF));
}

FAST int finite1(float x) {
    uint32_t bits; memcpy(&bits, &x, 4);
    return (bits & 0x7FFFFFFF) < 0x7F800000;
}

static inline int known(int dtype) { return dtype == MF_F32 || dtype == MF_BF16; }

// Element i of an array of `dtype` (F32 or BF16) at p: where a loop hands its last elements on.
static inline const void *element_at(const void *p, size_t i, int dtype) {
    return (const unsigned char *)p + i * (dtype == MF_F32 ? 4 : 2);
}
static inline void *element_at_mutable(void *p, size_t i, int dtype) {
    return (unsigned char *)p + i * (dtype == MF_F32 ? 4 : 2);
}

// The target of the loops' second instances, for CPUs with AVX-512: 16-lane loops, whose
// 8-lane tails are the AVX2 code compiled with 32 vector registers.
#define WIDE_TARGET "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq"
#define WIDE __attribute__((target(WIDE_TARGET), always_inline)) static inline

// Whether the loops run their AVX-512 instances: this CPU has AVX-512F/VL/BW/DQ and no test
// held them to AVX2 (mf_merge_kernels_allow_wide). MergeKernels.c.
int mf_merge_kernels_wide(void);

// 16 elements at p + i as float32 lanes.
WIDE __m512 load16(const void *p, size_t i, int dtype) {
    if (dtype == MF_F32) return _mm512_loadu_ps((const float *)p + i);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// As store8: bfloat16 rounded to nearest even, a NaN as 0xFFFF.
WIDE void store16(void *p, size_t i, __m512 x, int dtype) {
    if (dtype == MF_F32) { _mm512_storeu_ps((float *)p + i, x); return; }
    __m512i bits = _mm512_castps_si512(x);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), odd), 16);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    rounded = _mm512_mask_mov_epi32(rounded, nan, _mm512_set1_epi32(0xFFFF));
    _mm256_storeu_si256((__m256i *)((uint16_t *)p + i), _mm512_cvtepi32_epi16(rounded));
}

// Lanes whose |x| is NaN or infinite.
WIDE __mmask16 not_finite16(__m512 x) {
    return _mm512_cmpgt_epi32_mask(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F7FFFFF));
}

#endif
