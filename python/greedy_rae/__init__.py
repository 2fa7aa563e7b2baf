"""greedy_rae: greedy recursive autoencoders on a C++ core.

>>> import greedy_rae as gr
>>> net = gr.merge_network(10)
>>> tree = gr.greedy_tree(leaves, net)          # doctest: +SKIP
>>> rae = gr.RAE(10); rae.fit(sequences)        # doctest: +SKIP
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing on CPU machines) is noise
# here; a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from greedy_rae.builder import greedy_tree  # noqa: E402
from greedy_rae.network import merge_network  # noqa: E402
from greedy_rae.training import RAE  # noqa: E402
from greedy_rae.tree import Tree  # noqa: E402

__all__ = ["RAE", "Tree", "greedy_tree", "merge_network"]
__version__ = "0.1.0"
