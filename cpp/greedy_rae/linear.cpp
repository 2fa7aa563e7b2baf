#include "greedy_rae/linear.hpp"

#include <algorithm>
#include <cstring>

namespace greedy_rae {
namespace {

// The hot loops below are compiled twice by GCC, for AVX2
// and for the baseline, and the copy is picked when the library loads, so
// the shipped build needs no -march flag.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && defined(__linux__)
#define GREEDY_RAE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GREEDY_RAE_CLONES
#endif

inline double dot(const double* x, const double* y, int m) {
    // Eight partial sums let the compiler vectorise without -ffast-math.
    double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int k = 0;
    for (; k + 8 <= m; k += 8) {
        for (int q = 0; q < 8; ++q) p[q] += x[k + q] * y[k + q];
    }
    for (; k < m; ++k) p[0] += x[k] * y[k];
    return ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
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

// out[k] = score of (lefts[k], rights[k]); uv holds U then V (2 * d2 values) by slot.
GREEDY_RAE_CLONES
void score_pairs(const double* uv, const double* nu, const double* nv, const double* s, int d2,
                 const int* lefts, const int* rights, int m, double* out) {
    for (int k = 0; k < m; ++k) {
        const int i = lefts[k], j = rights[k];
        const double* u = uv + static_cast<std::size_t>(i) * 2 * d2;
        const double* v = uv + static_cast<std::size_t>(j) * 2 * d2 + d2;
        const double norms = nu[i] + nv[j];
        double err = norms + dot(u, v, d2);
        if (err < kCancellation * norms) err = half_square_of_sum(u, v, d2);
        out[k] = (err + s[i]) + s[j];
    }
}

// out (cols) = init + x (rows) . w, w row-major (rows, cols); init may be out.
GREEDY_RAE_CLONES
void affine(const double* x, const double* w, const double* init, int rows, int cols, double* out) {
    if (init != out) std::copy(init, init + cols, out);
    for (int k = 0; k < rows; ++k) {
        const double xk = x[k];
        const double* wk = w + static_cast<std::size_t>(k) * cols;
        for (int c = 0; c < cols; ++c) out[c] += xk * wk[c];
    }
}

}  // namespace

LinearModel::LinearModel(const LinearWeights& w)
    : d_(w.dim), w1_(w.w1), b1_(w.b1), m_(4 * w.dim * w.dim), beta_(2 * w.dim), zeros_(2 * w.dim) {
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
    affine(a, w1_.data(), b1_.data(), d, d, h);
    affine(b, w1_.data() + static_cast<std::size_t>(d) * d, h, d, d, h);
}

void LinearModel::split(const double* x, double* u, double* v) const {
    const int d = d_, d2 = 2 * d;
    affine(x, m_.data(), beta_.data(), d, d2, u);
    affine(x, m_.data() + static_cast<std::size_t>(d) * d2, zeros_.data(), d, d2, v);
}

LinearScorer::LinearScorer(const LinearModel& model, float* embeddings, int n,
                           const std::atomic<bool>* cancel)
    : model_(model), d_(model.dim()), cancel_(cancel), emb_(embeddings),
      uv_(static_cast<std::size_t>(n) * 4 * d_), x_(d_), y_(d_), nu_(n), nv_(n), s_(n), h_(d_) {
    for (int i = 0; i < n; ++i) set_node(i, emb_ + static_cast<std::size_t>(i) * d_, 0.0);
}

void LinearScorer::set_node(int slot, const float* x, double node_score) {
    const int d = d_, d2 = 2 * d;
    std::copy(x, x + d, x_.begin());
    double* u = &uv_[static_cast<std::size_t>(slot) * 2 * d2];
    double* v = u + d2;
    model_.split(x_.data(), u, v);
    nu_[slot] = 0.5 * dot(u, u, d2);
    nv_[slot] = 0.5 * dot(v, v, d2);
    s_[slot] = node_score;
}

void LinearScorer::score(const int* lefts, const int* rights, int m, double* out) {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    score_pairs(uv_.data(), nu_.data(), nv_.data(), s_.data(), 2 * d_, lefts, rights, m, out);
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
    set_node(s.left_slot, h, s.score);
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
