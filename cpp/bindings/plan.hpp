// The replay plan as a dict of numpy arrays, keyed by the names of the
// fields of greedy_rae::ReplayPlan and of the Python Plan (build/plan.py).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <vector>

#include "greedy_rae/plan.hpp"

template <typename T>
pybind11::array_t<T> to_array(const std::vector<T>& v) {
    pybind11::array_t<T> a(static_cast<pybind11::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), a.mutable_data());
    return a;
}

// Every field of the Python Plan, by name (source stays in the core).
inline pybind11::dict plan_dict(const greedy_rae::ReplayPlan& plan) {
    namespace py = pybind11;
    const py::ssize_t d = static_cast<py::ssize_t>(plan.dim);
    py::array_t<float> table({d > 0 ? static_cast<py::ssize_t>(plan.table.size()) / d : 0, d});
    std::copy(plan.table.begin(), plan.table.end(), table.mutable_data());
    py::dict out;
    out["table"] = table;
    out["left"] = to_array(plan.left);
    out["right"] = to_array(plan.right);
    out["sizes"] = to_array(plan.sizes);
    out["left_share"] = to_array(plan.left_share);
    out["row_tree"] = to_array(plan.row_tree);
    out["parent"] = to_array(plan.parent);
    return out;
}
