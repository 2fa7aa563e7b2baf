// The arithmetic kernels of the native scorers, in float32 like the Keras
// network they stand in for, with a portable version and an AVX2 + FMA
// version chosen once, at first use, from what the CPU has.
#pragma once

#include <cstddef>

namespace greedy_rae {

// The activation of a layer.
enum class Activation { Linear, Tanh, Relu };

struct Kernels {
    // |x + y|^2 / 2 over m values
    float (*half_square_of_sum)(const float* x, const float* y, int m);
    // |x - y|^2 / 2 over m values
    float (*half_square_of_difference)(const float* x, const float* y, int m);
    // out[k] = half_square_of_sum(x, base + index[k] * stride, m) for k < count,
    // bit for bit, several pairs in flight at once (one row of pairs).
    void (*half_squares_of_sums)(const float* x, const float* base, const int* index,
                                 std::size_t stride, int count, int m, float* out);
    // out[r][k] = half_square_of_sum(x[r], base + index[k] * stride, m) for
    // r < rows (<= 4), k < count, bit for bit: each vector of base is read
    // once for all the rows.
    void (*half_squares_block)(const float* const* x, int rows, const float* base, const int* index,
                               std::size_t stride, int count, int m, float* const* out);
    // out[r] (cols) = init + x[r] (rows) . w, for r < count, count <= 4;
    // w row-major (rows, cols); init may alias out[0] when count == 1.
    void (*affine)(const float* const* x, int count, const float* w, const float* init, int rows,
                   int cols, float* const* out);
    // x = tanh(x) over m values (a rational approximation good to a few ulp,
    // the form TensorFlow's CPU kernels use)
    void (*tanh)(float* x, int m);
    // x = f(x) over m values
    void (*activate)(float* x, int m, Activation f);
    // The parent from the two halves of the first layer: h = f(p + q) over d
    // values; then, when normalize, h * min(1 / sqrt(sum h^2), 1e12) as
    // keras.ops.normalize.
    void (*parent)(const float* p, const float* q, float* h, int d, Activation f, bool normalize);
    const char* name;
};

const Kernels& kernels();

// The portable kernels, always available (for tests).
const Kernels& portable_kernels();

}  // namespace greedy_rae
