// Native forward of the linear merge network (the original post's)
//     h = [a; b] W1 + b1,   y = h W2 + b2,   c = [a; b]
// and its pair scorer.
//
// With M = W1 W2 - I and beta = b1 W2 + b2, the reconstruction error of a
// pair is e = y - c = a M_top + b M_bot + beta. Each node keeps U = a M_top +
// beta (its part as a left child) and V = b M_bot (as a right child), so a
// pair's error |U_i + V_j|^2 / 2 costs one pass over 2d values and nothing of
// size n^2 is ever stored. Like the Keras network, the arithmetic is float32
// (M and beta are formed in double first); the direct form |U + V|^2 does not
// cancel the way |U|^2 + |V|^2 + 2 U.V would when errors are tiny next to the
// norms.
#pragma once

#include <vector>

#include "greedy_rae/kernels.hpp"
#include "greedy_rae/model.hpp"
#include "greedy_rae/split.hpp"

namespace greedy_rae {

class LinearNetwork : public SplitNetwork {
public:
    // spec: checked by make_network, the one way in
    explicit LinearNetwork(const NetworkSpec& spec);
    std::unique_ptr<NodeScorer> scorer(float* embeddings, int n,
                                       const std::atomic<bool>* cancel) const override;
    // Bytes a scorer of an n-leaf sequence allocates: U and V by slot.
    static std::int64_t bytes(std::int64_t n, int d) { return n * 2 * (2 * d) * 4; }

    const Kernels& kernels() const { return k_; }
    bool weighted() const { return weighted_; }
    // h = [a; b] W1 + b1 (h may not alias a or b)
    void embed(const float* a, const float* b, float* h) const;
    // U and V: 2d values each
    int half_width() const override { return 2 * d_; }
    // U = x M_top + beta and V = x M_bot for up to four node embeddings x.
    void split(const float* const* x, int count, float* const* u, float* const* v) const override;

protected:
    // h = [a; b] W1 + b1 of up to four sequences' new nodes as one affine map
    // of the concatenated children: embed()'s chain of multiply-adds over a,
    // then b, for each value (the vector kernels run it the same way for any
    // number of rows).
    void parents(SplitScorer* const* scorers, const Step* steps, int count,
                 float** h) const override;

private:
    const Kernels& k_;
    bool weighted_;
    std::vector<float> w1_, b1_;
    std::vector<float> m_;     // (2d, 2d) row-major: W1 W2 - I
    std::vector<float> beta_;  // (2d)
    std::vector<float> zeros_;
};

// first(slot) is a node's U, second(slot) its V.
class LinearScorer : public SplitScorer {
public:
    LinearScorer(const LinearNetwork& model, float* embeddings, int n,
                 const std::atomic<bool>* cancel = nullptr);

    void errors(const int* lefts, const int* rights, int m, const int* counts,
                float* out) const override;
    void row_block(const int* lefts, int rows, const int* rights, int m, const int* counts,
                   float* const* out) override;
    float* parent(const Step& s) override;
    // read-only between merges; worth a thread from this many pairs on
    int min_parallel_pairs() const override { return 4096; }

private:
    // Errors of the pairs of `rows` (<= 4) fixed nodes, at slots fixed[r]
    // of `ones` (U; V when fixed_is_right), with the nodes at slots many[k]
    // of `manys` (the other of V and U), into out[r][k].
    void pairs(const float* ones, const int* fixed, int rows, const float* manys, const int* many,
               int m, const int* counts, bool fixed_is_right, float* const* out) const;

    const LinearNetwork& model_;
};

}  // namespace greedy_rae
