#include "greedy_rae/model.hpp"

#include "greedy_rae/forest.hpp"
#include "greedy_rae/linear.hpp"
#include "greedy_rae/nonlinear.hpp"

namespace greedy_rae {

void check_spec(const NetworkSpec& s) {
    const std::size_t d = static_cast<std::size_t>(s.dim);
    if (s.dim < 1 || s.w1.size() != 2 * d * d || s.b1.size() != d || s.w2.size() != 2 * d * d ||
        s.b2.size() != 2 * d) {
        throw std::invalid_argument("merge network weights have the wrong shapes");
    }
}

void Network::merge_group(NodeScorer* const* scorers, const Step* steps, int count) const {
    for (int g = 0; g < count; ++g) scorers[g]->merge(steps[g]);
}

std::unique_ptr<Network> make_network(const NetworkSpec& spec) {
    check_spec(spec);
    if (spec.encoder == Activation::Linear && !spec.normalize &&
        spec.decoder == Activation::Linear && !spec.normalize_reconstruction) {
        return std::make_unique<LinearNetwork>(spec);
    }
    return std::make_unique<NonlinearNetwork>(spec);
}

std::int64_t build_bytes(std::int64_t n, int d, PairMode mode, BuildKind kind) {
    const std::int64_t outputs = (2 * n - 1) * d * 4 + (n - 1) * (16 + 8);
    std::int64_t work = 0;
    switch (kind) {
        case BuildKind::Linear:
            work = LinearNetwork::bytes(n, d);
            break;
        case BuildKind::Nonlinear:
            work = NonlinearNetwork::bytes(n, d);
            break;
        case BuildKind::Cache:
            work = CachedScorer::bytes(n, mode);
            break;
    }
    return outputs + Engine::bytes(n, mode) + work;
}

}  // namespace greedy_rae
