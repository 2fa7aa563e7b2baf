#include "greedy_rae/adjacent.hpp"

namespace greedy_rae {

std::int64_t AdjacentPairs::bytes(std::int64_t n) {
    // neighbours, and at most 3 n candidates in the heap (each merge kills at
    // most 2 and creates at most 2; the n - 1 first ones)
    return n * 2 * static_cast<std::int64_t>(sizeof(int)) +
           3 * n * static_cast<std::int64_t>(sizeof(Candidate));
}

AdjacentPairs::AdjacentPairs(int n) : Engine(n), prev_(n), next_(n) {
    for (int i = 0; i < n; ++i) {
        prev_[i] = i - 1;
        next_[i] = i + 1 < n ? i + 1 : -1;
    }
}

void AdjacentPairs::initial_pairs(std::vector<int>& lefts, std::vector<int>& rights) const {
    lefts.clear();
    rights.clear();
    for (int i = 0; i + 1 < n_; ++i) {
        lefts.push_back(i);
        rights.push_back(i + 1);
    }
}

void AdjacentPairs::new_pairs(std::vector<int>& lefts, std::vector<int>& rights) const {
    lefts.clear();
    rights.clear();
    if (steps_ == 0 || done()) return;
    const int a = last_slot_;
    if (prev_[a] >= 0) {
        lefts.push_back(prev_[a]);
        rights.push_back(a);
    }
    if (next_[a] >= 0) {
        lefts.push_back(a);
        rights.push_back(next_[a]);
    }
}

void AdjacentPairs::push_buffered(PairScorer& scorer) {
    score_buffer(scorer, pairs_scored_);
    for (std::size_t k = 0; k < buf_left_.size(); ++k) {
        const int l = buf_left_[k], r = buf_right_[k];
        queue_.push({buf_score_[k], l, node_at_[l], node_at_[r], r});
    }
}

void AdjacentPairs::start(PairScorer& scorer, int /*threads*/) {
    if (done()) return;
    initial_pairs(buf_left_, buf_right_);
    push_buffered(scorer);
}

Step AdjacentPairs::step(PairScorer& /*scorer*/) {
    if (done()) throw std::logic_error("the tree is complete");
    Step s{};
    while (true) {
        const Candidate c = queue_.top();
        queue_.pop();
        if (node_at_[c.left_slot] == c.left && node_at_[c.right_slot] == c.right) {
            s.left_slot = c.left_slot;
            s.right_slot = c.right_slot;
            s.score = c.score;
            break;
        }
    }
    const int after = next_[s.right_slot];
    next_[s.left_slot] = after;
    if (after >= 0) prev_[after] = s.left_slot;
    apply(s);
    return s;
}

void AdjacentPairs::update(PairScorer& scorer) {
    if (steps_ == 0 || done()) return;
    new_pairs(buf_left_, buf_right_);
    push_buffered(scorer);
}

}  // namespace greedy_rae
