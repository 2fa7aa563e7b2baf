#include "greedy_rae/linear.hpp"

#include <algorithm>

namespace greedy_rae {

LinearModel::LinearModel(const NetworkSpec& w)
    : k_(greedy_rae::kernels()), d_(w.dim), weighted_(w.reconstruction == Reconstruction::Weighted),
      w1_(w.w1.begin(), w.w1.end()), b1_(w.b1.begin(), w.b1.end()), m_(4 * w.dim * w.dim),
      beta_(2 * w.dim), zeros_(2 * w.dim) {
    check_spec(w);
    const int d = d_, d2 = 2 * d;
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

std::unique_ptr<NodeScorer> LinearModel::scorer(float* embeddings, int n,
                                                const std::atomic<bool>* cancel) const {
    return std::make_unique<LinearScorer>(*this, embeddings, n, cancel);
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
      u_(static_cast<std::size_t>(n) * 2 * d_), v_(static_cast<std::size_t>(n) * 2 * d_) {
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

void LinearScorer::errors(const int* lefts, const int* rights, int m, const int* counts,
                          float* out) {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    const int d = d_, d2 = 2 * d;
    const float* us = u_.data();
    const float* vs = v_.data();
    const auto error = model_.kernels().half_square_of_sum;
    if (!model_.weighted()) {
        for (int k = 0; k < m; ++k) {
            const float* u = us + static_cast<std::size_t>(lefts[k]) * d2;
            const float* v = vs + static_cast<std::size_t>(rights[k]) * d2;
            out[k] = error(u, v, d2);
        }
        return;
    }
    for (int k = 0; k < m; ++k) {
        const int i = lefts[k], j = rights[k];
        const float* u = us + static_cast<std::size_t>(i) * d2;
        const float* v = vs + static_cast<std::size_t>(j) * d2;
        out[k] = weighted_error(error(u, v, d), error(u + d, v + d, d), counts[i], counts[j]);
    }
}

void LinearScorer::merge(const Step& s) {
    const std::size_t d = static_cast<std::size_t>(d_);
    float* h = emb_ + static_cast<std::size_t>(s.node) * d;
    model_.embed(emb_ + static_cast<std::size_t>(s.left) * d,
                 emb_ + static_cast<std::size_t>(s.right) * d, h);
    set_nodes(s.left_slot, 1, h);
}

}  // namespace greedy_rae
