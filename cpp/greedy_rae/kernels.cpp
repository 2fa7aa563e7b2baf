#include "greedy_rae/kernels.hpp"

#include <cstddef>

namespace greedy_rae {

#if defined(GREEDY_RAE_HAVE_AVX2)
const Kernels& avx2_kernels();  // kernels_avx2.cpp, built with -mavx2 -mfma
#endif

namespace {

double dot(const double* x, const double* y, int m) {
    // Four partial sums in a fixed order: same result on every machine.
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    for (; k + 4 <= m; k += 4) {
        s0 += x[k] * y[k];
        s1 += x[k + 1] * y[k + 1];
        s2 += x[k + 2] * y[k + 2];
        s3 += x[k + 3] * y[k + 3];
    }
    for (; k < m; ++k) s0 += x[k] * y[k];
    return (s0 + s1) + (s2 + s3);
}

void affine(const double* const* x, int count, const double* w, const double* init, int rows,
            int cols, double* const* out) {
    for (int r = 0; r < count; ++r) {
        double* o = out[r];
        if (o != init) {
            for (int c = 0; c < cols; ++c) o[c] = init[c];
        }
        for (int k = 0; k < rows; ++k) {
            const double xk = x[r][k];
            const double* wk = w + static_cast<std::size_t>(k) * cols;
            for (int c = 0; c < cols; ++c) o[c] += xk * wk[c];
        }
    }
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
    static const Kernels k{dot, affine, "portable"};
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
