// Native forward of the general merge network (see model.hpp): an activation
// on the encoder, an optional unit-length parent, an activation on the
// decoder, optionally each half of the reconstruction of unit length, and the
// plain or weighted reconstruction error.
//
// The first layer splits per node: [a; b] W1 + b1 = (a W1_top + b1) + b W1_bot,
// so each node keeps P = x W1_top + b1 (its part as a left child) and Q =
// x W1_bot (as a right child), and a pair's parent costs O(d). The decoder
// costs O(d^2) a pair; it runs four pairs at a time through the register-
// blocked affine kernel, each pair's row computed the same way whatever the
// other rows of its block, so equal pairs get equal errors (exact ties stay
// exact). All arithmetic is float32, like the Keras network.
#pragma once

#include <vector>

#include "greedy_rae/kernels.hpp"
#include "greedy_rae/model.hpp"
#include "greedy_rae/split.hpp"

namespace greedy_rae {

class NonlinearNetwork : public SplitNetwork {
public:
    // spec: checked by make_network, the one way in
    explicit NonlinearNetwork(const NetworkSpec& spec);
    std::unique_ptr<NodeScorer> scorer(float* embeddings, int n,
                                       const std::atomic<bool>* cancel) const override;
    // Bytes a scorer of an n-leaf sequence allocates: P and Q and an
    // embedding pointer by slot.
    static std::int64_t bytes(std::int64_t n, int d) { return n * (2 * d * 4 + 8); }

    // P and Q: d values each
    int half_width() const override { return d_; }
    // P = x W1_top + b1 and Q = x W1_bot for up to four node embeddings x.
    void split(const float* const* x, int count, float* const* p, float* const* q) const override;
    // The parent h of the pair whose first-layer halves are P and Q:
    // activation of P + Q, then normalisation.
    void parent(const float* p, const float* q, float* h) const;
    // Reconstruction errors of up to four parents h[r] of children a[r], b[r].
    void errors(const float* const* h, const float* const* a, const float* const* b, int count,
                const int* n_left, const int* n_right, float* out, float* const* y) const;

private:
    const Kernels& k_;
    Activation encoder_, decoder_;
    bool normalize_;
    bool normalize_reconstruction_;
    bool weighted_;
    std::vector<float> w1_, b1_, w2_, b2_, zeros_;
};

// first(slot) is a node's P, second(slot) its Q.
class NonlinearScorer : public SplitScorer {
public:
    NonlinearScorer(const NonlinearNetwork& model, float* embeddings, int n,
                    const std::atomic<bool>* cancel);
    void errors(const int* lefts, const int* rights, int m, const int* counts,
                float* out) const override;
    // The new node's embedding from its children's P and Q, in its row.
    float* parent(const Step& s) override;
    // read-only between merges; worth a thread from this many pairs on
    int min_parallel_pairs() const override { return 256; }
    // an O(d^2) decoder a pair
    bool costly() const override { return true; }

private:
    const NonlinearNetwork& model_;
    std::vector<const float*> node_;  // slot -> embedding row
};

}  // namespace greedy_rae
