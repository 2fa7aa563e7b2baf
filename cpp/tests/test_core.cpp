// Unit tests of the pure C++ core, run through ctest.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "greedy_rae/batch.hpp"
#include "greedy_rae/engine.hpp"
#include "greedy_rae/forest.hpp"
#include "greedy_rae/heap.hpp"
#include "greedy_rae/kernels.hpp"
#include "greedy_rae/linear.hpp"
#include "greedy_rae/model.hpp"
#include "greedy_rae/nonlinear.hpp"
#include "greedy_rae/plan.hpp"
#include "greedy_rae/pool.hpp"

using namespace greedy_rae;

static int failures = 0;
#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                                   \
        }                                                                                 \
    } while (0)

// A toy network on scalar nodes, with small integer values so that exact ties
// are frequent: error(l, r) = (l - r)^2 + l, parent = l + 2 r (mod 7).
struct Toy {
    static double error(double l, double r) { return (l - r) * (l - r) + l; }
    static double parent(double l, double r) { return std::fmod(l + 2 * r, 7.0); }
};

class ToyScorer : public PairScorer {
public:
    ToyScorer(const std::vector<double>& leaves) : value(leaves) {}
    // small integers: exact in float
    void errors(const int* l, const int* r, int m, const int*, float* out) const override {
        for (int k = 0; k < m; ++k)
            out[k] = static_cast<float>(Toy::error(value[l[k]], value[r[k]]));
    }
    void merge(const Step& s) {
        value[s.left_slot] = Toy::parent(value[s.left_slot], value[s.right_slot]);
    }
    // read-only in errors(): calls may be split from two pairs on
    int min_parallel_pairs() const override { return parallel; }
    bool costly() const override { return prune; }
    std::vector<double> value;
    int parallel = 0;
    bool prune = false;
};

struct Result {
    std::vector<long> merges;
    std::vector<double> scores;
};

// The seed algorithm: rescore every pair of the current list at every step.
// Nodes are values; error(l, r) scores a pair, parent(l, r, id) is the value
// of the new node with id `id`.
template <class Error, class Parent>
static Result brute_force_with(std::vector<double> value, bool adjacent, Error error,
                               Parent parent) {
    const int n = static_cast<int>(value.size());
    std::vector<long> id(n);
    std::vector<double> score(n, 0.0);
    for (int i = 0; i < n; ++i) id[i] = i;
    Result res;
    for (int step = 0; step + 1 < n; ++step) {
        double best = INFINITY;
        int bi = 0, bj = 0;
        const int m = static_cast<int>(value.size());
        for (int i = 0; i < m; ++i) {
            for (int j = i + 1; j < m; ++j) {
                if (adjacent && j != i + 1) continue;
                const double s =
                    (static_cast<double>(error(value[i], value[j])) + score[i]) + score[j];
                if (s < best) {
                    best = s;
                    bi = i;
                    bj = j;
                }
            }
        }
        res.merges.push_back(id[bi]);
        res.merges.push_back(id[bj]);
        res.scores.push_back(best);
        value[bi] = parent(value[bi], value[bj], n + step);
        score[bi] = best;
        id[bi] = n + step;
        value.erase(value.begin() + bj);
        score.erase(score.begin() + bj);
        id.erase(id.begin() + bj);
    }
    return res;
}

static Result brute_force(const std::vector<double>& leaves, bool adjacent) {
    return brute_force_with(leaves, adjacent, Toy::error,
                            [](double l, double r, long) { return Toy::parent(l, r); });
}

static Result run_greedy(const std::vector<double>& leaves, PairMode mode, long* calls,
                         int threads = 1, long* rescored = nullptr, bool prune = false) {
    const int n = static_cast<int>(leaves.size());
    ToyScorer scorer(leaves);
    scorer.prune = prune;
    if (threads > 1) scorer.parallel = 2;  // split even small calls
    const std::unique_ptr<Engine> g = Engine::make(n, mode);
    g->start(scorer, threads);
    Result res;
    while (!g->done()) {
        const Step s = g->step(scorer);
        res.merges.push_back(s.left);
        res.merges.push_back(s.right);
        res.scores.push_back(s.score);
        scorer.merge(s);
        g->update(scorer);
    }
    if (calls) *calls = g->pairs_scored();
    if (rescored) *rescored = g->pairs_rescored();
    return res;
}

static void test_heap() {
    IndexedHeap h(6);
    const double keys[6] = {3, 1, 4, 1, 5, 9};
    for (int i = 0; i < 6; ++i) h.set(i, keys[i]);
    CHECK(h.top() == 1);  // tie between 1 and 3 goes to the smaller index
    h.remove(1);
    CHECK(h.top() == 3);
    h.set(5, 0.5);
    CHECK(h.top() == 5);
    h.set(5, 10);
    CHECK(h.top() == 3);
    CHECK(h.size() == 5);
    CHECK(!h.contains(1));
}

static void test_greedy_against_brute_force() {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        const int n = 1 + static_cast<int>(rng() % 40);
        std::vector<double> leaves(n);
        for (double& v : leaves) v = static_cast<double>(rng() % 5);
        for (PairMode mode : {PairMode::All, PairMode::Adjacent}) {
            const bool adjacent = mode == PairMode::Adjacent;
            long scored = 0;
            const Result got = run_greedy(leaves, mode, &scored);
            const Result want = brute_force(leaves, adjacent);
            CHECK(got.merges == want.merges);
            CHECK(got.scores == want.scores);
            long scored_threads = 0;
            const Result threaded = run_greedy(leaves, mode, &scored_threads, 3);
            CHECK(threaded.merges == want.merges);
            // row scans that skip partners by their lower bounds
            long scored_pruned = 0;
            const Result pruned = run_greedy(leaves, mode, &scored_pruned, 1, nullptr, true);
            CHECK(pruned.merges == want.merges);
            CHECK(pruned.scores == want.scores);
            CHECK(scored_threads == scored);
            if (adjacent) {
                CHECK(scored <= 3L * n);
            } else {
                CHECK(scored <= static_cast<long>(n - 1) * (n - 1));
            }
        }
    }
}

static void test_forest_matches_greedy() {
    std::mt19937 rng(11);
    std::vector<std::vector<double>> seqs;
    std::vector<int> lengths;
    for (int t = 0; t < 6; ++t) {
        const int n = 1 + static_cast<int>(rng() % 15);
        std::vector<double> v(n);
        for (double& x : v) x = static_cast<double>(rng() % 4);
        seqs.push_back(v);
        lengths.push_back(n);
    }
    for (PairMode mode : {PairMode::All, PairMode::Adjacent}) {
        Forest forest(lengths, mode);
        // values of every global node, as an outside scorer would keep them
        std::vector<double> value(forest.total_nodes());
        for (int t = 0; t < 6; ++t) {
            for (int i = 0; i < lengths[t]; ++i) value[forest.offset(t) + i] = seqs[t][i];
        }
        std::vector<std::int64_t> l, r, node;
        while (true) {
            forest.pending(l, r);
            std::vector<float> err(l.size());
            for (std::size_t k = 0; k < l.size(); ++k)
                err[k] = static_cast<float>(Toy::error(value[l[k]], value[r[k]]));
            forest.submit(err.data(), static_cast<std::int64_t>(err.size()));
            if (forest.done()) break;
            forest.step(l, r, node);
            for (std::size_t k = 0; k < l.size(); ++k)
                value[node[k]] = Toy::parent(value[l[k]], value[r[k]]);
            if (forest.done()) break;
        }
        for (int t = 0; t < 6; ++t) {
            const Result want = brute_force(seqs[t], mode == PairMode::Adjacent);
            std::vector<long> merges(forest.merges(t).begin(), forest.merges(t).end());
            CHECK(merges == want.merges);
            CHECK(forest.scores(t) == want.scores);
            const long n = lengths[t];
            if (mode == PairMode::All) {
                CHECK(forest.pairs_scored(t) == (n - 1) * (n - 1));
            } else {
                CHECK(forest.pairs_scored(t) <= 3 * n);
            }
        }
    }
}

static NetworkSpec random_spec(int d, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0.0, 0.5);
    NetworkSpec w;
    w.dim = d;
    for (int k = 0; k < 2 * d * d; ++k) w.w1.push_back(g(rng));
    for (int k = 0; k < d; ++k) w.b1.push_back(g(rng));
    for (int k = 0; k < 2 * d * d; ++k) w.w2.push_back(g(rng));
    for (int k = 0; k < 2 * d; ++k) w.b2.push_back(g(rng));
    return w;
}

static double act(Activation f, double x) {
    if (f == Activation::Tanh) return std::tanh(x);
    if (f == Activation::Relu) return x > 0 ? x : 0;
    return x;
}

// The network's forward in double, straight from its definition: the parent
// h and the reconstruction error of (a, b) with n1, n2 leaves under them.
static double direct_error(const NetworkSpec& w, const float* a, const float* b, int n1, int n2,
                           std::vector<double>& h) {
    const int d = w.dim;
    std::vector<double> c(2 * d);
    for (int k = 0; k < d; ++k) {
        c[k] = a[k];
        c[d + k] = b[k];
    }
    h.assign(d, 0.0);
    double norm = 0;
    for (int j = 0; j < d; ++j) {
        double z = w.b1[j];
        for (int k = 0; k < 2 * d; ++k) z += c[k] * w.w1[k * d + j];
        h[j] = act(w.encoder, z);
        norm += h[j] * h[j];
    }
    if (w.normalize) {
        // as Keras: a zero vector stays zero
        for (double& v : h) v /= std::max(std::sqrt(norm), 1e-12);
    }
    double e1 = 0, e2 = 0;
    for (int j = 0; j < 2 * d; ++j) {
        double y = w.b2[j];
        for (int k = 0; k < d; ++k) y += h[k] * w.w2[k * 2 * d + j];
        y = act(w.decoder, y);
        (j < d ? e1 : e2) += 0.5 * (y - c[j]) * (y - c[j]);
    }
    if (w.reconstruction == Reconstruction::Weighted) return (n1 * e1 + n2 * e2) / (n1 + n2);
    return e1 + e2;
}

static void test_native_networks() {
    const int d = 5;
    std::mt19937 rng(9);
    std::normal_distribution<float> g;
    std::vector<float> leaves(3 * d);
    for (float& v : leaves) v = g(rng);
    const Activation acts[] = {Activation::Linear, Activation::Tanh, Activation::Relu};
    int cases = 0;
    for (Activation enc : acts) {
        for (Activation dec : acts) {
            for (bool normalize : {false, true}) {
                for (Reconstruction rec : {Reconstruction::Plain, Reconstruction::Weighted}) {
                    NetworkSpec w = random_spec(d, 100 + cases++);
                    w.encoder = enc;
                    w.decoder = dec;
                    w.normalize = normalize;
                    w.reconstruction = rec;
                    const std::unique_ptr<Network> net = make_network(w);
                    const bool linear =
                        enc == Activation::Linear && dec == Activation::Linear && !normalize;
                    CHECK(linear == (dynamic_cast<const LinearNetwork*>(net.get()) != nullptr));
                    // pair errors, with leaf counts 2 and 5 under the children
                    std::vector<float> emb(5 * d);
                    std::copy(leaves.begin(), leaves.end(), emb.begin());
                    const std::unique_ptr<NodeScorer> scorer = net->scorer(emb.data(), 3, nullptr);
                    const int counts[3] = {2, 5, 1};
                    const int l[6] = {0, 0, 1, 1, 0, 2}, r[6] = {1, 2, 2, 0, 1, 1};
                    float got[6];
                    scorer->errors(l, r, 6, counts, got);
                    std::vector<double> h;
                    for (int k = 0; k < 6; ++k) {
                        const double want = direct_error(w, &leaves[l[k] * d], &leaves[r[k] * d],
                                                         counts[l[k]], counts[r[k]], h);
                        CHECK(std::fabs(got[k] - want) <= 1e-4 * (1 + std::fabs(want)));
                    }
                    // a whole build of three leaves: the merged embedding is h of its children
                    std::int64_t merges[4];
                    double scores[2];
                    build(*net, PairMode::All, 3, emb.data(), merges, scores);
                    direct_error(w, &emb[merges[0] * d], &emb[merges[1] * d], 1, 1, h);
                    for (int j = 0; j < d; ++j)
                        CHECK(std::fabs(emb[3 * d + j] - h[j]) <= 1e-4 * (1 + std::fabs(h[j])));
                    CHECK(scores[1] >= scores[0]);
                }
            }
        }
    }
}

static void test_non_finite_weights_stop_the_build() {
    NetworkSpec w;
    w.dim = 2;
    w.w1 = {1, 0, 0, 1, 0, 0, 0, 0};
    w.b1 = {0, 0};
    w.w2 = {1, 0, 0, 0, 0, 1, 0, 0};
    w.b2 = {0, 0, 0, NAN};
    for (PairMode mode : {PairMode::All, PairMode::Adjacent}) {
        std::vector<float> emb(2 * 5 * 2 - 2);
        for (std::size_t k = 0; k < 10; ++k) emb[k] = static_cast<float>(k);
        std::vector<std::int64_t> merges(8);
        std::vector<double> scores(4);
        bool threw = false;
        try {
            // the linear form in one mode, the general one in the other
            w.encoder = mode == PairMode::All ? Activation::Linear : Activation::Tanh;
            build(*make_network(w), mode, 5, emb.data(), merges.data(), scores.data());
        } catch (const NonFinite&) {
            threw = true;
        }
        CHECK(threw);
    }
}

// Forwards to a network's scorer, saying whether row scans may skip pairs
// by their lower bounds.
class Pruning : public NodeScorer {
public:
    Pruning(std::unique_ptr<NodeScorer> inner, bool prune)
        : inner_(std::move(inner)), prune_(prune) {}
    void errors(const int* l, const int* r, int m, const int* counts, float* out) const override {
        inner_->errors(l, r, m, counts, out);
    }
    void merge(const Step& s) override { inner_->merge(s); }
    bool costly() const override { return prune_; }

private:
    std::unique_ptr<NodeScorer> inner_;
    bool prune_;
};

static void test_row_scans_by_lower_bound() {
    // the same float32 errors either way, so the trees must be equal bit for bit
    const int d = 6;
    std::mt19937 rng(21);
    std::normal_distribution<float> g;
    for (int trial = 0; trial < 6; ++trial) {
        const int n = 100 + 60 * trial;
        NetworkSpec w = random_spec(d, 300 + trial);
        w.encoder = Activation::Tanh;
        w.normalize = true;
        w.reconstruction = trial % 2 ? Reconstruction::Weighted : Reconstruction::Plain;
        const std::unique_ptr<Network> net = make_network(w);
        std::vector<float> leaves(static_cast<std::size_t>(n) * d);
        for (float& v : leaves) v = g(rng);
        std::vector<std::int64_t> merges[2];
        std::vector<double> scores[2];
        std::int64_t evaluated[2];
        for (int prune = 0; prune < 2; ++prune) {
            std::vector<float> emb(static_cast<std::size_t>(2 * n - 1) * d);
            std::copy(leaves.begin(), leaves.end(), emb.begin());
            Pruning scorer(net->scorer(emb.data(), n, nullptr), prune == 1);
            const std::unique_ptr<Engine> e = Engine::make(n, PairMode::All);
            e->start(scorer);
            while (!e->done()) {
                const Step s = e->step(scorer);
                merges[prune].push_back(s.left);
                merges[prune].push_back(s.right);
                scores[prune].push_back(s.score);
                scorer.merge(s);
                e->update(scorer);
            }
            evaluated[prune] = e->pairs_scored() + e->pairs_rescored();
        }
        CHECK(merges[0] == merges[1]);
        CHECK(scores[0] == scores[1]);
        CHECK(evaluated[1] < evaluated[0]);
    }
}

static void test_batch_equals_single_builds() {
    // batch builds step several sequences in lockstep and compute their new
    // nodes together: every tree must be the one a build of its own, one new
    // node at a time, gives, bit for bit (widths with and without grouping, both pair modes, linear
    // and nonlinear networks, plain and weighted, one and two threads)
    std::mt19937 rng(31);
    std::normal_distribution<float> g;
    int cases = 0;
    for (int d : {5, 8, 16}) {
        for (int kind = 0; kind < 2; ++kind) {
            NetworkSpec w = random_spec(d, 500 + cases++);
            if (kind == 1) {
                w.encoder = Activation::Tanh;
                w.normalize = true;
            }
            w.reconstruction = d == 8 ? Reconstruction::Weighted : Reconstruction::Plain;
            const std::unique_ptr<Network> net = make_network(w);
            for (PairMode mode : {PairMode::All, PairMode::Adjacent}) {
                const int count = 19;
                std::vector<int> lengths(count);
                std::vector<std::vector<float>> leaves(count);
                for (int t = 0; t < count; ++t) {
                    lengths[t] = 1 + static_cast<int>(rng() % 30);
                    leaves[t].resize(static_cast<std::size_t>(lengths[t]) * d);
                    for (float& v : leaves[t]) v = g(rng);
                }
                for (int threads : {1, 2}) {
                    std::vector<std::vector<float>> emb(count);
                    std::vector<std::vector<std::int64_t>> merges(count);
                    std::vector<std::vector<double>> scores(count);
                    std::vector<BatchItem> items(count);
                    for (int t = 0; t < count; ++t) {
                        const int n = lengths[t];
                        emb[t].assign(static_cast<std::size_t>(2 * n - 1) * d, 0.0f);
                        std::copy(leaves[t].begin(), leaves[t].end(), emb[t].begin());
                        merges[t].assign(2 * (n - 1), 0);
                        scores[t].assign(n - 1, 0.0);
                        items[t] = {n, emb[t].data(), merges[t].data(), scores[t].data(), {}};
                    }
                    std::atomic<std::int64_t> merged{0};
                    build_batch(*net, mode, items, threads, merged, [] { return true; });
                    for (int t = 0; t < count; ++t) {
                        const int n = lengths[t];
                        std::vector<float> e1(static_cast<std::size_t>(2 * n - 1) * d, 0.0f);
                        std::copy(leaves[t].begin(), leaves[t].end(), e1.begin());
                        std::vector<std::int64_t> m1;
                        std::vector<double> s1;
                        // one sequence, one new node at a time (the scorer's own merge)
                        const std::unique_ptr<NodeScorer> scorer =
                            net->scorer(e1.data(), n, nullptr);
                        const std::unique_ptr<Engine> e = Engine::make(n, mode);
                        e->start(*scorer);
                        while (!e->done()) {
                            const Step s = e->step(*scorer);
                            m1.push_back(s.left);
                            m1.push_back(s.right);
                            s1.push_back(s.score);
                            scorer->merge(s);
                            e->update(*scorer);
                        }
                        CHECK(m1 == merges[t]);
                        CHECK(s1 == scores[t]);
                        CHECK(e1 == emb[t]);
                    }
                }
            }
        }
    }
}

// Pseudo-random errors keyed by the two node ids: few distinct values (so
// exact ties are common), and NaN at a given rate.
struct RandomErrors {
    std::uint64_t seed;
    double nan_rate;
    float operator()(std::int64_t a, std::int64_t b) const {
        std::uint64_t h = seed ^ (static_cast<std::uint64_t>(a) * 0x9E3779B97F4A7C15ULL) ^
                          (static_cast<std::uint64_t>(b) * 0xC2B2AE3D27D4EB4FULL);
        h ^= h >> 31;
        h *= 0xBF58476D1CE4E5B9ULL;
        h ^= h >> 29;
        if (static_cast<double>(h % 1000000) < nan_rate * 1e6) return std::nanf("");
        return static_cast<float>((h >> 20) % 8) * 0.25f;
    }
};

class RandomScorer : public PairScorer {
public:
    RandomScorer(int n, RandomErrors f, bool prune, int parallel)
        : node(n), f_(f), prune_(prune), parallel_(parallel) {
        for (int i = 0; i < n; ++i) node[i] = i;
    }
    void errors(const int* l, const int* r, int m, const int*, float* out) const override {
        for (int k = 0; k < m; ++k) out[k] = f_(node[l[k]], node[r[k]]);
    }
    int min_parallel_pairs() const override { return parallel_; }
    bool costly() const override { return prune_; }
    std::vector<std::int64_t> node;

private:
    RandomErrors f_;
    bool prune_;
    int parallel_;
};

// The seed algorithm over node ids with errors f.
static Result brute_force_ids(int n, const RandomErrors& f, bool adjacent) {
    std::vector<double> ids(n);
    for (int i = 0; i < n; ++i) ids[i] = i;
    return brute_force_with(
        ids, adjacent,
        [&](double a, double b) {
            return f(static_cast<std::int64_t>(a), static_cast<std::int64_t>(b));
        },
        [](double, double, long node) { return static_cast<double>(node); });
}

static void test_fuzz_engines() {
    // random sizes, random errors with frequent ties, every engine setting;
    // with NaN errors the build stops with NonFinite (and nothing undefined
    // happens: this test also runs under the sanitizers)
    std::mt19937 rng(99);
    int nan_stops = 0;
    for (int trial = 0; trial < 120; ++trial) {
        const int n = 1 + static_cast<int>(rng() % 200);
        const bool with_nan = trial % 4 == 3;
        const RandomErrors f{rng(), with_nan ? 0.002 : 0.0};
        for (PairMode mode : {PairMode::All, PairMode::Adjacent}) {
            const Result want =
                with_nan ? Result{} : brute_force_ids(n, f, mode == PairMode::Adjacent);
            for (int setting = 0; setting < 3; ++setting) {
                RandomScorer scorer(n, f, setting >= 1, setting == 2 ? 3 : 0);
                const std::unique_ptr<Engine> e = Engine::make(n, mode);
                Result got;
                try {
                    e->start(scorer, setting == 2 ? 2 : 1);
                    while (!e->done()) {
                        const Step s = e->step(scorer);
                        got.merges.push_back(s.left);
                        got.merges.push_back(s.right);
                        got.scores.push_back(s.score);
                        scorer.node[s.left_slot] = s.node;
                        e->update(scorer);
                    }
                } catch (const NonFinite&) {
                    CHECK(with_nan);
                    ++nan_stops;
                    continue;
                }
                if (!with_nan) {
                    CHECK(got.merges == want.merges);
                    CHECK(got.scores == want.scores);
                }
            }
        }
    }
    CHECK(nan_stops > 0);
}

static void test_forest_adjacent_cache_is_linear() {
    CHECK(CachedScorer::bytes(100000, PairMode::Adjacent) == 400000);
    CHECK(CachedScorer::bytes(1000, PairMode::All) == 4000000);
}

static void test_run_batch_cancel() {
    std::atomic<bool> cancel{false};
    std::atomic<int> ran{0};
    bool threw = false;
    try {
        run_batch(
            1000, 2,
            [&](int) {
                ran++;
                while (!cancel.load()) {
                }
            },
            cancel, [] { return false; }, 1);
    } catch (const Cancelled&) {
        threw = true;
    }
    CHECK(threw);
    CHECK(ran.load() <= 2);

    std::atomic<bool> cancel2{false};
    std::atomic<int> sum{0};
    run_batch(100, 2, [&](int i) { sum += i; }, cancel2, [] { return true; }, 1);
    CHECK(sum.load() == 4950);
}

static void test_replay_plan() {
    // tree 0: leaves 0..3; 4 = (0, 1), 5 = (4, 2), 6 = (3, 5). tree 1: 2 = (0, 1). tree 2: one
    // leaf.
    const std::int64_t t0[] = {0, 1, 4, 2, 3, 5}, t1[] = {0, 1};
    const ReplayPlan plan = replay_plan({4, 2, 1}, {t0, t1, nullptr}, true);
    // table: leaves 0-3, 4-5, 6; level 1: t0's 4 (row 7), t1's 2 (row 8); level 2: t0's 5
    // (row 9); level 3: t0's 6 (row 10)
    CHECK((plan.sizes == std::vector<std::int32_t>{2, 1, 1}));
    CHECK((plan.left == std::vector<std::int32_t>{0, 4, 7, 3}));
    CHECK((plan.right == std::vector<std::int32_t>{1, 5, 2, 9}));
    CHECK((plan.row_tree == std::vector<std::int32_t>{0, 0, 0, 0, 1, 1, 2, 0, 1, 0, 0}));
    CHECK(
        (plan.left_share == std::vector<float>{0.5f, 0.5f, static_cast<float>(2.0 / 3.0), 0.25f}));
    CHECK((plan.source == std::vector<std::int64_t>{0, 3, 1, 2}));
    // child-gradient rows: 0 zero; level 3: left 1, right 2; level 2: 3, 4; level 1: 5-6, 7-8.
    // t0's 4 is level 2's left child, t0's 5 level 3's right child; the roots get row 0.
    CHECK((plan.parent == std::vector<std::int32_t>{3, 0, 2, 0}));
    // leaves: t0's 0 and 1 are level 1's left/right children at rows 5 and 7
    // (level 1 has 2 merges: left rows 5-6, right rows 7-8), t0's 2 is level
    // 2's right child (row 4), t0's 3 level 3's left child (row 1); t1's 0 and
    // 1 level 1's second merge's (rows 6 and 8); t2's leaf is a root (0)
    CHECK((plan.leaf_parent == std::vector<std::int32_t>{5, 7, 4, 1, 6, 8, 0}));
    CHECK(replay_plan({4, 2, 1}, {t0, t1, nullptr}, false).left_share.empty());
    CHECK(replay_plan({1, 1}, {nullptr, nullptr}, false).sizes.empty());
    // a child that does not exist yet; a node merged twice
    const std::int64_t missing[] = {0, 2}, twice[] = {0, 1, 0, 2};
    for (const std::int64_t* bad : {missing, twice}) {
        bool threw = false;
        try {
            replay_plan({bad == missing ? 2 : 3}, {bad}, false);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }
}

static void test_replay_table() {
    // the trees of test_replay_plan; node j of tree t holds 100 t + j in every column
    const std::int64_t t0[] = {0, 1, 4, 2, 3, 5}, t1[] = {0, 1};
    const std::vector<std::int64_t> lengths{4, 2, 1};
    const int d = 3;
    std::vector<std::vector<float>> nodes(3);
    for (int t = 0; t < 3; ++t) {
        for (std::int64_t j = 0; j < 2 * lengths[t] - 1; ++j) {
            for (int k = 0; k < d; ++k) nodes[t].push_back(static_cast<float>(100 * t + j));
        }
    }
    std::vector<const float*> rows{nodes[0].data(), nodes[1].data(), nodes[2].data()};
    ReplayPlan plan = replay_plan(lengths, {t0, t1, nullptr}, false);
    fill_nodes(plan, lengths, rows, d);
    CHECK(plan.dim == d);
    // leaves in tree order, then the merges in table order (t0's 4, t1's 2, t0's 5, t0's 6)
    const std::vector<float> expected{0, 1, 2, 3, 100, 101, 200, 4, 102, 5, 6};
    CHECK(plan.nodes.size() == expected.size() * d);
    for (std::size_t r = 0; r < expected.size(); ++r) {
        for (int k = 0; k < d; ++k) CHECK(plan.nodes[r * d + k] == expected[r]);
    }
    // a non-finite root embedding is refused
    nodes[1][2 * d + 1] = NAN;
    bool threw = false;
    try {
        fill_nodes(plan, lengths, rows, d);
    } catch (const NonFinite&) {
        threw = true;
    }
    CHECK(threw);
}

static void test_build_plan_matches_batch_builds() {
    // build_plan's table and fields equal the plan of build_batch's trees
    std::mt19937 rng(77);
    std::normal_distribution<float> g;
    const int d = 8;
    for (int kind = 0; kind < 2; ++kind) {
        NetworkSpec w = random_spec(d, 900 + kind);
        if (kind == 1) {
            w.encoder = Activation::Tanh;
            w.normalize = true;
            w.reconstruction = Reconstruction::Weighted;
        }
        const bool weighted = kind == 1;
        const std::unique_ptr<Network> net = make_network(w);
        for (PairMode mode : {PairMode::All, PairMode::Adjacent}) {
            const int count = 11;
            std::vector<std::int64_t> lengths(count);
            std::vector<std::vector<float>> leaves(count), nodes(count);
            std::vector<std::vector<std::int64_t>> merges(count);
            std::vector<std::vector<double>> scores(count);
            std::vector<BatchItem> items(count);
            std::vector<const float*> rows(count), tables(count);
            std::vector<const std::int64_t*> lists(count);
            for (int t = 0; t < count; ++t) {
                lengths[t] = 1 + static_cast<int>(rng() % 20);
                const auto n = static_cast<std::size_t>(lengths[t]);
                leaves[t].resize(n * d);
                for (float& v : leaves[t]) v = g(rng);
                nodes[t].assign((2 * n - 1) * d, 0.0f);
                std::copy(leaves[t].begin(), leaves[t].end(), nodes[t].begin());
                merges[t].resize(2 * (n - 1));
                scores[t].resize(n - 1);
                items[t] = {
                    static_cast<int>(n), nodes[t].data(), merges[t].data(), scores[t].data(), {}};
                rows[t] = leaves[t].data();
                tables[t] = nodes[t].data();
                lists[t] = merges[t].data();
            }
            std::atomic<std::int64_t> merged{0};
            build_batch(*net, mode, items, 2, merged, [] { return true; });
            ReplayPlan expected = replay_plan(lengths, lists, weighted);
            fill_nodes(expected, lengths, tables, d);
            std::atomic<std::int64_t> merged2{0};
            const ReplayPlan plan =
                build_plan(*net, mode, rows, lengths, weighted, 2, merged2, [] { return true; });
            CHECK(plan.nodes == expected.nodes);
            CHECK(plan.left == expected.left && plan.right == expected.right);
            CHECK(plan.sizes == expected.sizes && plan.parent == expected.parent);
            CHECK(plan.leaf_parent == expected.leaf_parent);
            CHECK(plan.left_share == expected.left_share && plan.row_tree == expected.row_tree);
            CHECK(merged2.load() == merged.load());
        }
    }
}

static void test_kernels_agree() {
    // every kernel set (the AVX2 one where the CPU has it, and the portable
    // one) against a double-precision reference computed here, so that the
    // test means the same on a CPU without AVX2
    std::printf("kernels: %s\n", kernels().name);
    std::mt19937 rng(5);
    std::normal_distribution<float> g;
    auto close = [](float a, double b, double scale) {
        return std::fabs(static_cast<double>(a) - b) <= 1e-5 * scale;
    };
    for (const Kernels* k : {&kernels(), &portable_kernels()}) {
        for (int rows : {1, 3, 8, 13, 64}) {
            for (int cols : {1, 7, 8, 20, 64, 128}) {
                std::vector<float> w(rows * cols), init(cols), x(4 * rows);
                for (float& v : w) v = g(rng);
                for (float& v : init) v = g(rng);
                for (float& v : x) v = g(rng);
                const double scale = 1.0 + rows;
                auto reference = [&](int r, int c) {
                    double sum = init[c];
                    for (int i = 0; i < rows; ++i) {
                        sum += static_cast<double>(x[r * rows + i]) * w[i * cols + c];
                    }
                    return sum;
                };
                for (int count = 1; count <= 4; ++count) {
                    std::vector<float> a(4 * cols);
                    const float* xs[4] = {&x[0], &x[rows], &x[2 * rows], &x[3 * rows]};
                    float* as[4] = {&a[0], &a[cols], &a[2 * cols], &a[3 * cols]};
                    k->affine(xs, count, w.data(), init.data(), rows, cols, as);
                    for (int r = 0; r < count; ++r) {
                        for (int c = 0; c < cols; ++c) {
                            CHECK(close(a[r * cols + c], reference(r, c), scale));
                        }
                    }
                }
                // in place: out[0] == init
                std::vector<float> inplace = init;
                const float* x0 = x.data();
                float* o = inplace.data();
                k->affine(&x0, 1, w.data(), inplace.data(), rows, cols, &o);
                for (int c = 0; c < cols; ++c) CHECK(close(inplace[c], reference(0, c), scale));
                const int m = rows * cols, half = m / 2;
                double sum2 = 0, diff2 = 0;
                for (int i = 0; i < half; ++i) {
                    const double u = w[i], v = w[half + i];
                    sum2 += (u + v) * (u + v);
                    diff2 += (u - v) * (u - v);
                }
                const float e = k->half_square_of_sum(w.data(), w.data() + half, half);
                CHECK(close(e, sum2 / 2, 1.0 + sum2));
                const float f = k->half_square_of_difference(w.data(), w.data() + half, half);
                CHECK(close(f, diff2 / 2, 1.0 + diff2));
            }
        }
    }
}

static void test_row_kernels_match_pair_kernel() {
    // the row and block kernels give each pair's half_square_of_sum bit for
    // bit, in both kernel sets, for lengths with and without tails
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (const Kernels* k : {&kernels(), &portable_kernels()}) {
        for (int m : {1, 3, 8, 13, 16, 24, 31, 64, 70}) {
            const int count = 23, stride = m + 5;
            std::vector<float> base(static_cast<std::size_t>(count + 4) * stride), x(4 * m);
            for (float& v : base) v = normal(rng);
            for (float& v : x) v = normal(rng);
            std::vector<int> index(count);
            for (int q = 0; q < count; ++q) index[q] = (q * 7) % (count + 4);
            std::vector<float> row(count), block(4 * count);
            const float* xs[4] = {&x[0], &x[m], &x[2 * m], &x[3 * m]};
            float* outs[4] = {&block[0], &block[count], &block[2 * count], &block[3 * count]};
            for (int rows = 1; rows <= 4; ++rows) {
                k->half_squares_block(xs, rows, base.data(), index.data(), stride, count, m, outs);
                for (int r = 0; r < rows; ++r) {
                    k->half_squares_of_sums(xs[r], base.data(), index.data(), stride, count, m,
                                            row.data());
                    for (int q = 0; q < count; ++q) {
                        const float e = k->half_square_of_sum(
                            xs[r], &base[static_cast<std::size_t>(index[q]) * stride], m);
                        CHECK(row[q] == e);
                        CHECK(outs[r][q] == e);
                    }
                }
            }
        }
    }
}

static void test_tanh() {
    // both versions against the C library, over the whole range and past the clamp
    std::vector<float> x;
    for (float v = -12.0f; v <= 12.0f; v += 0.00731f) x.push_back(v);
    x.push_back(0.0f);
    x.push_back(1e-5f);
    for (const Kernels* k : {&kernels(), &portable_kernels()}) {
        std::vector<float> y = x;
        k->tanh(y.data(), static_cast<int>(y.size()));
        for (std::size_t i = 0; i < x.size(); ++i) {
            CHECK(std::fabs(y[i] - std::tanh(x[i])) <= 4e-7f);
        }
    }
}

static void test_parent_kernels_agree() {
    // every kernel set against f(p + q), normalised, computed in double here
    std::mt19937 rng(8);
    std::normal_distribution<float> g;
    for (const Kernels* k : {&kernels(), &portable_kernels()}) {
        for (int d : {1, 5, 8, 13, 32, 64}) {
            std::vector<float> p(d), q(d), a(d);
            for (int i = 0; i < d; ++i) {
                p[i] = g(rng);
                q[i] = g(rng);
            }
            for (Activation act : {Activation::Linear, Activation::Tanh, Activation::Relu}) {
                for (bool normalize : {false, true}) {
                    k->parent(p.data(), q.data(), a.data(), d, act, normalize);
                    std::vector<double> want(d);
                    double norm = 0;
                    for (int i = 0; i < d; ++i) {
                        const double z = static_cast<double>(p[i]) + q[i];
                        want[i] = act == Activation::Linear ? z
                                  : act == Activation::Tanh ? std::tanh(z)
                                                            : std::max(z, 0.0);
                        norm += want[i] * want[i];
                    }
                    if (normalize && norm > 0) {
                        for (double& v : want) v /= std::sqrt(norm);
                    }
                    for (int i = 0; i < d; ++i) {
                        CHECK(std::fabs(a[i] - want[i]) <= 2e-6 * (1 + std::fabs(want[i])));
                    }
                }
            }
        }
    }
}

struct Case {
    const char* name;
    void (*run)();
};

static const Case cases[] = {
    {"tanh", test_tanh},
    {"parent_kernels_agree", test_parent_kernels_agree},
    {"kernels_agree", test_kernels_agree},
    {"row_kernels_match_pair_kernel", test_row_kernels_match_pair_kernel},
    {"replay_plan", test_replay_plan},
    {"replay_table", test_replay_table},
    {"build_plan_matches_batch_builds", test_build_plan_matches_batch_builds},
    {"heap", test_heap},
    {"greedy_against_brute_force", test_greedy_against_brute_force},
    {"forest_matches_greedy", test_forest_matches_greedy},
    {"native_networks", test_native_networks},
    {"row_scans_by_lower_bound", test_row_scans_by_lower_bound},
    {"batch_equals_single_builds", test_batch_equals_single_builds},
    {"fuzz_engines", test_fuzz_engines},
    {"forest_adjacent_cache_is_linear", test_forest_adjacent_cache_is_linear},
    {"run_batch_cancel", test_run_batch_cancel},
    {"non_finite_weights_stop_the_build", test_non_finite_weights_stop_the_build},
};

// test_core NAME runs one case (each is its own ctest entry); test_core runs all.
int main(int argc, char** argv) {
    int ran = 0;
    for (const Case& c : cases) {
        if (argc > 1 && std::strcmp(argv[1], c.name) != 0) continue;
        c.run();
        ++ran;
    }
    if (ran == 0) {
        std::fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    if (failures != 0) {
        std::fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    std::printf("%d core test case(s) passed\n", ran);
    return 0;
}
