// The replay's plan: the merges of a batch of trees in depth levels. A leaf
// has level 0 and a merge one more than its deeper child, so every merge of
// one level depends only on earlier levels, and one level of all trees can be
// computed in one batched call.
#pragma once

#include <cstdint>
#include <vector>

namespace greedy_rae {

// The replay's table starts as every tree's leaves stacked in tree order;
// the merges of level 1 of all trees follow, then those of level 2, and so
// on; within a level, merges keep tree order, then creation order.
// The fields are the Python Plan's, by name (cpp/bindings/plan.cpp hands
// them over as a dict; greedy_rae/build/plan.py is the NamedTuple).
struct ReplayPlan {
    std::int64_t dim = 0;
    std::vector<float> nodes;            // (rows, dim): every node's embedding, row order
    std::vector<std::int32_t> left;      // table row of each merge's left child, table order
    std::vector<std::int32_t> right;     // the same for the right child
    std::vector<std::int32_t> sizes;     // merges per level, level 1 first
    std::vector<float> left_share;       // n1 / (n1 + n2) per merge when weighted, else empty
    std::vector<std::int32_t> row_tree;  // the tree of every table row
    // The gradient pass goes from the last level back to the first. Its
    // child-gradient table starts with one zero row; each level then appends
    // the gradients of its left children, then of its right children. parent:
    // for each merge, the row there that holds the gradient its own parent
    // passes down to it (0, the zero row, for a root).
    std::vector<std::int32_t> parent;
    // leaf_parent: for each leaf (table row < leaves), the row of the
    // child-gradient table that holds the gradient its parent passes down to
    // it (0 for a one-leaf tree's root): what an embedding table's rows get.
    std::vector<std::int32_t> leaf_parent;
    // source: the index of each merge in creation order (trees in order, each
    // tree's merges in the order they were made)
    std::vector<std::int64_t> source;
};

// lengths[t]: leaves of tree t; merges[t]: its (lengths[t] - 1, 2) merges in
// local ids (leaves 0..n-1, merge k creates n + k), each child made before
// the merge that takes it. Throws std::invalid_argument on a bad id or when
// the table would not fit 32-bit rows.
ReplayPlan replay_plan(const std::vector<std::int64_t>& lengths,
                       const std::vector<const std::int64_t*>& merges, bool weighted);

// Fills plan.nodes (and plan.dim): every tree's leaves, then each merge's
// embedding in table order. nodes[t]: tree t's (2 n - 1, dim) embeddings,
// leaves first, then its merges in creation order. Throws NonFinite when a
// root's embedding is not finite (a non-finite node shows in the scores of
// its pairs, except the root: checking the roots covers every node).
void fill_nodes(ReplayPlan& plan, const std::vector<std::int64_t>& lengths,
                const std::vector<const float*>& nodes, std::int64_t dim);

}  // namespace greedy_rae
