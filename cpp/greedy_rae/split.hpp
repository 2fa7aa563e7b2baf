// The base of the native scorers: networks whose first layer splits per node.
//
// Both built-in network kinds compute a node's part in any pair it joins
// from the node alone: its embedding x gives a first half (its part as a
// left child) and a second half (as a right child), and a pair's work starts
// from first[left] + second[right]. The linear network's halves are U = x
// M_top + beta and V = x M_bot (2d values each, linear.hpp); the nonlinear
// one's are P = x W1_top + b1 and Q = x W1_bot (d each, nonlinear.hpp).
//
// Here, once for both: the halves by slot, the leaves' halves four at a time
// (the weights stream past once per four), the cancel check, a new node's
// halves written over its left child's slot, and batch builds' new nodes
// split four sequences at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "greedy_rae/model.hpp"

namespace greedy_rae {

class SplitScorer;

class SplitNetwork : public Network {
public:
    explicit SplitNetwork(int dim) : d_(dim) {}
    int dim() const override { return d_; }
    // Values in each half of a node.
    virtual int half_width() const = 0;
    // The halves of up to four node embeddings x[r] into first[r], second[r].
    virtual void split(const float* const* x, int count, float* const* first,
                       float* const* second) const = 0;
    // Up to four sequences' new nodes a pass over the weights: their parents
    // (parents()), then their halves (split()); each node's floats are the
    // ones merge() gives it. A width that leaves columns to the kernels'
    // scalar tail (which the compiler may vectorise by row count) is not
    // grouped.
    void merge_group(NodeScorer* const* scorers, const Step* steps, int count) const final;

protected:
    // The parents of steps[r] (r < count <= 4), each written to its row of
    // scorers[r]'s node table, which h[r] gets. By default one at a time.
    virtual void parents(SplitScorer* const* scorers, const Step* steps, int count,
                         float** h) const;

    int d_;
};

class SplitScorer : public NodeScorer {
public:
    // embeddings: the (2n - 1, d) node table, leaves filled in.
    SplitScorer(const SplitNetwork& model, float* embeddings, int n,
                const std::atomic<bool>* cancel);
    // The parent of step s (written to its row, which is returned), then its
    // halves over the left child's slot.
    void merge(const Step& s) final;
    // The parent of step s, written to its row of the node table.
    virtual float* parent(const Step& s) = 0;

    float* embedding(std::int64_t node) { return emb_ + static_cast<std::size_t>(node) * d_; }
    float* first(int slot) { return &first_[static_cast<std::size_t>(slot) * w_]; }
    float* second(int slot) { return &second_[static_cast<std::size_t>(slot) * w_]; }
    const float* first(int slot) const { return &first_[static_cast<std::size_t>(slot) * w_]; }
    const float* second(int slot) const { return &second_[static_cast<std::size_t>(slot) * w_]; }

protected:
    // Throws Cancelled once the build's cancel flag is raised.
    void check_cancel() const {
        if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    }
    // The halves of the `count` (<= 4) nodes now at slot, slot + 1, ...
    void set_nodes(int slot, int count, const float* const* x);

    const SplitNetwork& split_model_;
    int d_, w_;  // embedding width, half width
    const std::atomic<bool>* cancel_;
    float* emb_;
    // (n, w) each, by slot; apart, so that a row scan streams only one kind
    std::vector<float> first_, second_;
};

}  // namespace greedy_rae
