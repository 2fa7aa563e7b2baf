// Native forward of the built-in merge network
//     h = [a; b] W1 + b1,   y = h W2 + b2,   c = [a; b]
// (Keras Dense kernels: W1 is (2d, d), W2 is (d, 2d)), and its pair scorer.
//
// With M = W1 W2 - I and beta = b1 W2 + b2, the reconstruction error of a
// pair is e = y - c = a M_top + b M_bot + beta. Each node keeps U = a M_top +
// beta (its part as a left child) and V = b M_bot (as a right child), so a
// pair's error |U_i + V_j|^2 / 2 costs one pass over 2d values and nothing of
// size n^2 is ever stored. Like the Keras network, the arithmetic is float32
// (M and beta are formed in double first); the direct form |U + V|^2 does not
// cancel the way |U|^2 + |V|^2 + 2 U.V would when errors are tiny next to the
// norms. Node scores, sums of many errors, are kept in double.
#pragma once

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "greedy_rae/greedy.hpp"
#include "greedy_rae/kernels.hpp"

namespace greedy_rae {

struct LinearWeights {
    int dim = 0;
    std::vector<double> w1;  // (2d, d) row-major
    std::vector<double> b1;  // (d)
    std::vector<double> w2;  // (d, 2d) row-major
    std::vector<double> b2;  // (2d)
};

// Thrown when a pair's error is NaN or infinite: the weights have diverged
// (or overflowed), and no greedy choice is meaningful.
struct NonFinite : std::domain_error {
    NonFinite() : std::domain_error("the merge network produced a non-finite reconstruction error") {}
};

// Thrown from inside a build when its cancel flag is raised.
struct Cancelled : std::runtime_error {
    Cancelled() : std::runtime_error("build cancelled") {}
};

class LinearModel {
public:
    explicit LinearModel(const LinearWeights& w);
    int dim() const { return d_; }
    const Kernels& kernels() const { return k_; }

    // h = [a; b] W1 + b1 (h may not alias a or b)
    void embed(const float* a, const float* b, float* h) const;
    // U = x M_top + beta and V = x M_bot for up to four node embeddings x.
    void split(const float* const* x, int count, float* const* u, float* const* v) const;

private:
    const Kernels& k_;
    int d_;
    std::vector<float> w1_, b1_;
    std::vector<float> m_;     // (2d, 2d) row-major: W1 W2 - I
    std::vector<float> beta_;  // (2d)
    std::vector<float> zeros_;
};

// The pair scorer of one sequence, holding the current node of every slot.
class LinearScorer : public PairScorer {
public:
    // embeddings: the (2n-1, d) float32 table of every node's embedding by
    // node id, leaves filled in; merge() writes each new node's row.
    LinearScorer(const LinearModel& model, float* embeddings, int n,
                 const std::atomic<bool>* cancel = nullptr);

    void score(const int* lefts, const int* rights, int m, double* out) override;
    // Computes the embedding of the node made by step s and places it at its slot.
    void merge(const Step& s);

private:
    // U and V of the `count` (<= 4) nodes now at slot, slot + 1, ..., from
    // their embeddings, rows of x.
    void set_nodes(int slot, int count, const float* x);

    const LinearModel& model_;
    int d_;
    const std::atomic<bool>* cancel_;
    float* emb_;
    // (n, 2d) each, by slot; apart, so that a row scan streams only the V's
    std::vector<float> u_, v_;
    std::vector<double> s_;  // node score by slot
};

struct BuildStats {
    std::int64_t pairs_scored = 0;
    std::int64_t pairs_rescored = 0;
};

// Builds one tree with the native scorer.
// embeddings: (2n-1, d) output, whose first n rows are filled with the leaves.
// merges: (n-1, 2) output; scores: (n-1) output.
// progress (optional) is increased by one per merge.
// threads: threads for the first scan of all pairs (the scorer is read-only there).
BuildStats build_linear(const LinearModel& model, PairMode mode, int n, float* embeddings,
                        std::int64_t* merges, double* scores,
                        const std::atomic<bool>* cancel = nullptr,
                        std::atomic<std::int64_t>* progress = nullptr, int threads = 1);

}  // namespace greedy_rae
