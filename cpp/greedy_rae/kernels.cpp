#include "greedy_rae/kernels.hpp"
#include "greedy_rae/tanh.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace greedy_rae {

#if defined(GREEDY_RAE_HAVE_AVX2)
const Kernels& avx2_kernels();  // kernels_avx2.cpp, built with -mavx2 -mfma
#endif

namespace {

// |x + y|^2 / 2 (Sum) or |x - y|^2 / 2 over m values
template <bool Sum>
float half_square(const float* x, const float* y, int m) {
    // Eight partial sums let the compiler vectorise without -ffast-math.
    float p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int k = 0;
    for (; k + 8 <= m; k += 8) {
        for (int q = 0; q < 8; ++q) {
            const float e = Sum ? x[k + q] + y[k + q] : x[k + q] - y[k + q];
            p[q] += e * e;
        }
    }
    float s = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for (; k < m; ++k) {
        const float e = Sum ? x[k] + y[k] : x[k] - y[k];
        s += e * e;
    }
    return 0.5f * s;
}

void half_squares_of_sums(const float* x, const float* base, const int* index, std::size_t stride,
                          int count, int m, float* out) {
    for (int k = 0; k < count; ++k) {
        out[k] = half_square<true>(x, base + static_cast<std::size_t>(index[k]) * stride, m);
    }
}

void half_squares_block(const float* const* x, int rows, const float* base, const int* index,
                        std::size_t stride, int count, int m, float* const* out) {
    for (int r = 0; r < rows; ++r)
        half_squares_of_sums(x[r], base, index, stride, count, m, out[r]);
}

void affine(const float* const* x, int count, const float* w, const float* init, int rows, int cols,
            float* const* out) {
    for (int r = 0; r < count; ++r) {
        float* o = out[r];
        if (o != init) {
            for (int c = 0; c < cols; ++c) o[c] = init[c];
        }
        for (int k = 0; k < rows; ++k) {
            const float xk = x[r][k];
            const float* wk = w + static_cast<std::size_t>(k) * cols;
            for (int c = 0; c < cols; ++c) o[c] += xk * wk[c];
        }
    }
}

void activate(float* x, int m, Activation activation) {
    if (activation == Activation::Tanh) {
        tanh_loop(x, m);
    } else if (activation == Activation::Relu) {
        for (int k = 0; k < m; ++k) x[k] = x[k] > 0.0f ? x[k] : 0.0f;
    }
}

void parent(const float* p, const float* q, float* h, int d, Activation activation,
            bool normalize) {
    for (int k = 0; k < d; ++k) h[k] = p[k] + q[k];
    activate(h, d, activation);
    if (!normalize) return;
    const float squares = 0.5f * half_square<true>(h, h, d);  // |h + h|^2 / 4 = |h|^2
    const float inv = std::min(1.0f / std::sqrt(squares), 1e12f);
    for (int k = 0; k < d; ++k) h[k] *= inv;
}

bool cpu_has_avx2_fma() {
#if defined(GREEDY_RAE_HAVE_AVX2) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

}  // namespace

const Kernels& portable_kernels() {
    static const Kernels k{half_square<true>,
                           half_square<false>,
                           half_squares_of_sums,
                           half_squares_block,
                           affine,
                           tanh_loop,
                           activate,
                           parent,
                           "portable"};
    return k;
}

const Kernels& kernels() {
#if defined(GREEDY_RAE_HAVE_AVX2)
    static const Kernels& chosen = cpu_has_avx2_fma() ? avx2_kernels() : portable_kernels();
#else
    static const Kernels& chosen = portable_kernels();
#endif
    return chosen;
}

}  // namespace greedy_rae
