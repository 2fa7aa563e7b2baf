// The all-pairs engine: best-partner rows in an indexed heap.
// Private to the core: Engine::make is the way in (engine.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "greedy_rae/engine.hpp"
#include "greedy_rae/heap.hpp"

namespace greedy_rae {

// Every pair (i, j), i < j, of the active list is a candidate. Each row keeps,
// in the spirit of Muellner's "generic" algorithm, its kRow best partners
// among the slots j > i and a limit below which no pair outside the list can
// be; the first live entry is the row's exact minimum while it is under the
// limit, and the row is rescanned only when it reaches the top of the heap
// without one.
class AllPairs : public Engine {
public:
    explicit AllPairs(int n);
    // Bytes an n-leaf engine allocates beyond the Engine's own, at most, with
    // `threads` threads for the first scan.
    static std::int64_t bytes(std::int64_t n, int threads);
    void initial_pairs(std::vector<int>& lefts, std::vector<int>& rights) const override;
    void new_pairs(std::vector<int>& lefts, std::vector<int>& rights) const override;
    void start(PairScorer& scorer, int threads = 1) override;
    Step step(PairScorer& scorer) override;
    void update(PairScorer& scorer) override;

private:
    // One entry of a row's list: the pair (row, slot) and the node then at
    // slot (node ids fit in 32 bits: sequences have fewer than 2^30 leaves).
    struct Partner {
        double score;
        int slot;
        std::int32_t node;
    };
    static constexpr int kRow = 16;

    static bool before(double s1, int j1, double s2, int j2) {
        return s1 < s2 || (s1 == s2 && j1 < j2);
    }
    bool alive(const Partner& p) const { return node_at_[p.slot] == p.node; }
    // Inserts into row i's list, keeping its kRow lowest; what falls off
    // lowers the row's limit.
    void offer(int i, const Partner& p);
    // Offers the pair (i, j) of reconstruction error e to row i.
    void offer_error(int i, int j, float e);
    // Lowers row i's limit to (score, slot) when that comes first.
    void lower_limit(int i, double score, int slot);
    void scan_row(PairScorer& scorer, int i, std::int64_t& counter);
    // Offers the errors of (i, rights[k]), k < m, to row i's list, emptied
    // first when reset.
    void fill_row(int i, const int* rights, const float* errors, int m, bool reset);
    // Scores (i, j) for the m slots j in buf_right_ into buf_error_.
    void score_row(PairScorer& scorer, int i, int m, std::int64_t& counter);
    // The first lists of the rows of block b (kBlock rows from slot b kBlock);
    // slots: 0, 1, ..., n - 1.
    void start_block(PairScorer& scorer, int b, const int* slots, std::vector<int>& lefts,
                     std::vector<float>& errors);
    static constexpr int kBlock = 4;     // rows scored together by the first scan
    static constexpr int kChunk = 4096;  // slots a block scores per call
    int rank(int slot) const;            // position of an active slot in active_

    std::vector<int> active_;  // occupied slots, increasing
    // each row's list (kRow entries a row), its length and limit: every pair
    // of the row outside the list is at or after (limit score, limit slot)
    std::vector<Partner> list_;
    std::vector<int> list_len_;
    std::vector<double> limit_score_;
    std::vector<int> limit_slot_;
    IndexedHeap rows_;
};

}  // namespace greedy_rae
