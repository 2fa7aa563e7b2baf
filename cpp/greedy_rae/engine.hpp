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
#include <queue>
#include <stdexcept>
#include <string>
#include <vector>

#include "greedy_rae/heap.hpp"
#include "greedy_rae/pool.hpp"

namespace greedy_rae {

enum class PairMode { All, Adjacent };

// Thrown when a pair's error is NaN or infinite: the weights have diverged
// (or overflowed), and no greedy choice is meaningful.
struct NonFinite : std::domain_error {
    NonFinite()
        : std::domain_error("the merge network produced a non-finite reconstruction error") {}
    explicit NonFinite(const std::string& what) : std::domain_error(what) {}
};

// Computes reconstruction errors of pairs of the current nodes, addressed by
// slot: out[k] is the error of merging the node at slot lefts[k] (left) with
// the node at slot rights[k] (right). counts[slot] is the number of leaves
// under the node at slot (for the weighted reconstruction error).
class PairScorer {
public:
    virtual ~PairScorer() = default;
    virtual void errors(const int* lefts, const int* rights, int m, const int* counts,
                        float* out) = 0;
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

class Engine {
public:
    virtual ~Engine() = default;
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

// Every pair (i, j), i < j, of the active list is a candidate. Each row keeps,
// in the spirit of Muellner's "generic" algorithm, its kRow best partners
// among the slots j > i and a limit below which no pair outside the list can
// be; the first live entry is the row's exact minimum while it is under the
// limit, and the row is rescanned only when it reaches the top of the heap
// without one.
class AllPairs : public Engine {
public:
    explicit AllPairs(int n);
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

// Only neighbours (i, next(i)) are candidates: a linked list of the active
// slots and a heap of candidates with lazy deletion.
class AdjacentPairs : public Engine {
public:
    explicit AdjacentPairs(int n);
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
