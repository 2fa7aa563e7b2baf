"""greedy_rae: greedy recursive autoencoders on a C++ core.

>>> import greedy_rae as gr
>>> net = gr.merge_network(10)
>>> tree = gr.greedy_tree(leaves, net)          # doctest: +SKIP
>>> rae = gr.RAE(10); rae.fit(sequences)        # doctest: +SKIP
"""

import os
from importlib.metadata import PackageNotFoundError, version

# TensorFlow's C++ start-up chatter (CUDA probing on CPU machines) is noise
# here; a user's own setting wins.
if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    from greedy_rae._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()

from greedy_rae.builder import greedy_tree  # noqa: E402
from greedy_rae.network import merge_network  # noqa: E402
from greedy_rae.training import RAE  # noqa: E402
from greedy_rae.tree import Tree  # noqa: E402

__all__ = ["RAE", "Tree", "greedy_tree", "merge_network"]
try:
    __version__ = version("greedy-rae")  # pyproject.toml is the one source
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "unknown"
