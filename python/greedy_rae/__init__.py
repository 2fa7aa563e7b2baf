"""greedy_rae: greedy recursive autoencoders on a C++ core.

>>> import greedy_rae as gr
>>> net = gr.merge_network(10)
>>> tree = gr.greedy_tree(leaves, net)          # doctest: +SKIP
>>> rae = gr.RAE(10); rae.fit(sequences)        # doctest: +SKIP
"""

from greedy_rae.network import merge_network
from greedy_rae.builder import greedy_tree
from greedy_rae.tree import Tree
from greedy_rae.training import RAE

__all__ = ["RAE", "Tree", "greedy_tree", "merge_network"]
__version__ = "0.1.0"
