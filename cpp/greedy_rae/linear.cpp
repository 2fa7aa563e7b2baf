#include "greedy_rae/linear.hpp"

#include <algorithm>
#include <cmath>

namespace greedy_rae {

LinearModel::LinearModel(const LinearWeights& w)
    : k_(greedy_rae::kernels()), d_(w.dim), w1_(w.w1.begin(), w.w1.end()),
      b1_(w.b1.begin(), w.b1.end()), m_(4 * w.dim * w.dim), beta_(2 * w.dim), zeros_(2 * w.dim) {
    const int d = d_, d2 = 2 * d;
    if (d < 1 || static_cast<int>(w.w1.size()) != d2 * d || static_cast<int>(w.b1.size()) != d ||
        static_cast<int>(w.w2.size()) != d * d2 || static_cast<int>(w.b2.size()) != d2) {
        throw std::invalid_argument("linear merge network weights have the wrong shapes");
    }
    // M = W1 W2 - I and beta = b1 W2 + b2, in double, then rounded once
    std::vector<double> row(d2);
    for (int r = 0; r < d2; ++r) {
        std::fill(row.begin(), row.end(), 0.0);
        for (int k = 0; k < d; ++k) {
            const double a = w.w1[static_cast<std::size_t>(r) * d + k];
            const double* w2k = &w.w2[static_cast<std::size_t>(k) * d2];
            for (int c = 0; c < d2; ++c) row[c] += a * w2k[c];
        }
        row[r] -= 1.0;
        for (int c = 0; c < d2; ++c) m_[static_cast<std::size_t>(r) * d2 + c] = static_cast<float>(row[c]);
    }
    std::copy(w.b2.begin(), w.b2.end(), row.begin());
    for (int k = 0; k < d; ++k) {
        const double* w2k = &w.w2[static_cast<std::size_t>(k) * d2];
        for (int c = 0; c < d2; ++c) row[c] += w.b1[k] * w2k[c];
    }
    std::copy(row.begin(), row.end(), beta_.begin());
}

void LinearModel::embed(const float* a, const float* b, float* h) const {
    const int d = d_;
    k_.affine(&a, 1, w1_.data(), b1_.data(), d, d, &h);
    k_.affine(&b, 1, w1_.data() + static_cast<std::size_t>(d) * d, h, d, d, &h);
}

void LinearModel::split(const float* const* x, int count, float* const* u, float* const* v) const {
    const int d = d_, d2 = 2 * d;
    k_.affine(x, count, m_.data(), beta_.data(), d, d2, u);
    k_.affine(x, count, m_.data() + static_cast<std::size_t>(d) * d2, zeros_.data(), d, d2, v);
}

LinearScorer::LinearScorer(const LinearModel& model, float* embeddings, int n,
                           const std::atomic<bool>* cancel)
    : model_(model), d_(model.dim()), cancel_(cancel), emb_(embeddings),
      u_(static_cast<std::size_t>(n) * 2 * d_), v_(static_cast<std::size_t>(n) * 2 * d_), s_(n, 0.0) {
    // the leaves four at a time: the weights stream past once per four
    for (int i = 0; i < n; i += 4) {
        set_nodes(i, std::min(4, n - i), emb_ + static_cast<std::size_t>(i) * d_);
    }
}

void LinearScorer::set_nodes(int slot, int count, const float* x) {
    const int d = d_, d2 = 2 * d;
    const float* rows[4];
    float* u[4];
    float* v[4];
    for (int r = 0; r < count; ++r) {
        rows[r] = x + static_cast<std::size_t>(r) * d;
        u[r] = &u_[static_cast<std::size_t>(slot + r) * d2];
        v[r] = &v_[static_cast<std::size_t>(slot + r) * d2];
    }
    model_.split(rows, count, u, v);
}

void LinearScorer::score(const int* lefts, const int* rights, int m, double* out) {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    const int d2 = 2 * d_;
    const float* us = u_.data();
    const float* vs = v_.data();
    const auto error = model_.kernels().half_square_of_sum;
    for (int k = 0; k < m; ++k) {
        const int i = lefts[k], j = rights[k];
        const float* u = us + static_cast<std::size_t>(i) * d2;
        const float* v = vs + static_cast<std::size_t>(j) * d2;
        const float e = error(u, v, d2);
        if (!std::isfinite(e)) throw NonFinite();
        out[k] = (static_cast<double>(e) + s_[i]) + s_[j];
    }
}

void LinearScorer::merge(const Step& s) {
    const std::size_t d = static_cast<std::size_t>(d_);
    float* h = emb_ + static_cast<std::size_t>(s.node) * d;
    model_.embed(emb_ + static_cast<std::size_t>(s.left) * d,
                 emb_ + static_cast<std::size_t>(s.right) * d, h);
    set_nodes(s.left_slot, 1, h);
    s_[s.left_slot] = s.score;
}

BuildStats build_linear(const LinearModel& model, PairMode mode, int n, float* embeddings,
                        std::int64_t* merges, double* scores, const std::atomic<bool>* cancel,
                        std::atomic<std::int64_t>* progress, int threads) {
    LinearScorer scorer(model, embeddings, n, cancel);
    Greedy greedy(n, mode);
    greedy.start(scorer, threads);
    while (!greedy.done()) {
        const Step s = greedy.step(scorer);
        const std::int64_t k = s.node - n;
        merges[2 * k] = s.left;
        merges[2 * k + 1] = s.right;
        scores[k] = s.score;
        scorer.merge(s);
        greedy.update(scorer);
        if (progress != nullptr) progress->fetch_add(1, std::memory_order_relaxed);
    }
    return {greedy.pairs_scored(), greedy.pairs_rescored()};
}

}  // namespace greedy_rae
