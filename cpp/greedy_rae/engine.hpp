// The greedy merge loop of the recursive autoencoder, independent of how a
// pair's reconstruction error is computed: one engine per pair mode.
//
// Node ids follow scipy's linkage convention: leaves are 0..n-1 and the merge
// made at step k creates node n+k. A "slot" is a position in the original leaf
// order. The active list is the set of occupied slots in increasing order: the
// new node takes the left child's slot and the right child's slot is emptied,
// so the order of the other nodes never changes. Pair (i, j) with i < j in slot
// order has the node at slot i as its left child.
//
// A scorer returns raw reconstruction errors (float32, like the Keras network
// it stands for); the engine owns every node's score and leaf count, and a
// pair's score is (error + score(left)) + score(right), in double. Because a
// pair's score never changes after it is computed, only the pairs of a new
// node need scoring after a merge.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "greedy_rae/errors.hpp"

namespace greedy_rae {

class WorkerPool;  // pool.hpp

enum class PairMode { All, Adjacent };

// Computes reconstruction errors of pairs of the current nodes, addressed by
// slot: out[k] is the error of merging the node at slot lefts[k] (left) with
// the node at slot rights[k] (right). counts[slot] is the number of leaves
// under the node at slot (for the weighted reconstruction error).
class PairScorer {
public:
    virtual ~PairScorer() = default;
    // const: a call changes nothing of the scorer (scratch space is the
    // caller's or per thread), so concurrent calls are safe when
    // min_parallel_pairs() > 0 says the scorer takes them.
    virtual void errors(const int* lefts, const int* rights, int m, const int* counts,
                        float* out) const = 0;
    // Errors of `rows` (<= 4) left slots against the same m right slots:
    // out[r][k] is the error of (lefts[r], rights[k]), the float errors()
    // gives. A scorer may share work between the rows (the first scan).
    virtual void row_block(const int* lefts, int rows, const int* rights, int m, const int* counts,
                           float* const* out);
    // The fewest pairs of one call worth splitting across threads (0: never);
    // a scorer that returns more than 0 allows concurrent calls.
    virtual int min_parallel_pairs() const { return 0; }
    // Whether a pair costs so much more than a look at its lower bound that
    // row scans should score the partners with low bounds first and skip
    // those that cannot enter the row's list.
    virtual bool costly() const { return false; }
};

struct Step {
    int left_slot;
    int right_slot;
    std::int64_t left;   // node id of the left child
    std::int64_t right;  // node id of the right child
    std::int64_t node;   // node id of the new node (n + step index)
    double score;
};

// One engine per pair mode (all_pairs.hpp, adjacent.hpp; their layouts are
// their own): Engine::make picks it.
class Engine {
public:
    virtual ~Engine();
    static std::unique_ptr<Engine> make(int n, PairMode mode);
    // Bytes the engine of an n-leaf tree allocates (at most; its scratch
    // buffers included).
    static std::int64_t bytes(std::int64_t n, PairMode mode);

    int n() const { return n_; }
    int steps_done() const { return steps_; }
    bool done() const { return steps_ >= n_ - 1; }
    std::int64_t node_at(int slot) const { return node_at_[slot]; }

    // Pairs to score before start(), as slots (for scorers that need to be fed).
    virtual void initial_pairs(std::vector<int>& lefts, std::vector<int>& rights) const = 0;
    // Pairs of the new node to score before update(), as slots.
    virtual void new_pairs(std::vector<int>& lefts, std::vector<int>& rights) const = 0;

    // Scores the first candidates, on up to `threads` threads where the mode
    // can use them (the scorer must then allow concurrent calls); later calls
    // with many pairs are split over as many threads when the scorer allows.
    virtual void start(PairScorer& scorer, int threads = 1) = 0;
    // Pops the best pair, applies the merge and returns it.
    virtual Step step(PairScorer& scorer) = 0;
    // Scores the pairs of the node the last step created (a scorer fed from
    // outside must have all of new_pairs() ready).
    virtual void update(PairScorer& scorer) = 0;

    // Pairs scored by the first scans and after each merge; pairs scored
    // again by rescans of stale rows (all pairs mode).
    std::int64_t pairs_scored() const { return pairs_scored_; }
    std::int64_t pairs_rescored() const { return pairs_rescored_; }

protected:
    Engine(int n);
    // A pair's full score, (error + score(left)) + score(right), in this
    // order everywhere; a non-finite error throws NonFinite.
    static double full_score(float error, double left, double right) {
        if (!std::isfinite(error)) throw NonFinite();
        return (static_cast<double>(error) + left) + right;
    }
    // scorer.errors over m pairs, split over the pool's threads when the call
    // is big enough for the scorer (each pair's error is the same either way).
    void errors(PairScorer& scorer, const int* lefts, const int* rights, int m,
                float* errors) const;
    // Full scores of the pairs in buf_left_/buf_right_ into buf_score_ (their
    // errors in buf_error_); adds their number to counter.
    void score_buffer(PairScorer& scorer, std::int64_t& counter);
    // Bookkeeping of a merge: ids, scores, counts; fills in s's ids.
    void apply(Step& s);

    int n_;
    std::unique_ptr<WorkerPool> pool_;  // helpers for big scoring calls, when threads > 1
    int steps_ = 0;
    int last_slot_ = -1;
    std::int64_t pairs_scored_ = 0;
    std::int64_t pairs_rescored_ = 0;
    std::vector<std::int64_t> node_at_;  // slot -> node id, -1 when empty
    std::vector<double> score_;          // slot -> node score
    std::vector<int> count_;             // slot -> leaves under the node
    std::vector<int> buf_left_, buf_right_;
    std::vector<float> buf_error_;
    std::vector<double> buf_score_;
};

}  // namespace greedy_rae
