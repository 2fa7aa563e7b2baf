#include "greedy_rae/forest.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mode.hpp"
#include "plan.hpp"

namespace py = pybind11;
using greedy_rae::Forest;

void register_forest(py::module_& m) {
    py::class_<Forest>(m, "Forest")
        .def(py::init([](const std::vector<int>& lengths, const std::string& pairs) {
                 return std::make_unique<Forest>(lengths, parse_pair_mode(pairs));
             }),
             py::arg("lengths"), py::arg("pairs"))
        .def_property_readonly("trees", &Forest::trees)
        .def_property_readonly("done", &Forest::done)
        .def_property_readonly("total_nodes", &Forest::total_nodes)
        .def("offset", &Forest::offset, py::arg("tree"))
        .def("pending",
             [](const Forest& f) {
                 std::vector<std::int64_t> left, right;
                 f.pending(left, right);
                 return py::make_tuple(to_array(std::move(left)), to_array(std::move(right)));
             })
        .def(
            "submit",
            [](Forest& f,
               const py::array_t<float, py::array::c_style | py::array::forcecast>& errors) {
                f.submit(errors.data(), errors.size());
            },
            py::arg("errors"))
        .def("step",
             [](Forest& f) {
                 std::vector<std::int64_t> left, right, node;
                 f.step(left, right, node);
                 return py::make_tuple(to_array(std::move(left)), to_array(std::move(right)),
                                       to_array(std::move(node)));
             })
        .def(
            "merges",
            [](const Forest& f, int t) {
                const auto& v = f.merges(t);
                return py::array_t<std::int64_t>(
                    {static_cast<py::ssize_t>(v.size() / 2), py::ssize_t{2}}, v.data());
            },
            py::arg("tree"))
        .def(
            "scores",
            [](const Forest& f, int t) {
                const auto& v = f.scores(t);
                return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
            },
            py::arg("tree"))
        .def("pairs_scored", &Forest::pairs_scored, py::arg("tree"));
}
