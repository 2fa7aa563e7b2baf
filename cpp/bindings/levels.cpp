#include "greedy_rae/levels.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>

namespace py = pybind11;

namespace {

using Ids = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

py::array_t<std::int32_t> merge_levels(const Ids& left, const Ids& right, const Ids& node,
                                       std::int64_t total_nodes) {
    const std::int64_t m = left.size();
    if (right.size() != m || node.size() != m) {
        throw std::invalid_argument("left, right and node must have the same length");
    }
    py::array_t<std::int32_t> level(m);
    greedy_rae::merge_levels(left.data(), right.data(), node.data(), m, total_nodes,
                             level.mutable_data());
    return level;
}

}  // namespace

void register_levels(py::module_& m) {
    m.def("merge_levels", &merge_levels, py::arg("left"), py::arg("right"), py::arg("node"),
          py::arg("total_nodes"),
          "Depth level of each merge (leaves are level 0), merges in creation order.");
}
