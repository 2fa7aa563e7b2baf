// The adjacent-pairs engine: a linked list of slots and a heap with lazy deletion.
// Private to the core: Engine::make is the way in (engine.hpp).
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "greedy_rae/engine.hpp"

namespace greedy_rae {

// Only neighbours (i, next(i)) are candidates: a linked list of the active
// slots and a heap of candidates with lazy deletion.
class AdjacentPairs : public Engine {
public:
    explicit AdjacentPairs(int n);
    // Bytes an n-leaf engine allocates beyond the Engine's own, at most.
    static std::int64_t bytes(std::int64_t n);
    void initial_pairs(std::vector<int>& lefts, std::vector<int>& rights) const override;
    void new_pairs(std::vector<int>& lefts, std::vector<int>& rights) const override;
    void start(PairScorer& scorer, int threads = 1) override;
    Step step(PairScorer& scorer) override;
    void update(PairScorer& scorer) override;

private:
    struct Candidate {
        double score;
        int left_slot;
        std::int64_t left;
        std::int64_t right;
        int right_slot;
    };
    struct Later {
        bool operator()(const Candidate& a, const Candidate& b) const {
            return a.score > b.score || (a.score == b.score && a.left_slot > b.left_slot);
        }
    };
    // Scores the pairs in buf_left_/buf_right_ and pushes them.
    void push_buffered(PairScorer& scorer);

    std::vector<int> prev_, next_;
    std::priority_queue<Candidate, std::vector<Candidate>, Later> queue_;
};

}  // namespace greedy_rae
