import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def random_network():
    """A merge network with random weights and biases, from the reference's builder."""
    import keras
    from seed_reference import merge_encoder

    def make(dim, seed):
        keras.utils.set_random_seed(seed)
        m = merge_encoder(dim)
        rng = np.random.default_rng(seed)
        m.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in m.get_weights()])
        return m

    return make
