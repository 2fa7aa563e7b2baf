// The greedy merge loop of the recursive autoencoder, independent of how a
// pair is scored.
//
// Node ids follow scipy's linkage convention: leaves are 0..n-1 and the merge
// made at step k creates node n+k. A "slot" is a position in the original leaf
// order. The active list is the set of occupied slots in increasing order: the
// new node takes the left child's slot and the right child's slot is emptied,
// so the order of the other nodes never changes. Pair (i, j) with i < j in slot
// order has the node at slot i as its left child.
//
// All pairs mode keeps, for every active slot i, its few best partners among
// the slots j > i, in the spirit of Muellner's "generic" algorithm: the row's
// list holds its kRow lowest pairs and a limit below which no pair outside the
// list can be; the first live entry is the row's exact minimum while it is
// under the limit, and the row is rescanned only when it reaches the top of
// the heap without one. Because a pair's score never changes after it is
// computed, only the pairs of a new node need scoring after a merge.
// Adjacent mode keeps the pairs (i, next(i)) in a heap with lazy deletion.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "greedy_rae/heap.hpp"

namespace greedy_rae {

enum class PairMode { All, Adjacent };

// Scores pairs of the current nodes, addressed by slot. out[k] must be the
// full score of merging the node at slot lefts[k] (left) with the node at
// slot rights[k] (right): reconstruction error + score(left) + score(right).
class PairScorer {
public:
    virtual ~PairScorer() = default;
    virtual void score(const int* lefts, const int* rights, int m, double* out) = 0;
};

struct Step {
    int left_slot;
    int right_slot;
    std::int64_t left;   // node id of the left child
    std::int64_t right;  // node id of the right child
    std::int64_t node;   // node id of the new node (n + step index)
    double score;
};

class Greedy {
public:
    Greedy(int n, PairMode mode);

    int n() const { return n_; }
    PairMode mode() const { return mode_; }
    int steps_done() const { return steps_; }
    bool done() const { return steps_ >= n_ - 1; }
    std::int64_t node_at(int slot) const { return node_at_[slot]; }

    // Pairs to score before start(), as slots (for scorers that need to be fed).
    void initial_pairs(std::vector<int>& lefts, std::vector<int>& rights) const;
    // Pairs of the new node to score before update(), as slots.
    void new_pairs(std::vector<int>& lefts, std::vector<int>& rights) const;

    // Scores the first candidates. In all pairs mode the rows are scanned on
    // up to `threads` threads; the scorer must then allow concurrent calls.
    void start(PairScorer& scorer, int threads = 1);
    // Pops the best pair, applies the merge and returns it.
    Step step(PairScorer& scorer);
    // Scores the pairs of the node the last step created (in all pairs mode,
    // those that can still matter; a scorer fed from outside must have all
    // of new_pairs() ready).
    void update(PairScorer& scorer);

    // Pairs scored by the first scans and after each merge; pairs scored by
    // rescans of stale rows. In all pairs mode the first count is at most
    // (n-1)^2: a new node's pair is skipped when its lower bound
    // score(left) + score(right) shows that it cannot change its row.
    std::int64_t pairs_scored() const { return pairs_scored_; }
    std::int64_t pairs_rescored() const { return pairs_rescored_; }

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

    // One entry of a row's list: the pair (row, slot) and the node then at slot.
    struct Partner {
        double score;
        int slot;
        std::int64_t node;
    };
    static constexpr int kRow = 4;

    static bool before(double s1, int j1, double s2, int j2) {
        return s1 < s2 || (s1 == s2 && j1 < j2);
    }
    bool alive(const Partner& p) const { return node_at_[p.slot] == p.node; }
    // Inserts into row i's list, keeping its kRow lowest; what falls off
    // lowers the row's limit.
    void offer(int i, const Partner& p);
    // Lowers row i's limit to (score, slot) when that comes first.
    void lower_limit(int i, double score, int slot);
    void scan_row(PairScorer& scorer, int i, std::int64_t& counter);
    // Sets row i's list from the scores of (i, rights[k]), k < m.
    void fill_row(int i, const int* rights, const double* scores, int m);
    int rank(int slot) const;  // position of an active slot in active_

    int n_;
    PairMode mode_;
    int steps_ = 0;
    int last_slot_ = -1;
    std::int64_t pairs_scored_ = 0;
    std::int64_t pairs_rescored_ = 0;
    std::vector<std::int64_t> node_at_;  // slot -> node id, -1 when empty
    std::vector<int> active_;            // occupied slots, increasing (all pairs mode)

    // all pairs: each row's list (kRow entries a row), its length and limit:
    // every pair of the row outside the list is at or after (limit score,
    // limit slot). And each slot's node score.
    std::vector<Partner> list_;
    std::vector<int> list_len_;
    std::vector<double> limit_score_;
    std::vector<int> limit_slot_;
    std::vector<double> slot_score_;
    IndexedHeap rows_;
    std::vector<int> buf_left_, buf_right_;
    std::vector<double> buf_score_;

    // adjacent: neighbours in the active list and the candidate heap
    std::vector<int> prev_, next_;
    std::priority_queue<Candidate, std::vector<Candidate>, Later> queue_;
};

}  // namespace greedy_rae
