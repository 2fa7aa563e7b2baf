#include "greedy_rae/forest.hpp"

#include <stdexcept>

namespace greedy_rae {

std::size_t Forest::checked(int t) const {
    if (t < 0 || t >= trees()) {
        throw std::out_of_range("tree " + std::to_string(t) + " is out of range: the forest has " +
                                std::to_string(trees()) + " trees");
    }
    return static_cast<std::size_t>(t);
}

CachedScorer::CachedScorer(int n, PairMode mode)
    : n_(n),
      all_(mode == PairMode::All),
      cache_(static_cast<std::size_t>(bytes(n, mode) / static_cast<std::int64_t>(sizeof(float)))) {}

void CachedScorer::errors(const int* lefts, const int* rights, int m, const int* /*counts*/,
                          float* out) const {
    for (int k = 0; k < m; ++k) out[k] = cache_[index(lefts[k], rights[k])];
}

Forest::Forest(const std::vector<int>& lengths, PairMode mode) {
    offsets_.push_back(0);
    trees_.resize(lengths.size());
    for (std::size_t t = 0; t < lengths.size(); ++t) {
        const int n = lengths[t];
        Tree& tree = trees_[t];
        tree.engine = Engine::make(n, mode);
        tree.cache = std::make_unique<CachedScorer>(n, mode);
        offsets_.push_back(offsets_.back() + 2 * static_cast<std::int64_t>(n) - 1);
        if (!tree.engine->done()) {
            ++unfinished_;
            list_pending(static_cast<int>(t), true);
        }
    }
    awaiting_scores_ = true;
}

void Forest::list_pending(int t, bool initial) {
    Engine& g = *trees_[t].engine;
    if (initial) {
        g.initial_pairs(buf_l_, buf_r_);
    } else {
        g.new_pairs(buf_l_, buf_r_);
    }
    for (std::size_t k = 0; k < buf_l_.size(); ++k) pending_.push_back({t, buf_l_[k], buf_r_[k]});
}

void Forest::pending(std::vector<std::int64_t>& left, std::vector<std::int64_t>& right) const {
    const std::size_t m = pending_.size();
    left.resize(m);
    right.resize(m);
    for (std::size_t k = 0; k < m; ++k) {
        const Pair& p = pending_[k];
        const Engine& g = *trees_[p.tree].engine;
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
        if (tree.engine->done()) continue;
        if (!tree.started) {
            tree.engine->start(*tree.cache);
            tree.started = true;
        } else {
            tree.engine->update(*tree.cache);
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
        if (tree.engine->done()) continue;
        const Step s = tree.engine->step(*tree.cache);
        tree.merges.push_back(s.left);
        tree.merges.push_back(s.right);
        tree.scores.push_back(s.score);
        left.push_back(offsets_[t] + s.left);
        right.push_back(offsets_[t] + s.right);
        node.push_back(offsets_[t] + s.node);
        if (tree.engine->done()) {
            --unfinished_;
        } else {
            list_pending(t, false);
        }
    }
    awaiting_scores_ = true;
}

}  // namespace greedy_rae
