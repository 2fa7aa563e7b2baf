"""Every Python block of the README and of the user guide runs alone, as printed,
and the docstrings' examples run as doctests."""

import doctest
import importlib
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", "docs/getting_started.md"] + sorted(
    os.path.join("docs", "guide", name)
    for name in os.listdir(os.path.join(ROOT, "docs", "guide"))
    if name.endswith(".md") and not name.startswith("_")
)
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def blocks():
    for page in PAGES:
        with open(os.path.join(ROOT, page), encoding="utf-8") as f:
            text = f.read()
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 2
            yield pytest.param(match.group(1), id=f"{page}:{line}")


def test_the_pages_have_python_blocks():
    assert len(list(blocks())) >= 15


@pytest.mark.slow
@pytest.mark.parametrize("code", blocks())
def test_block_runs_alone_as_printed(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files a block writes land here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # a namespace of its own: a name the block does not make or import is a NameError
    exec(compile(code, "<block>", "exec"), {"__name__": "__main__"})


MODULES = [
    "greedy_rae",
    "greedy_rae.rae",
    "greedy_rae.sktime",
    "greedy_rae.aeon",
    "greedy_rae.tree",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0
