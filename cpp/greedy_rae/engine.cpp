#include <cmath>

#include "greedy_rae/engine.hpp"

namespace greedy_rae {

Engine::Engine(int n) : n_(n) {
    if (n < 1) throw std::invalid_argument("a tree needs at least one leaf");
    node_at_.resize(n);
    for (int i = 0; i < n; ++i) node_at_[i] = i;
    score_.assign(n, 0.0);
    count_.assign(n, 1);
}

std::unique_ptr<Engine> Engine::make(int n, PairMode mode) {
    if (mode == PairMode::All) return std::make_unique<AllPairs>(n);
    return std::make_unique<AdjacentPairs>(n);
}

void Engine::full_scores(PairScorer& scorer, const int* lefts, const int* rights, int m,
                         float* errors, double* out) const {
    scorer.errors(lefts, rights, m, count_.data(), errors);
    for (int k = 0; k < m; ++k) {
        const float e = errors[k];
        if (!std::isfinite(e)) throw NonFinite();
        out[k] = (static_cast<double>(e) + score_[lefts[k]]) + score_[rights[k]];
    }
}

void Engine::apply(Step& s) {
    s.left = node_at_[s.left_slot];
    s.right = node_at_[s.right_slot];
    s.node = n_ + steps_;
    node_at_[s.left_slot] = s.node;
    node_at_[s.right_slot] = -1;
    score_[s.left_slot] = s.score;
    count_[s.left_slot] += count_[s.right_slot];
    last_slot_ = s.left_slot;
    ++steps_;
}

}  // namespace greedy_rae
