#include "greedy_rae/nonlinear.hpp"

#include <algorithm>
#include <cmath>

namespace greedy_rae {

NonlinearNetwork::NonlinearNetwork(const NetworkSpec& w)
    : SplitNetwork(w.dim),
      k_(greedy_rae::kernels()),
      encoder_(w.encoder),
      decoder_(w.decoder),
      normalize_(w.normalize),
      normalize_reconstruction_(w.normalize_reconstruction),
      weighted_(w.reconstruction == Reconstruction::Weighted),
      w1_(w.w1.begin(), w.w1.end()),
      b1_(w.b1.begin(), w.b1.end()),
      w2_(w.w2.begin(), w.w2.end()),
      b2_(w.b2.begin(), w.b2.end()),
      zeros_(w.dim) {}

std::unique_ptr<NodeScorer> NonlinearNetwork::scorer(float* embeddings, int n,
                                                     const std::atomic<bool>* cancel) const {
    return std::make_unique<NonlinearScorer>(*this, embeddings, n, cancel);
}

void NonlinearNetwork::split(const float* const* x, int count, float* const* p,
                             float* const* q) const {
    const int d = d_;
    k_.affine(x, count, w1_.data(), b1_.data(), d, d, p);
    k_.affine(x, count, w1_.data() + static_cast<std::size_t>(d) * d, zeros_.data(), d, d, q);
}

// x * min(1 / |x|, 1e12) over d values, as keras.ops.normalize (and the parent's)
static void unit_length(float* x, int d) {
    float squares = 0.0f;
    for (int k = 0; k < d; ++k) squares += x[k] * x[k];
    const float inv = std::min(1.0f / std::sqrt(squares), 1e12f);
    for (int k = 0; k < d; ++k) x[k] *= inv;
}

void NonlinearNetwork::parent(const float* p, const float* q, float* h) const {
    k_.parent(p, q, h, d_, encoder_, normalize_);
}

void NonlinearNetwork::errors(const float* const* h, const float* const* a, const float* const* b,
                              int count, const int* n_left, const int* n_right, float* out,
                              float* const* y) const {
    const int d = d_;
    k_.affine(h, count, w2_.data(), b2_.data(), d, 2 * d, y);
    for (int r = 0; r < count; ++r) {
        k_.activate(y[r], 2 * d, decoder_);
        if (normalize_reconstruction_) {
            unit_length(y[r], d);
            unit_length(y[r] + d, d);
        }
        const float e1 = k_.half_square_of_difference(y[r], a[r], d);
        const float e2 = k_.half_square_of_difference(y[r] + d, b[r], d);
        out[r] = weighted_ ? weighted_error(e1, e2, n_left[r], n_right[r]) : e1 + e2;
    }
}

NonlinearScorer::NonlinearScorer(const NonlinearNetwork& model, float* embeddings, int n,
                                 const std::atomic<bool>* cancel)
    : SplitScorer(model, embeddings, n, cancel), model_(model), node_(n) {
    for (int i = 0; i < n; ++i) node_[i] = embedding(i);
}

void NonlinearScorer::errors(const int* lefts, const int* rights, int m, const int* counts,
                             float* out) const {
    check_cancel();
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
            model_.parent(first(i), second(j), h[r]);
            a[r] = node_[i];
            b[r] = node_[j];
            nl[r] = counts[i];
            nr[r] = counts[j];
        }
        model_.errors(h, a, b, count, nl, nr, out + k, y);
    }
}

float* NonlinearScorer::parent(const Step& s) {
    float* h = embedding(s.node);
    model_.parent(first(s.left_slot), second(s.right_slot), h);
    node_[s.left_slot] = h;
    return h;
}

}  // namespace greedy_rae
