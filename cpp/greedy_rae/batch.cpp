#include "greedy_rae/batch.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "greedy_rae/pool.hpp"

namespace greedy_rae {

namespace {

// Builds the trees of items[0..count) in lockstep, one step of each in turn,
// so that the network computes their new nodes together (each tree's floats
// are the ones a build of its own gives it).
void build_group(const Network& network, PairMode mode, BatchItem* items, int count,
                 const std::atomic<bool>* cancel, std::atomic<std::int64_t>* progress,
                 int threads) {
    std::vector<std::unique_ptr<NodeScorer>> scorers(count);
    std::vector<std::unique_ptr<Engine>> engines(count);
    for (int g = 0; g < count; ++g) {
        scorers[g] = network.scorer(items[g].embeddings, items[g].n, cancel);
        engines[g] = Engine::make(items[g].n, mode);
        engines[g]->start(*scorers[g], threads);
    }
    std::vector<NodeScorer*> active(count);
    std::vector<Step> steps(count);
    std::vector<int> which(count);
    while (true) {
        int m = 0;
        for (int g = 0; g < count; ++g) {
            if (engines[g]->done()) continue;
            const Step s = engines[g]->step(*scorers[g]);
            const std::int64_t k = s.node - items[g].n;
            items[g].merges[2 * k] = s.left;
            items[g].merges[2 * k + 1] = s.right;
            items[g].scores[k] = s.score;
            active[m] = scorers[g].get();
            steps[m] = s;
            which[m++] = g;
        }
        if (m == 0) break;
        network.merge_group(active.data(), steps.data(), m);
        for (int a = 0; a < m; ++a) engines[which[a]]->update(*active[a]);
        if (progress != nullptr) progress->fetch_add(m, std::memory_order_relaxed);
    }
    for (int g = 0; g < count; ++g) {
        items[g].stats = {engines[g]->pairs_scored(), engines[g]->pairs_rescored()};
    }
}

}  // namespace

BuildStats build(const Network& network, PairMode mode, int n, float* embeddings,
                 std::int64_t* merges, double* scores, const std::atomic<bool>* cancel,
                 std::atomic<std::int64_t>* progress, int threads) {
    BatchItem item{n, embeddings, merges, scores, {}};
    build_group(network, mode, &item, 1, cancel, progress, threads);
    return item.stats;
}

void build_batch(const Network& network, PairMode mode, std::vector<BatchItem>& items, int threads,
                 std::atomic<std::int64_t>& merged, const std::function<bool()>& poll) {
    const int count = static_cast<int>(items.size());
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int workers = std::max(1, threads > 0 ? threads : hw);
    const int scan_threads = std::max(1, workers / std::max(1, count));
    // Sequences go in groups of up to four (their new nodes share a pass over
    // the weights), while there are still at least two groups a worker.
    const int group = std::max(1, std::min(4, count / (2 * workers)));
    const int groups = (count + group - 1) / group;
    std::atomic<bool> cancel{false};
    auto job = [&](int t) {
        const int first = t * group;
        build_group(network, mode, &items[first], std::min(group, count - first), &cancel, &merged,
                    scan_threads);
    };
    run_batch(groups, threads, job, cancel, poll);
    // Scores are sums of non-negative errors, so a NaN or inf anywhere shows in
    // the root's score; an embedding's shows in the scores of its pairs, except
    // the root's own: the roots' scores and embeddings cover every node.
    const std::size_t d = static_cast<std::size_t>(network.dim());
    for (const BatchItem& item : items) {
        if (item.n < 2) continue;
        if (!std::isfinite(item.scores[item.n - 2]))
            throw NonFinite(
                "the merge network produced non-finite scores; the weights have diverged");
        const float* root = item.embeddings + static_cast<std::size_t>(2 * item.n - 2) * d;
        if (!std::all_of(root, root + d, [](float x) { return std::isfinite(x); }))
            throw NonFinite(
                "the merge network produced non-finite embeddings; the weights have diverged");
    }
}

ReplayPlan build_plan(const Network& network, PairMode mode,
                      const std::vector<const float*>& leaves,
                      const std::vector<std::int64_t>& lengths, bool weighted, int threads,
                      std::atomic<std::int64_t>& merged, const std::function<bool()>& poll) {
    const std::size_t trees = lengths.size();
    const auto d = static_cast<std::size_t>(network.dim());
    // one buffer each for all trees' nodes, merges and scores
    std::vector<std::size_t> node0(trees + 1, 0), merge0(trees + 1, 0);
    for (std::size_t t = 0; t < trees; ++t) {
        node0[t + 1] = node0[t] + static_cast<std::size_t>(2 * lengths[t] - 1);
        merge0[t + 1] = merge0[t] + static_cast<std::size_t>(lengths[t] - 1);
    }
    std::vector<float> nodes(node0[trees] * d);
    std::vector<std::int64_t> merges(2 * merge0[trees]);
    std::vector<double> scores(merge0[trees]);
    std::vector<BatchItem> items(trees);
    std::vector<const std::int64_t*> lists(trees);
    std::vector<const float*> tables(trees);
    for (std::size_t t = 0; t < trees; ++t) {
        float* x = &nodes[node0[t] * d];
        std::copy(leaves[t], leaves[t] + static_cast<std::size_t>(lengths[t]) * d, x);
        items[t] = {
            static_cast<int>(lengths[t]), x, &merges[2 * merge0[t]], &scores[merge0[t]], {}};
        lists[t] = &merges[2 * merge0[t]];
        tables[t] = x;
    }
    build_batch(network, mode, items, threads, merged, poll);  // refuses non-finite trees
    ReplayPlan plan = replay_plan(lengths, lists, weighted);
    fill_nodes(plan, lengths, tables, static_cast<std::int64_t>(d));
    return plan;
}

}  // namespace greedy_rae
