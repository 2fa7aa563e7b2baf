#include "plan.hpp"

#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

using Ids = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::dict replay_plan(const std::vector<Ids>& merges, const std::vector<Floats>& embeddings,
                     bool weighted) {
    if (embeddings.size() != merges.size()) {
        throw std::invalid_argument("give one embeddings array per merges array");
    }
    std::vector<std::int64_t> lengths(merges.size());
    std::vector<const std::int64_t*> lists(merges.size());
    std::vector<const float*> nodes(merges.size());
    const std::int64_t dim = embeddings.empty() ? 0 : embeddings[0].shape(1);
    for (std::size_t t = 0; t < merges.size(); ++t) {
        const Ids& m = merges[t];
        const Floats& e = embeddings[t];
        if (m.ndim() != 2 || m.shape(1) != 2) {
            throw std::invalid_argument("tree " + std::to_string(t) +
                                        ": merges must be an (n - 1, 2) array");
        }
        if (e.ndim() != 2 || e.shape(0) != 2 * m.shape(0) + 1 || e.shape(1) != dim) {
            throw std::invalid_argument("tree " + std::to_string(t) +
                                        ": embeddings must be a (2 n - 1, dim) array");
        }
        lengths[t] = m.shape(0) + 1;
        lists[t] = m.data();
        nodes[t] = e.data();
    }
    greedy_rae::ReplayPlan plan = greedy_rae::replay_plan(lengths, lists, weighted);
    greedy_rae::fill_nodes(plan, lengths, nodes, dim);
    return plan_dict(std::move(plan));
}

}  // namespace

void register_plan(py::module_& m) {
    m.def("replay_plan", &replay_plan, py::arg("merges"), py::arg("embeddings"),
          py::arg("weighted"),
          "The replay plan of a batch of trees, each given by its (n - 1, 2) merges and its\n"
          "(2n - 1, dim) embeddings: a dict of the fields of greedy_rae.build.plan.Plan.");
}
