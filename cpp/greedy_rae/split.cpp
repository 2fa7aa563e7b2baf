#include "greedy_rae/split.hpp"

#include <algorithm>

namespace greedy_rae {

void SplitNetwork::parents(SplitScorer* const* scorers, const Step* steps, int count,
                           float** h) const {
    for (int r = 0; r < count; ++r) h[r] = scorers[r]->parent(steps[r]);
}

void SplitNetwork::merge_group(NodeScorer* const* scorers, const Step* steps, int count) const {
    if (d_ % 8 != 0) {
        Network::merge_group(scorers, steps, count);
        return;
    }
    for (int g0 = 0; g0 < count; g0 += 4) {
        const int c = std::min(4, count - g0);
        SplitScorer* group[4];
        float* h[4];
        float *first[4], *second[4];
        for (int r = 0; r < c; ++r) {
            group[r] = static_cast<SplitScorer*>(scorers[g0 + r]);
            first[r] = group[r]->first(steps[g0 + r].left_slot);
            second[r] = group[r]->second(steps[g0 + r].left_slot);
        }
        parents(group, steps + g0, c, h);
        const float* x[4] = {h[0], h[1], h[2], h[3]};
        split(x, c, first, second);
    }
}

SplitScorer::SplitScorer(const SplitNetwork& model, float* embeddings, int n,
                         const std::atomic<bool>* cancel)
    : split_model_(model),
      d_(model.dim()),
      w_(model.half_width()),
      cancel_(cancel),
      emb_(embeddings),
      first_(static_cast<std::size_t>(n) * w_),
      second_(static_cast<std::size_t>(n) * w_) {
    // the leaves four at a time: the weights stream past once per four
    for (int i = 0; i < n; i += 4) {
        const int count = std::min(4, n - i);
        const float* x[4];
        for (int r = 0; r < count; ++r) x[r] = embedding(i + r);
        set_nodes(i, count, x);
    }
}

void SplitScorer::set_nodes(int slot, int count, const float* const* x) {
    float* first_at[4];
    float* second_at[4];
    for (int r = 0; r < count; ++r) {
        first_at[r] = first(slot + r);
        second_at[r] = second(slot + r);
    }
    split_model_.split(x, count, first_at, second_at);
}

void SplitScorer::merge(const Step& s) {
    const float* h = parent(s);
    set_nodes(s.left_slot, 1, &h);
}

}  // namespace greedy_rae
