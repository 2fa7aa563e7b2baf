#include "greedy_rae/linear.hpp"

#include <algorithm>

namespace greedy_rae {

LinearNetwork::LinearNetwork(const NetworkSpec& w)
    : SplitNetwork(w.dim),
      k_(greedy_rae::kernels()),
      weighted_(w.reconstruction == Reconstruction::Weighted),
      w1_(w.w1.begin(), w.w1.end()),
      b1_(w.b1.begin(), w.b1.end()),
      m_(4 * w.dim * w.dim),
      beta_(2 * w.dim),
      zeros_(2 * w.dim) {
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
        for (int c = 0; c < d2; ++c)
            m_[static_cast<std::size_t>(r) * d2 + c] = static_cast<float>(row[c]);
    }
    std::copy(w.b2.begin(), w.b2.end(), row.begin());
    for (int k = 0; k < d; ++k) {
        const double* w2k = &w.w2[static_cast<std::size_t>(k) * d2];
        for (int c = 0; c < d2; ++c) row[c] += w.b1[k] * w2k[c];
    }
    std::copy(row.begin(), row.end(), beta_.begin());
}

std::unique_ptr<NodeScorer> LinearNetwork::scorer(float* embeddings, int n,
                                                  const std::atomic<bool>* cancel) const {
    return std::make_unique<LinearScorer>(*this, embeddings, n, cancel);
}

void LinearNetwork::embed(const float* a, const float* b, float* h) const {
    const int d = d_;
    k_.affine(&a, 1, w1_.data(), b1_.data(), d, d, &h);
    k_.affine(&b, 1, w1_.data() + static_cast<std::size_t>(d) * d, h, d, d, &h);
}

void LinearNetwork::parents(SplitScorer* const* scorers, const Step* steps, int count,
                            float** h) const {
    const std::size_t d = static_cast<std::size_t>(d_);
    thread_local std::vector<float> children;  // [a; b] of each new node
    children.resize(4 * 2 * d);
    float* ab = children.data();
    const float* x[4];
    for (int r = 0; r < count; ++r) {
        SplitScorer& s = *scorers[r];
        const Step& step = steps[r];
        float* row = ab + r * 2 * d;
        std::copy(s.embedding(step.left), s.embedding(step.left) + d, row);
        std::copy(s.embedding(step.right), s.embedding(step.right) + d, row + d);
        x[r] = row;
        h[r] = s.embedding(step.node);
    }
    k_.affine(x, count, w1_.data(), b1_.data(), 2 * d_, d_, h);
}

void LinearNetwork::split(const float* const* x, int count, float* const* u,
                          float* const* v) const {
    const int d = d_, d2 = 2 * d;
    k_.affine(x, count, m_.data(), beta_.data(), d, d2, u);
    k_.affine(x, count, m_.data() + static_cast<std::size_t>(d) * d2, zeros_.data(), d, d2, v);
}

LinearScorer::LinearScorer(const LinearNetwork& model, float* embeddings, int n,
                           const std::atomic<bool>* cancel)
    : SplitScorer(model, embeddings, n, cancel), model_(model) {}

void LinearScorer::errors(const int* lefts, const int* rights, int m, const int* counts,
                          float* out) const {
    check_cancel();
    // Calls come as rows: one left slot against many right slots (row scans)
    // or many left slots against one right slot (a new node's column). Each
    // run goes to the row kernel, which streams the many vectors past the one
    // with several pairs in flight; u + v and v + u are the same float, so
    // every pair's error is the one half_square_of_sum gives.
    for (int k = 0; k < m;) {
        int end = k + 1;
        while (end < m && lefts[end] == lefts[k]) ++end;
        float* run_out = out + k;
        if (end - k > 1) {
            pairs(first_.data(), lefts + k, 1, second_.data(), rights + k, end - k, counts, false,
                  &run_out);
        } else {
            while (end < m && rights[end] == rights[k]) ++end;
            pairs(second_.data(), rights + k, 1, first_.data(), lefts + k, end - k, counts, true,
                  &run_out);
        }
        k = end;
    }
}

void LinearScorer::row_block(const int* lefts, int rows, const int* rights, int m,
                             const int* counts, float* const* out) {
    check_cancel();
    pairs(first_.data(), lefts, rows, second_.data(), rights, m, counts, false, out);
}

void LinearScorer::pairs(const float* ones, const int* fixed, int rows, const float* manys,
                         const int* many, int m, const int* counts, bool fixed_is_right,
                         float* const* out) const {
    const std::size_t d = static_cast<std::size_t>(d_), d2 = 2 * d;
    const auto block = model_.kernels().half_squares_block;
    const float* x[4];
    for (int r = 0; r < rows; ++r) x[r] = ones + static_cast<std::size_t>(fixed[r]) * d2;
    if (!model_.weighted()) {
        block(x, rows, manys, many, d2, m, static_cast<int>(d2), out);
        return;
    }
    // each child's half of the error, then weighted by the leaf counts
    constexpr int kChunk = 256;
    float top[4][kChunk], bottom[4][kChunk];
    float* tops[4] = {top[0], top[1], top[2], top[3]};
    float* bottoms[4] = {bottom[0], bottom[1], bottom[2], bottom[3]};
    const float* x2[4];
    for (int r = 0; r < rows; ++r) x2[r] = x[r] + d;
    for (int k = 0; k < m; k += kChunk) {
        const int c = std::min(kChunk, m - k);
        block(x, rows, manys, many + k, d2, c, d_, tops);
        block(x2, rows, manys + d, many + k, d2, c, d_, bottoms);
        for (int r = 0; r < rows; ++r) {
            for (int q = 0; q < c; ++q) {
                const int one = counts[fixed[r]], other = counts[many[k + q]];
                out[r][k + q] = fixed_is_right
                                    ? weighted_error(top[r][q], bottom[r][q], other, one)
                                    : weighted_error(top[r][q], bottom[r][q], one, other);
            }
        }
    }
}

float* LinearScorer::parent(const Step& s) {
    float* h = embedding(s.node);
    model_.embed(embedding(s.left), embedding(s.right), h);
    return h;
}

}  // namespace greedy_rae
