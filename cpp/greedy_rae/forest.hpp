// A batch of greedy builds driven from outside, one step at a time, for
// scorers that live elsewhere (a TensorFlow network): the forest lists the
// pairs it needs scored across all trees, takes their reconstruction errors
// in one array, and hands out one merge per unfinished tree per step.
//
// Nodes are addressed globally: node id k of tree t is offset(t) + k, with
// every tree owning 2 n_t - 1 consecutive ids, leaves first.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "greedy_rae/engine.hpp"

namespace greedy_rae {

// Keeps the reconstruction error of every scored pair of one tree, written
// by the forest and read back by the engine: an n x n matrix by slot in all
// pairs mode (rows are rescanned), one entry per left slot in adjacent mode
// (a left slot has one right neighbour at a time).
class CachedScorer : public PairScorer {
public:
    CachedScorer(int n, PairMode mode);
    void errors(const int* lefts, const int* rights, int m, const int* counts,
                float* out) const override;
    void put(int left, int right, float error) { cache_[index(left, right)] = error; }
    // Bytes the cache of an n-leaf tree takes.
    static std::int64_t bytes(std::int64_t n, PairMode mode) {
        return (mode == PairMode::All ? n * n : n) * static_cast<std::int64_t>(sizeof(float));
    }

private:
    std::size_t index(int left, int right) const {
        return all_ ? static_cast<std::size_t>(left) * n_ + right : static_cast<std::size_t>(left);
    }
    int n_;
    bool all_;
    std::vector<float> cache_;
};

class Forest {
public:
    Forest(const std::vector<int>& lengths, PairMode mode);

    int trees() const { return static_cast<int>(trees_.size()); }
    bool done() const { return unfinished_ == 0; }
    std::int64_t offset(int t) const { return offsets_[checked(t)]; }
    std::int64_t total_nodes() const { return offsets_.back(); }

    // Pairs waiting for their reconstruction errors, as global node ids.
    void pending(std::vector<std::int64_t>& left, std::vector<std::int64_t>& right) const;
    std::int64_t pending_count() const { return static_cast<std::int64_t>(pending_.size()); }
    // The errors of the pending pairs, in their order.
    void submit(const float* errors, std::int64_t m);
    // One merge in every unfinished tree, as global node ids; then lists the
    // pairs of the new nodes as pending.
    void step(std::vector<std::int64_t>& left, std::vector<std::int64_t>& right,
              std::vector<std::int64_t>& node);

    // Per-tree results: (n-1, 2) merges by local id, (n-1) scores.
    // A tree index out of range throws std::out_of_range.
    const std::vector<std::int64_t>& merges(int t) const { return trees_[checked(t)].merges; }
    const std::vector<double>& scores(int t) const { return trees_[checked(t)].scores; }
    // Pairs whose errors were submitted: every pair the network scored.
    std::int64_t pairs_scored(int t) const { return trees_[checked(t)].submitted; }

private:
    struct Tree {
        std::unique_ptr<Engine> engine;
        std::unique_ptr<CachedScorer> cache;
        bool started = false;
        std::int64_t submitted = 0;
        std::vector<std::int64_t> merges;
        std::vector<double> scores;
    };
    struct Pair {
        int tree, left, right;  // slots
    };
    void list_pending(int t, bool initial);
    // t itself, when 0 <= t < trees(); else std::out_of_range.
    std::size_t checked(int t) const;

    std::vector<Tree> trees_;
    std::vector<std::int64_t> offsets_;
    std::vector<Pair> pending_;
    std::vector<int> buf_l_, buf_r_;
    int unfinished_ = 0;
    bool awaiting_scores_ = false;
};

}  // namespace greedy_rae
