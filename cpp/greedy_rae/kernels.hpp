// The arithmetic kernels of the native scorer, with a portable version and
// an AVX2 + FMA version chosen once, at first use, from what the CPU has.
#pragma once

namespace greedy_rae {

struct Kernels {
    // x . y over m values
    double (*dot)(const double* x, const double* y, int m);
    // out[r] (cols) = init + x[r] (rows) . w, for r < count, count <= 4;
    // w row-major (rows, cols); init may alias out[0] when count == 1.
    void (*affine)(const double* const* x, int count, const double* w, const double* init,
                   int rows, int cols, double* const* out);
    const char* name;
};

const Kernels& kernels();

// The portable kernels, always available (for tests).
const Kernels& portable_kernels();

}  // namespace greedy_rae
