// tanh in float32 as a clamped rational function (the approximation of
// Eigen's fast tanh, which TensorFlow's CPU kernels use). The plain loop is
// the portable kernel and the tail of the AVX2 one; the coefficients are
// shared. Internal linkage: the AVX2 and the portable copy must not be merged.
#pragma once

#include <algorithm>
#include <cmath>

namespace greedy_rae {
namespace {

namespace tanh_coef {
constexpr float clamp = 7.90531110763549805f;
constexpr float tiny = 0.0004f;
constexpr float a1 = 4.89352455891786e-03f, a3 = 6.37261928875436e-04f, a5 = 1.48572235717979e-05f,
                a7 = 5.12229709037114e-08f, a9 = -8.60467152213735e-11f,
                a11 = 2.00018790482477e-13f, a13 = -2.76076847742355e-16f;
constexpr float b0 = 4.89352518554385e-03f, b2 = 2.26843463243900e-03f, b4 = 1.18534705686654e-04f,
                b6 = 1.19825839466702e-06f;
}  // namespace tanh_coef

inline void tanh_loop(float* x, int m) {
    using namespace tanh_coef;
    for (int k = 0; k < m; ++k) {
        const float v = x[k];
        const float c = std::min(std::max(v, -clamp), clamp);
        const float c2 = c * c;
        float p = a13;
        p = p * c2 + a11;
        p = p * c2 + a9;
        p = p * c2 + a7;
        p = p * c2 + a5;
        p = p * c2 + a3;
        p = p * c2 + a1;
        p = p * c;
        float q = b6;
        q = q * c2 + b4;
        q = q * c2 + b2;
        q = q * c2 + b0;
        const float r = p / q;
        x[k] = std::fabs(v) < tiny ? v : r;
    }
}

}  // namespace
}  // namespace greedy_rae
