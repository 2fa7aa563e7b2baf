// The replay plan as a dict of numpy arrays, keyed by the names of the
// fields of greedy_rae::ReplayPlan and of the Python Plan (build/plan.py).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <utility>
#include <vector>

#include "greedy_rae/plan.hpp"

// A vector handed to numpy without a copy: the array owns it. The vector is
// held by a unique_ptr until the capsule has taken it, so nothing leaks if
// making the capsule throws.
template <typename T>
pybind11::array_t<T> to_array(std::vector<T>&& v, std::vector<pybind11::ssize_t> shape) {
    auto owned = std::make_unique<std::vector<T>>(std::move(v));
    T* data = owned->data();
    pybind11::capsule owner(owned.get(), [](void* p) { delete static_cast<std::vector<T>*>(p); });
    owned.release();  // the capsule owns it now
    return pybind11::array_t<T>(shape, data, owner);
}

template <typename T>
pybind11::array_t<T> to_array(std::vector<T>&& v) {
    const auto n = static_cast<pybind11::ssize_t>(v.size());
    return to_array(std::move(v), {n});
}

// Every field of the Python Plan, by name (source stays in the core); the
// plan's buffers move into the arrays.
inline pybind11::dict plan_dict(greedy_rae::ReplayPlan&& plan) {
    namespace py = pybind11;
    const py::ssize_t d = static_cast<py::ssize_t>(plan.dim);
    const py::ssize_t rows = d > 0 ? static_cast<py::ssize_t>(plan.nodes.size()) / d : 0;
    py::dict out;
    out["nodes"] = to_array(std::move(plan.nodes), {rows, d});
    out["left"] = to_array(std::move(plan.left));
    out["right"] = to_array(std::move(plan.right));
    out["sizes"] = to_array(std::move(plan.sizes));
    out["left_share"] = to_array(std::move(plan.left_share));
    out["row_tree"] = to_array(std::move(plan.row_tree));
    out["parent"] = to_array(std::move(plan.parent));
    out["leaf_parent"] = to_array(std::move(plan.leaf_parent));
    return out;
}
