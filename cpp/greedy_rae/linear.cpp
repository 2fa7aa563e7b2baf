#include "greedy_rae/linear.hpp"

#include <algorithm>
#include <cstring>

#include "greedy_rae/kernels.hpp"

namespace greedy_rae {
namespace {

double half_square_of_sum(const double* x, const double* y, int m) {
    double s = 0;
    for (int k = 0; k < m; ++k) {
        const double e = x[k] + y[k];
        s += e * e;
    }
    return 0.5 * s;
}

// Relative size of the error below which the expanded form is not trusted.
constexpr double kCancellation = 1e-6;

}  // namespace

LinearModel::LinearModel(const LinearWeights& w)
    : k_(kernels()), d_(w.dim), w1_(w.w1), b1_(w.b1), m_(4 * w.dim * w.dim), beta_(2 * w.dim),
      zeros_(2 * w.dim) {
    const int d = d_, d2 = 2 * d;
    if (d < 1 || static_cast<int>(w.w1.size()) != d2 * d || static_cast<int>(w.b1.size()) != d ||
        static_cast<int>(w.w2.size()) != d * d2 || static_cast<int>(w.b2.size()) != d2) {
        throw std::invalid_argument("linear merge network weights have the wrong shapes");
    }
    // M = W1 W2 - I, one row of W1 at a time, and beta = b1 W2 + b2
    for (int r = 0; r < d2; ++r) {
        const double* row = &w1_[static_cast<std::size_t>(r) * d];
        double* out = &m_[static_cast<std::size_t>(r) * d2];
        k_.affine(&row, 1, w.w2.data(), zeros_.data(), d, d2, &out);
        out[r] -= 1.0;
    }
    const double* b1 = b1_.data();
    double* beta = beta_.data();
    k_.affine(&b1, 1, w.w2.data(), w.b2.data(), d, d2, &beta);
}

void LinearModel::embed(const double* a, const double* b, double* h) const {
    const int d = d_;
    k_.affine(&a, 1, w1_.data(), b1_.data(), d, d, &h);
    k_.affine(&b, 1, w1_.data() + static_cast<std::size_t>(d) * d, h, d, d, &h);
}

void LinearModel::split(const double* const* x, int count, double* const* u, double* const* v) const {
    const int d = d_, d2 = 2 * d;
    k_.affine(x, count, m_.data(), beta_.data(), d, d2, u);
    k_.affine(x, count, m_.data() + static_cast<std::size_t>(d) * d2, zeros_.data(), d, d2, v);
}

LinearScorer::LinearScorer(const LinearModel& model, float* embeddings, int n,
                           const std::atomic<bool>* cancel)
    : model_(model), d_(model.dim()), cancel_(cancel), emb_(embeddings),
      k_(kernels()), uv_(static_cast<std::size_t>(n) * 4 * d_), x_(4 * static_cast<std::size_t>(d_)),
      y_(d_), nu_(n), nv_(n), s_(n, 0.0), h_(d_) {
    // the leaves four at a time: the weights stream past once per four
    for (int i = 0; i < n; i += 4) set_nodes(i, std::min(4, n - i), emb_ + static_cast<std::size_t>(i) * d_);
}

void LinearScorer::set_nodes(int slot, int count, const float* x) {
    const int d = d_, d2 = 2 * d;
    const double* rows[4];
    double* u[4];
    double* v[4];
    for (int r = 0; r < count; ++r) {
        const float* src = x + static_cast<std::size_t>(r) * d;
        std::copy(src, src + d, x_.begin() + static_cast<std::ptrdiff_t>(r) * d);
        rows[r] = x_.data() + static_cast<std::size_t>(r) * d;
        u[r] = &uv_[static_cast<std::size_t>(slot + r) * 2 * d2];
        v[r] = u[r] + d2;
    }
    model_.split(rows, count, u, v);
    for (int r = 0; r < count; ++r) {
        nu_[slot + r] = 0.5 * k_.dot(u[r], u[r], d2);
        nv_[slot + r] = 0.5 * k_.dot(v[r], v[r], d2);
    }
}

void LinearScorer::score(const int* lefts, const int* rights, int m, double* out) {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    const int d2 = 2 * d_;
    const double* uv = uv_.data();
    for (int k = 0; k < m; ++k) {
        const int i = lefts[k], j = rights[k];
        const double* u = uv + static_cast<std::size_t>(i) * 2 * d2;
        const double* v = uv + static_cast<std::size_t>(j) * 2 * d2 + d2;
        const double norms = nu_[i] + nv_[j];
        double err = norms + k_.dot(u, v, d2);
        if (err < kCancellation * norms) err = half_square_of_sum(u, v, d2);
        out[k] = (err + s_[i]) + s_[j];
    }
}

void LinearScorer::merge(const Step& s) {
    const int d = d_;
    const float* a = emb_ + static_cast<std::size_t>(s.left) * d;
    const float* b = emb_ + static_cast<std::size_t>(s.right) * d;
    std::copy(a, a + d, x_.begin());
    std::copy(b, b + d, y_.begin());
    model_.embed(x_.data(), y_.data(), h_.data());
    float* h = emb_ + static_cast<std::size_t>(s.node) * d;
    for (int c = 0; c < d; ++c) h[c] = static_cast<float>(h_[c]);
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
