#include "greedy_rae/engine.hpp"

#include <algorithm>
#include <thread>

#include "greedy_rae/adjacent.hpp"
#include "greedy_rae/all_pairs.hpp"
#include "greedy_rae/pool.hpp"

namespace greedy_rae {

Engine::Engine(int n) : n_(n) {
    if (n < 1) throw std::invalid_argument("a tree needs at least one leaf");
    node_at_.resize(n);
    for (int i = 0; i < n; ++i) node_at_[i] = i;
    score_.assign(n, 0.0);
    count_.assign(n, 1);
}

Engine::~Engine() = default;  // here, where WorkerPool is complete

std::unique_ptr<Engine> Engine::make(int n, PairMode mode) {
    if (mode == PairMode::All) return std::make_unique<AllPairs>(n);
    return std::make_unique<AdjacentPairs>(n);
}

std::int64_t Engine::bytes(std::int64_t n, PairMode mode) {
    // per slot: node id, score, count; scratch of up to n pairs (two slots,
    // an error and a score each)
    const std::int64_t slot = sizeof(std::int64_t) + sizeof(double) + sizeof(int);
    const std::int64_t pair = 2 * sizeof(int) + sizeof(float) + sizeof(double);
    const std::int64_t own = n * (slot + pair);
    if (mode == PairMode::All) {
        const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        return own + AllPairs::bytes(n, threads);
    }
    return own + AdjacentPairs::bytes(n);
}

void PairScorer::row_block(const int* lefts, int rows, const int* rights, int m, const int* counts,
                           float* const* out) {
    std::vector<int> row(m);
    for (int r = 0; r < rows; ++r) {
        std::fill(row.begin(), row.end(), lefts[r]);
        errors(row.data(), rights, m, counts, out[r]);
    }
}

void Engine::score_buffer(PairScorer& scorer, std::int64_t& counter) {
    const int m = static_cast<int>(buf_left_.size());
    buf_error_.resize(m);
    buf_score_.resize(m);
    errors(scorer, buf_left_.data(), buf_right_.data(), m, buf_error_.data());
    for (int k = 0; k < m; ++k) {
        buf_score_[k] = full_score(buf_error_[k], score_[buf_left_[k]], score_[buf_right_[k]]);
    }
    counter += m;
}

void Engine::errors(PairScorer& scorer, const int* lefts, const int* rights, int m,
                    float* out) const {
    const int least = scorer.min_parallel_pairs();
    const int parts = least > 0 && pool_ ? std::min(pool_->threads(), m / least) : 1;
    if (parts <= 1) {
        scorer.errors(lefts, rights, m, count_.data(), out);
        return;
    }
    const int chunk = (m + parts - 1) / parts;
    pool_->run(parts, [&](int p) {
        const int from = p * chunk, len = std::min(chunk, m - from);
        scorer.errors(lefts + from, rights + from, len, count_.data(), out + from);
    });
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
