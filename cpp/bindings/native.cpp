#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "greedy_rae/batch.hpp"
#include "greedy_rae/model.hpp"
#include "greedy_rae/plan.hpp"
#include "mode.hpp"
#include "plan.hpp"

namespace py = pybind11;
using namespace greedy_rae;

namespace {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::vector<double> values(const DoubleArray& a) {
    return {a.data(), a.data() + a.size()};
}

std::unique_ptr<Network> network_of(const DoubleArray& w1, const DoubleArray& b1,
                                    const DoubleArray& w2, const DoubleArray& b2,
                                    const std::string& activation, bool normalize,
                                    const std::string& decoder_activation,
                                    bool normalize_reconstruction,
                                    const std::string& reconstruction) {
    NetworkSpec spec;
    spec.dim = static_cast<int>(b1.size());
    spec.encoder = parse_activation(activation);
    spec.normalize = normalize;
    spec.decoder = parse_activation(decoder_activation);
    spec.normalize_reconstruction = normalize_reconstruction;
    spec.reconstruction = parse_reconstruction(reconstruction);
    spec.w1 = values(w1);
    spec.b1 = values(b1);
    spec.w2 = values(w2);
    spec.b2 = values(b2);
    return make_network(spec);
}

// The number of leaves of one sequence, or a clear error.
int leaves_of(const FloatArray& x, int d) {
    if (x.ndim() != 2 || x.shape(1) != d || x.shape(0) < 1) {
        throw std::invalid_argument("each sequence must be a non-empty (n, " + std::to_string(d) +
                                    ") array");
    }
    if (x.shape(0) >= (py::ssize_t{1} << 30)) {
        throw std::invalid_argument("a sequence may have at most 2^30 - 1 leaves");
    }
    return static_cast<int>(x.shape(0));
}

using Poll = std::function<bool()>;

// Runs work(merged, poll) with the GIL released; poll, called from this
// thread by the core's batch runner, watches for Ctrl-C and reports progress.
void run_builds(const py::object& progress,
                const std::function<void(std::atomic<std::int64_t>&, const Poll&)>& work) {
    std::atomic<std::int64_t> merged{0};
    std::optional<py::error_already_set> interrupt;
    const Poll poll = [&]() -> bool {
        py::gil_scoped_acquire gil;
        try {
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            if (!progress.is_none()) progress(merged.load());
        } catch (py::error_already_set& e) {
            interrupt = std::move(e);
            return false;
        }
        return true;
    };
    try {
        // The builds touch no Python object: release the GIL so that other
        // Python threads run and this thread can poll for Ctrl-C meanwhile.
        py::gil_scoped_release nogil;
        work(merged, poll);
    } catch (const Cancelled&) {
        if (interrupt) throw std::move(*interrupt);
        throw;
    }
    if (!progress.is_none()) progress(merged.load());
}

py::list build_native_batch(const std::vector<FloatArray>& leaves, const DoubleArray& w1,
                            const DoubleArray& b1, const DoubleArray& w2, const DoubleArray& b2,
                            const std::string& activation, bool normalize,
                            const std::string& decoder_activation, bool normalize_reconstruction,
                            const std::string& reconstruction, const std::string& pairs,
                            int threads, const py::object& progress) {
    const std::unique_ptr<Network> network =
        network_of(w1, b1, w2, b2, activation, normalize, decoder_activation,
                   normalize_reconstruction, reconstruction);
    const PairMode mode = parse_pair_mode(pairs);
    const int d = network->dim();

    std::vector<BatchItem> items(leaves.size());
    py::list out;
    for (std::size_t t = 0; t < leaves.size(); ++t) {
        const FloatArray& x = leaves[t];
        const py::ssize_t n = leaves_of(x, d);
        py::array_t<float> e({2 * n - 1, static_cast<py::ssize_t>(d)});
        py::array_t<std::int64_t> mg({n - 1, py::ssize_t{2}});
        py::array_t<double> sc(n - 1);
        std::copy(x.data(), x.data() + x.size(), e.mutable_data());
        items[t] = {
            static_cast<int>(n), e.mutable_data(), mg.mutable_data(), sc.mutable_data(), {}};
        out.append(py::make_tuple(mg, sc, e));
    }
    run_builds(progress, [&](std::atomic<std::int64_t>& merged, const Poll& poll) {
        build_batch(*network, mode, items, threads, merged, poll);
    });
    for (std::size_t t = 0; t < items.size(); ++t) {
        py::tuple item = out[t];
        out[t] = py::make_tuple(item[0], item[1], item[2], items[t].stats.pairs_scored,
                                items[t].stats.pairs_rescored);
    }
    return out;
}

py::dict build_native_plan(const std::vector<FloatArray>& leaves, const DoubleArray& w1,
                           const DoubleArray& b1, const DoubleArray& w2, const DoubleArray& b2,
                           const std::string& activation, bool normalize,
                           const std::string& decoder_activation, bool normalize_reconstruction,
                           const std::string& reconstruction, const std::string& pairs,
                           int threads) {
    const std::unique_ptr<Network> network =
        network_of(w1, b1, w2, b2, activation, normalize, decoder_activation,
                   normalize_reconstruction, reconstruction);
    const PairMode mode = parse_pair_mode(pairs);
    const bool weighted = parse_reconstruction(reconstruction) == Reconstruction::Weighted;
    std::vector<std::int64_t> lengths(leaves.size());
    std::vector<const float*> rows(leaves.size());
    for (std::size_t t = 0; t < leaves.size(); ++t) {
        lengths[t] = leaves_of(leaves[t], network->dim());
        rows[t] = leaves[t].data();
    }
    ReplayPlan plan;
    run_builds(py::none(), [&](std::atomic<std::int64_t>& merged, const Poll& poll) {
        plan = build_plan(*network, mode, rows, lengths, weighted, threads, merged, poll);
    });
    return plan_dict(std::move(plan));
}

std::int64_t build_bytes_of(std::int64_t n, int dim, const std::string& pairs,
                            const std::string& kind_name) {
    BuildKind kind;
    if (kind_name == "linear") {
        kind = BuildKind::Linear;
    } else if (kind_name == "nonlinear") {
        kind = BuildKind::Nonlinear;
    } else if (kind_name == "cache") {
        kind = BuildKind::Cache;
    } else {
        throw std::invalid_argument("kind must be 'linear', 'nonlinear' or 'cache', got '" +
                                    kind_name + "'");
    }
    if (n < 1 || dim < 1) throw std::invalid_argument("n and dim must be positive");
    return build_bytes(n, dim, parse_pair_mode(pairs), kind);
}

}  // namespace

void register_native(py::module_& m) {
    m.def("build_bytes", &build_bytes_of, py::arg("n"), py::arg("dim"), py::arg("pairs"),
          py::arg("kind"),
          "Bytes one build of an n-leaf tree allocates in the core (outputs, engine, and what\n"
          "fills its score tables: kind 'linear' or 'nonlinear' for a native network, 'cache'\n"
          "for the errors an outside scorer hands in).");
    m.def("build_native_batch", &build_native_batch, py::arg("leaves"), py::arg("w1"),
          py::arg("b1"), py::arg("w2"), py::arg("b2"), py::arg("activation"), py::arg("normalize"),
          py::arg("decoder_activation"), py::arg("normalize_reconstruction"),
          py::arg("reconstruction"), py::arg("pairs"), py::arg("threads") = 0,
          py::arg("progress") = py::none(),
          "Greedy trees of a batch of sequences under a native merge network.\n"
          "Returns, per sequence, (merges, scores, embeddings, pairs_scored, pairs_rescored).");
    m.def("build_native_plan", &build_native_plan, py::arg("leaves"), py::arg("w1"), py::arg("b1"),
          py::arg("w2"), py::arg("b2"), py::arg("activation"), py::arg("normalize"),
          py::arg("decoder_activation"), py::arg("normalize_reconstruction"),
          py::arg("reconstruction"), py::arg("pairs"), py::arg("threads") = 0,
          "Builds a batch's trees as build_native_batch does and returns their replay plan\n"
          "instead of the trees: a dict of the fields of greedy_rae.build.plan.Plan.");
}
