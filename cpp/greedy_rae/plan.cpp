#include "greedy_rae/plan.hpp"

#include "greedy_rae/engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace greedy_rae {

ReplayPlan replay_plan(const std::vector<std::int64_t>& lengths,
                       const std::vector<const std::int64_t*>& merges, bool weighted) {
    const std::size_t trees = lengths.size();
    if (merges.size() != trees) throw std::invalid_argument("one merge list per tree is needed");
    std::int64_t total_leaves = 0, total_merges = 0;
    for (std::int64_t n : lengths) {
        if (n < 1) throw std::invalid_argument("every tree needs at least one leaf");
        total_leaves += n;
        total_merges += n - 1;
    }
    // table rows, and the rows of the gradient pass's child-gradient table
    if (total_leaves + total_merges > std::numeric_limits<std::int32_t>::max() ||
        2 * total_merges + 1 > std::numeric_limits<std::int32_t>::max()) {
        throw std::invalid_argument("a replay plan holds fewer than 2^31 nodes and 2^30 merges");
    }

    // level of every merge, trees in order, merges in creation order
    std::vector<std::int32_t> level(static_cast<std::size_t>(total_merges));
    std::vector<std::int32_t> node_level;
    std::vector<char> taken;          // whether a node already has a parent
    std::vector<std::int64_t> count;  // merges per level, level 0 unused
    std::size_t m = 0;
    for (std::size_t t = 0; t < trees; ++t) {
        const std::int64_t n = lengths[t];
        node_level.assign(static_cast<std::size_t>(2 * n - 1), 0);
        taken.assign(static_cast<std::size_t>(2 * n - 1), 0);
        for (std::int64_t k = 0; k < n - 1; ++k, ++m) {
            std::int32_t deeper = 0;
            for (int side = 0; side < 2; ++side) {
                const std::int64_t child = merges[t][2 * k + side];
                const auto at = static_cast<std::size_t>(child);
                if (child < 0 || child >= n + k || taken[at]) {
                    throw std::invalid_argument(
                        "tree " + std::to_string(t) + ", merge " + std::to_string(k) +
                        ": child id " + std::to_string(child) +
                        (child < 0 || child >= n + k ? " does not exist yet" : " already merged"));
                }
                taken[at] = 1;
                deeper = std::max(deeper, node_level[at]);
            }
            const std::int32_t lv = deeper + 1;
            node_level[static_cast<std::size_t>(n + k)] = lv;
            level[m] = lv;
            if (count.size() <= static_cast<std::size_t>(lv)) count.resize(lv + 1, 0);
            ++count[lv];
        }
    }

    ReplayPlan plan;
    plan.sizes.reserve(count.empty() ? 0 : count.size() - 1);
    std::vector<std::int64_t> next(count.size(), 0);  // next free position of each level
    std::int64_t start = 0;
    for (std::size_t lv = 1; lv < count.size(); ++lv) {
        plan.sizes.push_back(static_cast<std::int32_t>(count[lv]));
        next[lv] = start;
        start += count[lv];
    }
    // first row of each level's left-child gradients in the child-gradient table
    std::vector<std::int64_t> grad_row(count.size(), 0);
    for (std::size_t lv = count.size(), row_at = 1; lv-- > 1;) {
        grad_row[lv] = static_cast<std::int64_t>(row_at);
        row_at += static_cast<std::size_t>(2 * count[lv]);
    }
    const std::vector<std::int64_t> level_start = next;
    plan.parent.assign(static_cast<std::size_t>(total_merges), 0);
    plan.leaf_parent.assign(static_cast<std::size_t>(total_leaves), 0);
    plan.source.resize(static_cast<std::size_t>(total_merges));
    plan.left.resize(static_cast<std::size_t>(total_merges));
    plan.right.resize(static_cast<std::size_t>(total_merges));
    plan.row_tree.resize(static_cast<std::size_t>(total_leaves + total_merges));
    if (weighted) plan.left_share.resize(static_cast<std::size_t>(total_merges));

    std::vector<std::int32_t> row;     // table row of every node of the tree
    std::vector<std::int64_t> leaves;  // leaves under every node of the tree
    std::int64_t leaf_row = 0;
    m = 0;
    for (std::size_t t = 0; t < trees; ++t) {
        const std::int64_t n = lengths[t];
        row.resize(static_cast<std::size_t>(2 * n - 1));
        leaves.assign(static_cast<std::size_t>(2 * n - 1), 1);
        for (std::int64_t i = 0; i < n; ++i) {
            row[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(leaf_row + i);
            plan.row_tree[static_cast<std::size_t>(leaf_row + i)] = static_cast<std::int32_t>(t);
        }
        leaf_row += n;
        for (std::int64_t k = 0; k < n - 1; ++k, ++m) {
            const auto a = static_cast<std::size_t>(merges[t][2 * k]);
            const auto b = static_cast<std::size_t>(merges[t][2 * k + 1]);
            const auto pos = static_cast<std::size_t>(next[level[m]]++);
            const auto node = static_cast<std::size_t>(n + k);
            row[node] = static_cast<std::int32_t>(total_leaves + static_cast<std::int64_t>(pos));
            plan.left[pos] = row[a];
            plan.right[pos] = row[b];
            plan.row_tree[static_cast<std::size_t>(total_leaves) + pos] =
                static_cast<std::int32_t>(t);
            plan.source[pos] = static_cast<std::int64_t>(m);
            // this merge hands its children their gradients from its level's rows
            const std::int64_t lv = level[m];
            const std::int64_t at = grad_row[lv] + static_cast<std::int64_t>(pos) - level_start[lv];
            for (int side = 0; side < 2; ++side) {
                const std::int32_t child = side == 0 ? row[a] : row[b];
                const auto row_at = static_cast<std::int32_t>(at + side * count[lv]);
                if (child >= total_leaves) {
                    plan.parent[static_cast<std::size_t>(child - total_leaves)] = row_at;
                } else {
                    plan.leaf_parent[static_cast<std::size_t>(child)] = row_at;
                }
            }
            leaves[node] = leaves[a] + leaves[b];
            if (weighted) {
                const double n1 = static_cast<double>(leaves[a]);
                plan.left_share[pos] =
                    static_cast<float>(n1 / (n1 + static_cast<double>(leaves[b])));
            }
        }
    }
    return plan;
}

void fill_nodes(ReplayPlan& plan, const std::vector<std::int64_t>& lengths,
                const std::vector<const float*>& nodes, std::int64_t dim) {
    if (nodes.size() != lengths.size())
        throw std::invalid_argument("one node table per tree is needed");
    const auto d = static_cast<std::size_t>(dim);
    std::vector<const float*> merge_row;  // each merge's embedding, creation order
    merge_row.reserve(plan.source.size());
    std::size_t leaves = 0;
    for (std::size_t t = 0; t < lengths.size(); ++t) {
        const auto n = static_cast<std::size_t>(lengths[t]);
        leaves += n;
        for (std::size_t k = 0; k < n - 1; ++k) merge_row.push_back(nodes[t] + (n + k) * d);
        const float* root = nodes[t] + (2 * n - 2) * d;
        for (std::size_t k = 0; k < d; ++k) {
            if (!std::isfinite(root[k])) {
                throw NonFinite(
                    "the merge network produced non-finite embeddings; the weights have"
                    " diverged");
            }
        }
    }
    if (merge_row.size() != plan.source.size()) {
        throw std::invalid_argument("the node tables do not match the plan's trees");
    }
    plan.dim = dim;
    plan.nodes.resize((leaves + merge_row.size()) * d);
    float* row = plan.nodes.data();
    for (std::size_t t = 0; t < lengths.size(); ++t) {
        row = std::copy(nodes[t], nodes[t] + static_cast<std::size_t>(lengths[t]) * d, row);
    }
    for (std::int64_t m : plan.source) {
        const float* h = merge_row[static_cast<std::size_t>(m)];
        row = std::copy(h, h + d, row);
    }
}

}  // namespace greedy_rae
