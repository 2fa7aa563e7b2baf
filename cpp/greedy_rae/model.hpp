// Native merge networks: the description of a network the C++ core can
// compute, and the per-sequence scorer it hands the engine (builds: batch.hpp).
//
// Every network here has the structure of merge_network(dim, ...):
//     z = f([a; b] W1 + b1),  h = z / |z| when normalised, else z,
//     y = g(h W2 + b2),       c = [a; b]
// with f, g in {linear, tanh, relu} (Keras Dense kernels: W1 is (2d, d), W2
// is (d, 2d)). The reconstruction error of a pair is |y - c|^2 / 2 ("plain")
// or, with n1, n2 the leaves under a and b, (n1 |y1 - a|^2 + n2 |y2 - b|^2) /
// (2 (n1 + n2)) ("weighted", Socher et al. 2011).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "greedy_rae/engine.hpp"
#include "greedy_rae/kernels.hpp"

namespace greedy_rae {

enum class Reconstruction { Plain, Weighted };

struct NetworkSpec {
    int dim = 0;
    Activation encoder = Activation::Linear;
    bool normalize = false;
    Activation decoder = Activation::Linear;
    // each half of the reconstruction divided by its length (Socher et al.'s code)
    bool normalize_reconstruction = false;
    Reconstruction reconstruction = Reconstruction::Plain;
    std::vector<double> w1;  // (2d, d) row-major
    std::vector<double> b1;  // (d)
    std::vector<double> w2;  // (d, 2d) row-major
    std::vector<double> b2;  // (2d)
};

// The weighted reconstruction error from the errors of the two halves.
inline float weighted_error(float left, float right, int n_left, int n_right) {
    const double a = n_left, b = n_right;
    return static_cast<float>((a * left + b * right) / (a + b));
}

// The pair scorer of one sequence: holds what it needs of the node at every
// slot and writes every new node's embedding.
class NodeScorer : public PairScorer {
public:
    // Computes the embedding of the node made by step s and places it at its slot.
    virtual void merge(const Step& s) = 0;
};

// A network's weights in the form its scorers use; read-only, shared by the
// threads of a batch.
class Network {
public:
    virtual ~Network() = default;
    virtual int dim() const = 0;
    // embeddings: the (2n-1, d) float32 table of every node's embedding by
    // node id, leaves filled in; the scorer's merge() writes each new node's row.
    virtual std::unique_ptr<NodeScorer> scorer(float* embeddings, int n,
                                               const std::atomic<bool>* cancel) const = 0;
    // scorers[g]->merge(steps[g]) for g < count (scorers of this network,
    // one per sequence); a network may compute the new nodes together.
    virtual void merge_group(NodeScorer* const* scorers, const Step* steps, int count) const;
};

// The linear network (no activation, no normalisation) gets the O(d)-per-pair
// form of linear.hpp; every other one the general form of nonlinear.hpp.
std::unique_ptr<Network> make_network(const NetworkSpec& spec);

// Checks the shapes of spec's weights; throws std::invalid_argument. Called
// once a network, by make_network.
void check_spec(const NetworkSpec& spec);

// What fills a build's score tables, for memory estimates: a native network
// (linear or nonlinear), or the forest's cache of errors that an outside
// scorer (TensorFlow) hands in. Python: _options.BUILD_KINDS.
enum class BuildKind { Linear, Nonlinear, Cache };

// Bytes one build of an n-leaf, width-d tree allocates beyond its inputs: its
// outputs (embeddings, merges, scores), the engine, and the scorer (the
// native network's per-node vectors, or the forest's error cache).
std::int64_t build_bytes(std::int64_t n, int d, PairMode mode, BuildKind kind);

}  // namespace greedy_rae
