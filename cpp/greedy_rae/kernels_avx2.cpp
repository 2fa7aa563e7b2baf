// AVX2 + FMA kernels. This file alone is compiled with -mavx2 -mfma; its
// functions run only after kernels() has checked that the CPU has both.
#include <immintrin.h>

#include <cstddef>

#include "greedy_rae/kernels.hpp"

namespace greedy_rae {
namespace {

double dot(const double* x, const double* y, int m) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int k = 0;
    for (; k + 8 <= m; k += 8) {
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(x + k), _mm256_loadu_pd(y + k), a0);
        a1 = _mm256_fmadd_pd(_mm256_loadu_pd(x + k + 4), _mm256_loadu_pd(y + k + 4), a1);
    }
    for (; k + 4 <= m; k += 4) {
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(x + k), _mm256_loadu_pd(y + k), a0);
    }
    alignas(32) double t[4];
    _mm256_store_pd(t, _mm256_add_pd(a0, a1));
    double s = (t[0] + t[1]) + (t[2] + t[3]);
    for (; k < m; ++k) s += x[k] * y[k];
    return s;
}

// R rows by B * 4 output columns held in R * B registers while w streams
// past once. With eight accumulators in flight the multiply-adds do not wait
// on each other's latency.
template <int R, int B>
int affine_block(const double* const* x, const double* w, const double* init, int rows, int cols,
                 int c0, double* const* out) {
    for (; c0 + 4 * B <= cols; c0 += 4 * B) {
        __m256d acc[R][B];
        for (int b = 0; b < B; ++b) {
            const __m256d i = _mm256_loadu_pd(init + c0 + 4 * b);
            for (int r = 0; r < R; ++r) acc[r][b] = i;
        }
        for (int k = 0; k < rows; ++k) {
            const double* wk = w + static_cast<std::size_t>(k) * cols + c0;
            __m256d wv[B];
            for (int b = 0; b < B; ++b) wv[b] = _mm256_loadu_pd(wk + 4 * b);
            for (int r = 0; r < R; ++r) {
                const __m256d xk = _mm256_broadcast_sd(x[r] + k);
                for (int b = 0; b < B; ++b) acc[r][b] = _mm256_fmadd_pd(xk, wv[b], acc[r][b]);
            }
        }
        for (int r = 0; r < R; ++r) {
            for (int b = 0; b < B; ++b) _mm256_storeu_pd(out[r] + c0 + 4 * b, acc[r][b]);
        }
    }
    return c0;
}

template <int R>
void affine_rows(const double* const* x, const double* w, const double* init, int rows, int cols,
                 double* const* out) {
    int c0 = affine_block<R, 8 / R>(x, w, init, rows, cols, 0, out);
    c0 = affine_block<R, 1>(x, w, init, rows, cols, c0, out);
    for (; c0 < cols; ++c0) {
        for (int r = 0; r < R; ++r) {
            double a = init[c0];
            for (int k = 0; k < rows; ++k) a += x[r][k] * w[static_cast<std::size_t>(k) * cols + c0];
            out[r][c0] = a;
        }
    }
}

void affine(const double* const* x, int count, const double* w, const double* init, int rows,
            int cols, double* const* out) {
    switch (count) {
        case 4: affine_rows<4>(x, w, init, rows, cols, out); break;
        case 3: affine_rows<3>(x, w, init, rows, cols, out); break;
        case 2: affine_rows<2>(x, w, init, rows, cols, out); break;
        default: affine_rows<1>(x, w, init, rows, cols, out); break;
    }
}

}  // namespace

const Kernels& avx2_kernels() {
    static const Kernels k{dot, affine, "avx2-fma"};
    return k;
}

}  // namespace greedy_rae
