#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include "greedy_rae/batch.hpp"
#include "greedy_rae/linear.hpp"
#include "mode.hpp"

namespace py = pybind11;
using namespace greedy_rae;

namespace {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

std::vector<double> values(const DoubleArray& a) { return {a.data(), a.data() + a.size()}; }

py::list build_linear_batch(const std::vector<FloatArray>& leaves, const DoubleArray& w1,
                            const DoubleArray& b1, const DoubleArray& w2, const DoubleArray& b2,
                            const std::string& pairs, int threads, const py::object& progress) {
    LinearWeights w;
    w.dim = static_cast<int>(b1.size());
    w.w1 = values(w1);
    w.b1 = values(b1);
    w.w2 = values(w2);
    w.b2 = values(b2);
    const LinearModel model(w);
    const PairMode mode = parse_pair_mode(pairs);
    const int d = model.dim();

    const int count = static_cast<int>(leaves.size());
    std::vector<int> n(count);
    std::vector<float*> emb(count);
    std::vector<std::int64_t*> mer(count);
    std::vector<double*> sco(count);
    std::vector<BuildStats> stats(count);
    py::list out;
    for (int t = 0; t < count; ++t) {
        const FloatArray& x = leaves[t];
        if (x.ndim() != 2 || x.shape(1) != d || x.shape(0) < 1) {
            throw std::invalid_argument("each sequence must be a non-empty (n, " + std::to_string(d) +
                                        ") array");
        }
        n[t] = static_cast<int>(x.shape(0));
        py::array_t<float> e({static_cast<py::ssize_t>(2 * n[t] - 1), static_cast<py::ssize_t>(d)});
        py::array_t<std::int64_t> mg({static_cast<py::ssize_t>(n[t] - 1), py::ssize_t{2}});
        py::array_t<double> sc(static_cast<py::ssize_t>(n[t] - 1));
        emb[t] = e.mutable_data();
        std::copy(x.data(), x.data() + x.size(), emb[t]);
        mer[t] = mg.mutable_data();
        sco[t] = sc.mutable_data();
        out.append(py::make_tuple(mg, sc, e));
    }

    std::atomic<bool> cancel{false};
    std::atomic<std::int64_t> merged{0};
    std::optional<py::error_already_set> interrupt;
    // Threads left over when there are fewer sequences than threads go to
    // the first all-pairs scan of each sequence.
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int scan_threads = std::max(1, (threads > 0 ? threads : hw) / std::max(1, count));
    auto job = [&](int t) {
        stats[t] = build_linear(model, mode, n[t], emb[t], mer[t], sco[t], &cancel, &merged,
                                scan_threads);
    };
    auto poll = [&]() -> bool {
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
        run_batch(count, threads, job, cancel, poll);
    } catch (const Cancelled&) {
        if (interrupt) throw std::move(*interrupt);
        throw;
    } catch (const NonFinite& e) {
        PyErr_SetString(PyExc_FloatingPointError, e.what());
        throw py::error_already_set();
    }
    if (!progress.is_none()) progress(merged.load());
    for (int t = 0; t < count; ++t) {
        py::tuple item = out[t];
        out[t] = py::make_tuple(item[0], item[1], item[2], stats[t].pairs_scored, stats[t].pairs_rescored);
    }
    return out;
}

}  // namespace

void register_native(py::module_& m) {
    m.def("build_linear_batch", &build_linear_batch, py::arg("leaves"), py::arg("w1"), py::arg("b1"),
          py::arg("w2"), py::arg("b2"), py::arg("pairs"), py::arg("threads") = 0,
          py::arg("progress") = py::none(),
          "Greedy trees of a batch of sequences under the built-in linear merge network.\n"
          "Returns, per sequence, (merges, scores, embeddings, pairs_scored, pairs_rescored).");
}
