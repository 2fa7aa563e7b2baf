"""greedy_rae: greedy recursive autoencoders on a C++ core.

>>> import greedy_rae as gr
>>> net = gr.merge_network(10)
>>> tree = gr.greedy_tree(leaves, net)          # doctest: +SKIP
>>> rae = gr.RAE(10); rae.fit(sequences)        # doctest: +SKIP

TensorFlow is imported on first use of a name that needs it, so that the
command line's ``--help`` and argument errors answer at once.
"""

from __future__ import annotations

import os
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greedy_rae.build import greedy_tree
    from greedy_rae.network import merge_network
    from greedy_rae.rae import RAE
    from greedy_rae.text import Vocabulary, cooccurrence_vectors, load_word_vectors
    from greedy_rae.tree import Tree

__all__ = [
    "RAE",
    "Tree",
    "Vocabulary",
    "cooccurrence_vectors",
    "greedy_tree",
    "load_word_vectors",
    "merge_network",
]
_WHERE = {
    "RAE": "greedy_rae.rae",
    "Tree": "greedy_rae.tree",
    "greedy_tree": "greedy_rae.build",
    "merge_network": "greedy_rae.network",
    "Vocabulary": "greedy_rae.text",  # text.py needs no TensorFlow
    "load_word_vectors": "greedy_rae.text",
    "cooccurrence_vectors": "greedy_rae.text",
}

try:
    __version__ = version("greedy-rae")  # pyproject.toml is the one source
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "unknown"


def _import_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter (CUDA probing on CPU machines, oneDNN)
    # is written before any log level applies: the import is made quietly
    # unless the user asked for every message (TF_CPP_MIN_LOG_LEVEL=0)
    if os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2") != "0":
        from greedy_rae._quiet import import_tensorflow_quietly

        import_tensorflow_quietly()


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        if _WHERE[name] != "greedy_rae.text":
            _import_tensorflow()
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'greedy_rae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
