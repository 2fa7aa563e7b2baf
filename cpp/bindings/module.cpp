// The extension module only wires the register_* functions together.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_forest(py::module_& m);
void register_native(py::module_& m);
void register_levels(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "C++ core of greedy_rae: greedy merge loop, pair caches, native scorer.";
    register_forest(m);
    register_native(m);
    register_levels(m);
}
