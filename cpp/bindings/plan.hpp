// The replay plan as the numpy arrays of the Python Plan.
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

// (left, right, sizes, left_share, row_tree, parent), as the Plan's fields
inline pybind11::tuple plan_arrays(const greedy_rae::ReplayPlan& plan) {
    return pybind11::make_tuple(to_array(plan.left), to_array(plan.right), to_array(plan.sizes),
                                to_array(plan.left_share), to_array(plan.row_tree),
                                to_array(plan.parent));
}
