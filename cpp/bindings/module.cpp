// The extension module only wires the register_* functions together and maps
// the core's exceptions to Python's.
#include <pybind11/pybind11.h>

#include "greedy_rae/errors.hpp"

namespace py = pybind11;

void register_forest(py::module_& m);
void register_native(py::module_& m);
void register_plan(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "C++ core of greedy_rae: greedy merge engines, pair caches, native scorers.";
    m.attr("__version__") = GREEDY_RAE_VERSION;
    // a diverged network: no greedy choice is meaningful
    py::register_exception<greedy_rae::NonFinite>(m, "NonFiniteError", PyExc_FloatingPointError);
    register_forest(m);
    register_native(m);
    register_plan(m);
}
