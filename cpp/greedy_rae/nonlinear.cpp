#include "greedy_rae/nonlinear.hpp"

#include <algorithm>
#include <cmath>

namespace greedy_rae {

NonlinearModel::NonlinearModel(const NetworkSpec& w)
    : k_(greedy_rae::kernels()),
      d_(w.dim),
      encoder_(w.encoder),
      decoder_(w.decoder),
      normalize_(w.normalize),
      weighted_(w.reconstruction == Reconstruction::Weighted),
      w1_(w.w1.begin(), w.w1.end()),
      b1_(w.b1.begin(), w.b1.end()),
      w2_(w.w2.begin(), w.w2.end()),
      b2_(w.b2.begin(), w.b2.end()),
      zeros_(w.dim) {}

std::unique_ptr<NodeScorer> NonlinearModel::scorer(float* embeddings, int n,
                                                   const std::atomic<bool>* cancel) const {
    return std::make_unique<NonlinearScorer>(*this, embeddings, n, cancel);
}

void NonlinearModel::split(const float* const* x, int count, float* const* p,
                           float* const* q) const {
    const int d = d_;
    k_.affine(x, count, w1_.data(), b1_.data(), d, d, p);
    k_.affine(x, count, w1_.data() + static_cast<std::size_t>(d) * d, zeros_.data(), d, d, q);
}

void NonlinearModel::parent(const float* p, const float* q, float* h) const {
    k_.parent(p, q, h, d_, static_cast<int>(encoder_), normalize_);
}

void NonlinearModel::errors(const float* const* h, const float* const* a, const float* const* b,
                            int count, const int* n_left, const int* n_right, float* out,
                            float* const* y) const {
    const int d = d_;
    k_.affine(h, count, w2_.data(), b2_.data(), d, 2 * d, y);
    for (int r = 0; r < count; ++r) {
        k_.activate(y[r], 2 * d, static_cast<int>(decoder_));
        const float e1 = k_.half_square_of_difference(y[r], a[r], d);
        const float e2 = k_.half_square_of_difference(y[r] + d, b[r], d);
        out[r] = weighted_ ? weighted_error(e1, e2, n_left[r], n_right[r]) : e1 + e2;
    }
}

NonlinearScorer::NonlinearScorer(const NonlinearModel& model, float* embeddings, int n,
                                 const std::atomic<bool>* cancel)
    : model_(model),
      d_(model.dim()),
      cancel_(cancel),
      emb_(embeddings),
      p_(static_cast<std::size_t>(n) * d_),
      q_(static_cast<std::size_t>(n) * d_),
      node_(n) {
    for (int i = 0; i < n; ++i) node_[i] = emb_ + static_cast<std::size_t>(i) * d_;
    // the leaves four at a time: the weights stream past once per four
    for (int i = 0; i < n; i += 4) set_nodes(i, std::min(4, n - i), &node_[i]);
}

void NonlinearScorer::set_nodes(int slot, int count, const float* const* x) {
    float* p[4];
    float* q[4];
    for (int r = 0; r < count; ++r) {
        p[r] = &p_[static_cast<std::size_t>(slot + r) * d_];
        q[r] = &q_[static_cast<std::size_t>(slot + r) * d_];
    }
    model_.split(x, count, p, q);
}

void NonlinearScorer::errors(const int* lefts, const int* rights, int m, const int* counts,
                             float* out) {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    const int d = d_;
    // four parents and four reconstructions; per thread (the first scan of
    // all pairs calls this from several threads at once)
    thread_local std::vector<float> work;
    work.resize(static_cast<std::size_t>(12) * d);
    float* h[4];
    float* y[4];
    for (int r = 0; r < 4; ++r) {
        h[r] = &work[static_cast<std::size_t>(r) * d];
        y[r] = &work[static_cast<std::size_t>(4 + 2 * r) * d];
    }
    const float* a[4];
    const float* b[4];
    int nl[4], nr[4];
    for (int k = 0; k < m; k += 4) {
        const int count = std::min(4, m - k);
        for (int r = 0; r < count; ++r) {
            const int i = lefts[k + r], j = rights[k + r];
            const float* p = &p_[static_cast<std::size_t>(i) * d];
            const float* q = &q_[static_cast<std::size_t>(j) * d];
            model_.parent(p, q, h[r]);
            a[r] = node_[i];
            b[r] = node_[j];
            nl[r] = counts[i];
            nr[r] = counts[j];
        }
        model_.errors(h, a, b, count, nl, nr, out + k, y);
    }
}

float* NonlinearScorer::parent(const Step& s, float** p, float** q) {
    const std::size_t d = static_cast<std::size_t>(d_);
    float* h = emb_ + static_cast<std::size_t>(s.node) * d;
    model_.parent(&p_[static_cast<std::size_t>(s.left_slot) * d],
                  &q_[static_cast<std::size_t>(s.right_slot) * d], h);
    node_[s.left_slot] = h;
    *p = &p_[static_cast<std::size_t>(s.left_slot) * d];
    *q = &q_[static_cast<std::size_t>(s.left_slot) * d];
    return h;
}

void NonlinearScorer::merge(const Step& s) {
    float *p, *q;
    const float* h = parent(s, &p, &q);
    model_.split(&h, 1, &p, &q);
}

void NonlinearModel::merge_group(NodeScorer* const* scorers, const Step* steps, int count) const {
    // The vector kernels run each value's chain of multiply-adds the same
    // way for any number of rows; a width that leaves columns to the scalar
    // tail (which the compiler may vectorise by row count) is not grouped.
    if (d_ % 8 != 0) {
        Network::merge_group(scorers, steps, count);
        return;
    }
    for (int g0 = 0; g0 < count; g0 += 4) {
        const int c = std::min(4, count - g0);
        const float* h[4];
        float *p[4], *q[4];
        for (int r = 0; r < c; ++r) {
            h[r] =
                static_cast<NonlinearScorer&>(*scorers[g0 + r]).parent(steps[g0 + r], &p[r], &q[r]);
        }
        split(h, c, p, q);
    }
}

}  // namespace greedy_rae
