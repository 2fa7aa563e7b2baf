// AVX2 + FMA kernels. This file alone is compiled with -mavx2 -mfma; its
// functions run only after kernels() has checked that the CPU has both.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "greedy_rae/kernels.hpp"
#include "greedy_rae/tanh.hpp"

namespace greedy_rae {
namespace {

// |x + y|^2 / 2 (Sum) or |x - y|^2 / 2 over m values
template <bool Sum>
float half_square(const float* x, const float* y, int m) {
    auto combine = [](__m256 a, __m256 b) {
        return Sum ? _mm256_add_ps(a, b) : _mm256_sub_ps(a, b);
    };
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= m; k += 16) {
        const __m256 e0 = combine(_mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k));
        const __m256 e1 = combine(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(y + k + 8));
        a0 = _mm256_fmadd_ps(e0, e0, a0);
        a1 = _mm256_fmadd_ps(e1, e1, a1);
    }
    for (; k + 8 <= m; k += 8) {
        const __m256 e0 = combine(_mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k));
        a0 = _mm256_fmadd_ps(e0, e0, a0);
    }
    alignas(32) float t[8];
    _mm256_store_ps(t, _mm256_add_ps(a0, a1));
    float s = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
    for (; k < m; ++k) {
        const float e = Sum ? x[k] + y[k] : x[k] - y[k];
        s += e * e;
    }
    return 0.5f * s;
}

// half_square<true>(x, y[p], m) for P pairs at once: the same operations in
// the same order for each pair, with the pairs' independent chains
// interleaved so that one pair's additions do not wait on its own latency.
template <int P>
void half_square_sums(const float* x, const float* const* y, int m, float* out) {
    __m256 a0[P], a1[P];
    for (int p = 0; p < P; ++p) a0[p] = a1[p] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 16 <= m; k += 16) {
        const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        for (int p = 0; p < P; ++p) {
            const __m256 e0 = _mm256_add_ps(x0, _mm256_loadu_ps(y[p] + k));
            const __m256 e1 = _mm256_add_ps(x1, _mm256_loadu_ps(y[p] + k + 8));
            a0[p] = _mm256_fmadd_ps(e0, e0, a0[p]);
            a1[p] = _mm256_fmadd_ps(e1, e1, a1[p]);
        }
    }
    if (k + 8 <= m) {
        const __m256 x0 = _mm256_loadu_ps(x + k);
        for (int p = 0; p < P; ++p) {
            const __m256 e0 = _mm256_add_ps(x0, _mm256_loadu_ps(y[p] + k));
            a0[p] = _mm256_fmadd_ps(e0, e0, a0[p]);
        }
        k += 8;
    }
    if (P == 4 && k == m) {
        // the four pairs' sums at once, in the scalar code's order: with
        // u = t[0:4] + t[4:8], ((u0 + u1) + (u2 + u3)) is
        // ((t0 + t4) + (t1 + t5)) + ((t2 + t6) + (t3 + t7))
        __m128 u[4];
        for (int p = 0; p < 4; ++p) {
            const __m256 t = _mm256_add_ps(a0[p], a1[p]);
            u[p] = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
        }
        const __m128 s = _mm_hadd_ps(_mm_hadd_ps(u[0], u[1]), _mm_hadd_ps(u[2], u[3]));
        _mm_storeu_ps(out, _mm_mul_ps(_mm_set1_ps(0.5f), s));
        return;
    }
    for (int p = 0; p < P; ++p) {
        alignas(32) float t[8];
        _mm256_store_ps(t, _mm256_add_ps(a0[p], a1[p]));
        float s = ((t[0] + t[4]) + (t[1] + t[5])) + ((t[2] + t[6]) + (t[3] + t[7]));
        for (int q = k; q < m; ++q) {
            const float e = x[q] + y[p][q];
            s += e * e;
        }
        out[p] = 0.5f * s;
    }
}

void half_squares_of_sums(const float* x, const float* base, const int* index, std::size_t stride,
                          int count, int m, float* out) {
    int k = 0;
    for (; k + 4 <= count; k += 4) {
        const float* y[4];
        for (int p = 0; p < 4; ++p) y[p] = base + static_cast<std::size_t>(index[k + p]) * stride;
        half_square_sums<4>(x, y, m, out + k);
    }
    for (; k < count; ++k) {
        const float* y = base + static_cast<std::size_t>(index[k]) * stride;
        half_square_sums<1>(x, &y, m, out + k);
    }
}

template <int R>
void half_squares_block_rows(const float* const* x, const float* base, const int* index,
                             std::size_t stride, int count, int m, float* const* out) {
    float e[R];
    for (int k = 0; k < count; ++k) {
        // y + x[r] is x[r] + y: the same float as half_square<true>(x[r], y, m)
        half_square_sums<R>(base + static_cast<std::size_t>(index[k]) * stride, x, m, e);
        for (int r = 0; r < R; ++r) out[r][k] = e[r];
    }
}

void half_squares_block(const float* const* x, int rows, const float* base, const int* index,
                        std::size_t stride, int count, int m, float* const* out) {
    switch (rows) {
        case 4:
            half_squares_block_rows<4>(x, base, index, stride, count, m, out);
            break;
        case 3:
            half_squares_block_rows<3>(x, base, index, stride, count, m, out);
            break;
        case 2:
            half_squares_block_rows<2>(x, base, index, stride, count, m, out);
            break;
        // one row: several of its pairs in flight instead
        default:
            half_squares_of_sums(x[0], base, index, stride, count, m, out[0]);
            break;
    }
}

// tanh_loop's rational function, eight values at a time.
void tanh8(float* x, int m) {
    using namespace tanh_coef;
    const __m256 hi = _mm256_set1_ps(clamp), lo = _mm256_set1_ps(-clamp);
    const __m256 sign = _mm256_set1_ps(-0.0f), small = _mm256_set1_ps(tiny);
    int k = 0;
    for (; k + 8 <= m; k += 8) {
        const __m256 v = _mm256_loadu_ps(x + k);
        const __m256 c = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        const __m256 c2 = _mm256_mul_ps(c, c);
        __m256 p = _mm256_set1_ps(a13);
        p = _mm256_fmadd_ps(p, c2, _mm256_set1_ps(a11));
        p = _mm256_fmadd_ps(p, c2, _mm256_set1_ps(a9));
        p = _mm256_fmadd_ps(p, c2, _mm256_set1_ps(a7));
        p = _mm256_fmadd_ps(p, c2, _mm256_set1_ps(a5));
        p = _mm256_fmadd_ps(p, c2, _mm256_set1_ps(a3));
        p = _mm256_fmadd_ps(p, c2, _mm256_set1_ps(a1));
        p = _mm256_mul_ps(p, c);
        __m256 q = _mm256_set1_ps(b6);
        q = _mm256_fmadd_ps(q, c2, _mm256_set1_ps(b4));
        q = _mm256_fmadd_ps(q, c2, _mm256_set1_ps(b2));
        q = _mm256_fmadd_ps(q, c2, _mm256_set1_ps(b0));
        // p / q as p * (1 / q): the reciprocal estimate and one Newton step
        // (about 23 bits), cheaper than a division
        const __m256 e = _mm256_rcp_ps(q);
        const __m256 inv = _mm256_mul_ps(e, _mm256_fnmadd_ps(q, e, _mm256_set1_ps(2.0f)));
        const __m256 r = _mm256_mul_ps(p, inv);
        const __m256 is_small = _mm256_cmp_ps(_mm256_andnot_ps(sign, v), small, _CMP_LT_OQ);
        _mm256_storeu_ps(x + k, _mm256_blendv_ps(r, v, is_small));
    }
    tanh_loop(x + k, m - k);
}

void activate(float* x, int m, Activation activation) {
    if (activation == Activation::Tanh) {
        tanh8(x, m);
    } else if (activation == Activation::Relu) {
        for (int k = 0; k < m; ++k) x[k] = x[k] > 0.0f ? x[k] : 0.0f;
    }
}

void parent(const float* p, const float* q, float* h, int d, Activation activation,
            bool normalize) {
    int k = 0;
    for (; k + 8 <= d; k += 8) {
        _mm256_storeu_ps(h + k, _mm256_add_ps(_mm256_loadu_ps(p + k), _mm256_loadu_ps(q + k)));
    }
    for (; k < d; ++k) h[k] = p[k] + q[k];
    activate(h, d, activation);
    if (!normalize) return;
    const float squares = 0.5f * half_square<true>(h, h, d);  // |h + h|^2 / 4 = |h|^2
    const float inv = std::min(1.0f / std::sqrt(squares), 1e12f);
    const __m256 s = _mm256_set1_ps(inv);
    for (k = 0; k + 8 <= d; k += 8)
        _mm256_storeu_ps(h + k, _mm256_mul_ps(_mm256_loadu_ps(h + k), s));
    for (; k < d; ++k) h[k] *= inv;
}

// R rows by B * 8 output columns held in R * B registers while w streams
// past once; with eight accumulators in flight the multiply-adds do not wait
// on each other's latency.
template <int R, int B>
int affine_block(const float* const* x, const float* w, const float* init, int rows, int cols,
                 int c0, float* const* out) {
    for (; c0 + 8 * B <= cols; c0 += 8 * B) {
        __m256 acc[R][B];
        for (int b = 0; b < B; ++b) {
            const __m256 i = _mm256_loadu_ps(init + c0 + 8 * b);
            for (int r = 0; r < R; ++r) acc[r][b] = i;
        }
        for (int k = 0; k < rows; ++k) {
            const float* wk = w + static_cast<std::size_t>(k) * cols + c0;
            __m256 wv[B];
            for (int b = 0; b < B; ++b) wv[b] = _mm256_loadu_ps(wk + 8 * b);
            for (int r = 0; r < R; ++r) {
                const __m256 xk = _mm256_broadcast_ss(x[r] + k);
                for (int b = 0; b < B; ++b) acc[r][b] = _mm256_fmadd_ps(xk, wv[b], acc[r][b]);
            }
        }
        for (int r = 0; r < R; ++r) {
            for (int b = 0; b < B; ++b) _mm256_storeu_ps(out[r] + c0 + 8 * b, acc[r][b]);
        }
    }
    return c0;
}

template <int R>
void affine_rows(const float* const* x, const float* w, const float* init, int rows, int cols,
                 float* const* out) {
    int c0 = affine_block<R, 8 / R>(x, w, init, rows, cols, 0, out);
    c0 = affine_block<R, 1>(x, w, init, rows, cols, c0, out);
    for (; c0 < cols; ++c0) {
        for (int r = 0; r < R; ++r) {
            float a = init[c0];
            for (int k = 0; k < rows; ++k)
                a += x[r][k] * w[static_cast<std::size_t>(k) * cols + c0];
            out[r][c0] = a;
        }
    }
}

void affine(const float* const* x, int count, const float* w, const float* init, int rows, int cols,
            float* const* out) {
    switch (count) {
        case 4:
            affine_rows<4>(x, w, init, rows, cols, out);
            break;
        case 3:
            affine_rows<3>(x, w, init, rows, cols, out);
            break;
        case 2:
            affine_rows<2>(x, w, init, rows, cols, out);
            break;
        default:
            affine_rows<1>(x, w, init, rows, cols, out);
            break;
    }
}

}  // namespace

const Kernels& avx2_kernels() {
    static const Kernels k{half_square<true>,
                           half_square<false>,
                           half_squares_of_sums,
                           half_squares_block,
                           affine,
                           tanh8,
                           activate,
                           parent,
                           "avx2-fma"};
    return k;
}

}  // namespace greedy_rae
