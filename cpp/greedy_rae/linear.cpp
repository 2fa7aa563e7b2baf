#include "greedy_rae/linear.hpp"

#include <algorithm>
#include <cstring>

namespace greedy_rae {
namespace {

// The hot loop of all-pairs builds. GCC compiles an AVX2/FMA copy beside the
// baseline one and picks at load time, so the shipped build needs no -march.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2,fma", "default")))
#endif
double dot(const double* x, const double* y, int m) {
    // Four partial sums let the compiler vectorise without -ffast-math.
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    for (; k + 4 <= m; k += 4) {
        s0 += x[k] * y[k];
        s1 += x[k + 1] * y[k + 1];
        s2 += x[k + 2] * y[k + 2];
        s3 += x[k + 3] * y[k + 3];
    }
    for (; k < m; ++k) s0 += x[k] * y[k];
    return (s0 + s1) + (s2 + s3);
}

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
    : d_(w.dim), w1_(w.w1), b1_(w.b1), m_(4 * w.dim * w.dim), beta_(2 * w.dim) {
    const int d = d_, d2 = 2 * d;
    if (d < 1 || static_cast<int>(w.w1.size()) != d2 * d || static_cast<int>(w.b1.size()) != d ||
        static_cast<int>(w.w2.size()) != d * d2 || static_cast<int>(w.b2.size()) != d2) {
        throw std::invalid_argument("linear merge network weights have the wrong shapes");
    }
    for (int r = 0; r < d2; ++r) {
        for (int c = 0; c < d2; ++c) {
            double s = 0;
            for (int k = 0; k < d; ++k) s += w.w1[r * d + k] * w.w2[k * d2 + c];
            m_[r * d2 + c] = s - (r == c ? 1.0 : 0.0);
        }
    }
    for (int c = 0; c < d2; ++c) {
        double s = w.b2[c];
        for (int k = 0; k < d; ++k) s += w.b1[k] * w.w2[k * d2 + c];
        beta_[c] = s;
    }
}

void LinearModel::embed(const double* a, const double* b, double* h) const {
    const int d = d_;
    std::copy(b1_.begin(), b1_.end(), h);
    for (int k = 0; k < d; ++k) {
        const double* top = &w1_[k * d];
        const double* bot = &w1_[(d + k) * d];
        for (int c = 0; c < d; ++c) h[c] += a[k] * top[c] + b[k] * bot[c];
    }
}

void LinearModel::split(const double* x, double* u, double* v) const {
    const int d = d_, d2 = 2 * d;
    std::copy(beta_.begin(), beta_.end(), u);
    std::fill(v, v + d2, 0.0);
    for (int k = 0; k < d; ++k) {
        const double* top = &m_[k * d2];
        const double* bot = &m_[(d + k) * d2];
        for (int c = 0; c < d2; ++c) {
            u[c] += x[k] * top[c];
            v[c] += x[k] * bot[c];
        }
    }
}

LinearScorer::LinearScorer(const LinearModel& model, const float* leaves, int n,
                           const std::atomic<bool>* cancel)
    : model_(model), d_(model.dim()), cancel_(cancel),
      x_(static_cast<std::size_t>(n) * d_), uv_(static_cast<std::size_t>(n) * 4 * d_),
      nu_(n), nv_(n), s_(n), h_(d_) {
    std::vector<double> leaf(d_);
    for (int i = 0; i < n; ++i) {
        for (int c = 0; c < d_; ++c) leaf[c] = leaves[static_cast<std::size_t>(i) * d_ + c];
        set_node(i, leaf.data(), 0.0);
    }
}

void LinearScorer::set_node(int slot, const double* x, double node_score) {
    const int d = d_, d2 = 2 * d;
    double* xs = &x_[static_cast<std::size_t>(slot) * d];
    std::copy(x, x + d, xs);
    double* u = &uv_[static_cast<std::size_t>(slot) * 2 * d2];
    double* v = u + d2;
    model_.split(xs, u, v);
    nu_[slot] = 0.5 * dot(u, u, d2);
    nv_[slot] = 0.5 * dot(v, v, d2);
    s_[slot] = node_score;
}

void LinearScorer::score(const int* lefts, const int* rights, int m, double* out) {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    const int d2 = 2 * d_;
    for (int k = 0; k < m; ++k) {
        const int i = lefts[k], j = rights[k];
        const double* u = &uv_[static_cast<std::size_t>(i) * 2 * d2];
        const double* v = &uv_[static_cast<std::size_t>(j) * 2 * d2 + d2];
        const double norms = nu_[i] + nv_[j];
        double err = norms + dot(u, v, d2);
        if (err < kCancellation * norms) err = half_square_of_sum(u, v, d2);
        out[k] = (err + s_[i]) + s_[j];
    }
}

void LinearScorer::merge(const Step& s, float* h_out) {
    const int d = d_;
    model_.embed(&x_[static_cast<std::size_t>(s.left_slot) * d],
                 &x_[static_cast<std::size_t>(s.right_slot) * d], h_.data());
    for (int c = 0; c < d; ++c) h_out[c] = static_cast<float>(h_[c]);
    set_node(s.left_slot, h_.data(), s.score);
}

BuildStats build_linear(const LinearModel& model, PairMode mode, int n, float* embeddings,
                        std::int64_t* merges, double* scores, const std::atomic<bool>* cancel,
                        std::atomic<std::int64_t>* progress, int threads) {
    const int d = model.dim();
    LinearScorer scorer(model, embeddings, n, cancel);
    Greedy greedy(n, mode);
    greedy.start(scorer, threads);
    while (!greedy.done()) {
        const Step s = greedy.step(scorer);
        const std::int64_t k = s.node - n;
        merges[2 * k] = s.left;
        merges[2 * k + 1] = s.right;
        scores[k] = s.score;
        scorer.merge(s, embeddings + static_cast<std::size_t>(s.node) * d);
        greedy.update(scorer);
        if (progress != nullptr) progress->fetch_add(1, std::memory_order_relaxed);
    }
    return {greedy.pairs_scored(), greedy.pairs_rescored()};
}

}  // namespace greedy_rae
