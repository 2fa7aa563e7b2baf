// Native builds: one tree, or a batch of trees spread over worker threads
// (run_batch, pool.hpp) while the calling thread watches for cancellation and
// reports progress.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "greedy_rae/model.hpp"
#include "greedy_rae/plan.hpp"

namespace greedy_rae {

struct BuildStats {
    std::int64_t pairs_scored = 0;
    std::int64_t pairs_rescored = 0;
};

// Builds one tree with a native network.
// embeddings: (2n-1, d) output, whose first n rows are filled with the leaves.
// merges: (n-1, 2) output; scores: (n-1) output.
// progress (optional) is increased by one per merge.
// threads: threads for the first scan of all pairs (the scorer is read-only there).
BuildStats build(const Network& network, PairMode mode, int n, float* embeddings,
                 std::int64_t* merges, double* scores, const std::atomic<bool>* cancel = nullptr,
                 std::atomic<std::int64_t>* progress = nullptr, int threads = 1);

// One sequence of a batch build: its length, its output buffers (see
// build()), and the counters of its build once done.
struct BatchItem {
    int n = 0;
    float* embeddings = nullptr;
    std::int64_t* merges = nullptr;
    double* scores = nullptr;
    BuildStats stats;
};

// Builds every item's tree, sequences spread over `threads` worker threads
// (0: one per hardware thread) and threads left over given to the first
// all-pairs scan of each sequence. `merged` counts merges as they happen;
// poll() is called from this thread as in run_batch. Throws NonFinite when a
// root's score or embedding is not finite (the weights have diverged).
void build_batch(const Network& network, PairMode mode, std::vector<BatchItem>& items, int threads,
                 std::atomic<std::int64_t>& merged, const std::function<bool()>& poll);

// Builds the tree of every sequence as build_batch does and returns their
// replay plan (plan.hpp), its table filled with the built embeddings; the
// trees themselves are not kept. leaves[t]: sequence t's (lengths[t], dim)
// rows. Throws NonFinite when a root's score or embedding is not finite.
ReplayPlan build_plan(const Network& network, PairMode mode,
                      const std::vector<const float*>& leaves,
                      const std::vector<std::int64_t>& lengths, bool weighted, int threads,
                      std::atomic<std::int64_t>& merged, const std::function<bool()>& poll);

}  // namespace greedy_rae
