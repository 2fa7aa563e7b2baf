#include "greedy_rae/forest.hpp"

#include <stdexcept>

namespace greedy_rae {

CachedScorer::CachedScorer(int n)
    : n_(n), matrix_(static_cast<std::size_t>(n) * n, 0.0), node_score_(n, 0.0) {}

void CachedScorer::score(const int* lefts, const int* rights, int m, double* out) {
    for (int k = 0; k < m; ++k) {
        out[k] = matrix_[static_cast<std::size_t>(lefts[k]) * n_ + rights[k]];
    }
}

void CachedScorer::put(int left, int right, double error) {
    matrix_[static_cast<std::size_t>(left) * n_ + right] =
        (error + node_score_[left]) + node_score_[right];
}

Forest::Forest(const std::vector<int>& lengths, PairMode mode) {
    offsets_.push_back(0);
    trees_.resize(lengths.size());
    for (std::size_t t = 0; t < lengths.size(); ++t) {
        const int n = lengths[t];
        Tree& tree = trees_[t];
        tree.greedy = std::make_unique<Greedy>(n, mode);
        tree.cache = std::make_unique<CachedScorer>(n);
        offsets_.push_back(offsets_.back() + 2 * static_cast<std::int64_t>(n) - 1);
        if (!tree.greedy->done()) {
            ++unfinished_;
            list_pending(static_cast<int>(t), true);
        }
    }
    awaiting_scores_ = true;
}

void Forest::list_pending(int t, bool initial) {
    Greedy& g = *trees_[t].greedy;
    if (initial) {
        g.initial_pairs(buf_l_, buf_r_);
    } else {
        g.new_pairs(buf_l_, buf_r_);
    }
    for (std::size_t k = 0; k < buf_l_.size(); ++k) pending_.push_back({t, buf_l_[k], buf_r_[k]});
}

void Forest::pending(std::vector<std::int64_t>& left, std::vector<std::int64_t>& right) const {
    left.resize(pending_.size());
    right.resize(pending_.size());
    for (std::size_t k = 0; k < pending_.size(); ++k) {
        const Pair& p = pending_[k];
        const Greedy& g = *trees_[p.tree].greedy;
        left[k] = offsets_[p.tree] + g.node_at(p.left);
        right[k] = offsets_[p.tree] + g.node_at(p.right);
    }
}

void Forest::submit(const float* errors, std::int64_t m) {
    if (!awaiting_scores_) throw std::logic_error("no scores are pending");
    if (m != pending_count()) throw std::invalid_argument("wrong number of pair errors");
    for (std::int64_t k = 0; k < m; ++k) {
        const Pair& p = pending_[k];
        trees_[p.tree].cache->put(p.left, p.right, errors[k]);
        ++trees_[p.tree].submitted;
    }
    pending_.clear();
    for (Tree& tree : trees_) {
        if (tree.greedy->done()) continue;
        if (!tree.started) {
            tree.greedy->start(*tree.cache);
            tree.started = true;
        } else {
            tree.greedy->update(*tree.cache);
        }
    }
    awaiting_scores_ = false;
}

void Forest::step(std::vector<std::int64_t>& left, std::vector<std::int64_t>& right,
                  std::vector<std::int64_t>& node) {
    if (awaiting_scores_) throw std::logic_error("submit the pending pair errors first");
    left.clear();
    right.clear();
    node.clear();
    for (int t = 0; t < trees(); ++t) {
        Tree& tree = trees_[t];
        if (tree.greedy->done()) continue;
        const Step s = tree.greedy->step(*tree.cache);
        tree.merges.push_back(s.left);
        tree.merges.push_back(s.right);
        tree.scores.push_back(s.score);
        tree.cache->set_node_score(s.left_slot, s.score);
        left.push_back(offsets_[t] + s.left);
        right.push_back(offsets_[t] + s.right);
        node.push_back(offsets_[t] + s.node);
        if (tree.greedy->done()) {
            --unfinished_;
        } else {
            list_pending(t, false);
        }
    }
    awaiting_scores_ = true;
}

}  // namespace greedy_rae
