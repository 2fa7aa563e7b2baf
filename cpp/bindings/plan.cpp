#include "plan.hpp"

#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

using Ids = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

py::tuple replay_plan(const std::vector<Ids>& merges, bool weighted) {
    std::vector<std::int64_t> lengths(merges.size());
    std::vector<const std::int64_t*> lists(merges.size());
    for (std::size_t t = 0; t < merges.size(); ++t) {
        const Ids& m = merges[t];
        if (m.ndim() != 2 || m.shape(1) != 2) {
            throw std::invalid_argument("tree " + std::to_string(t) +
                                        ": merges must be an (n - 1, 2) array");
        }
        lengths[t] = m.shape(0) + 1;
        lists[t] = m.data();
    }
    const greedy_rae::ReplayPlan plan = greedy_rae::replay_plan(lengths, lists, weighted);
    py::tuple arrays = plan_arrays(plan);
    return py::make_tuple(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5],
                          to_array(plan.source));
}

}  // namespace

void register_plan(py::module_& m) {
    m.def("replay_plan", &replay_plan, py::arg("merges"), py::arg("weighted"),
          "The replay plan of a batch of trees, each given by its (n - 1, 2) merges.\n"
          "Returns (left, right, sizes, left_share, row_tree, parent) as in\n"
          "greedy_rae.replay.Plan, then source: each merge's index in creation order.");
}
