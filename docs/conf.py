"""Sphinx configuration: the user guide (Markdown), the API reference from the
numpy-style docstrings, the command line from its parser, and a gallery of
examples that runs at build time. Build: ``python -m sphinx -W -b html docs docs/_build/html``."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

from greedy_rae import __version__, _options  # noqa: E402
from greedy_rae._quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # the examples import it; its start-up notes are not the build's

project = "greedy-rae"
author = "greedy-rae developers"
copyright = "2026, greedy-rae developers"
release = version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/README.txt", "**.ipynb_checkpoints"]
myst_heading_anchors = 3

templates_path = ["_templates"]
autosummary_generate = True  # a page for each public name, under api/generated/
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings' Parameters sections say the types
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False


sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "within_subsection_order": "FileNameSortKey",
}

html_theme = "pydata_sphinx_theme"
html_title = f"greedy-rae {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []

# the defaults table is printed from the code that holds it, so the page cannot drift
_here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_here, "guide", "_defaults_table.md"), "w", encoding="utf-8") as f:
    f.write(_options.defaults_table())

sys.path.insert(0, _here)


def _skip_routing(app: object, what: str, name: str, obj: object, skip: bool, options: object):  # type: ignore[no-untyped-def]
    """scikit-learn's generated ``set_*_request`` methods (metadata routing) are
    documented by scikit-learn, not here."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("autodoc-skip-member", _skip_routing)
