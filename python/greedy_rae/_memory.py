"""What a build needs in memory, checked before anything is allocated."""

from __future__ import annotations

import os
from collections.abc import Sequence

from greedy_rae import _core

# Bytes of the TF scorer's Python memo per pair it scores (a dict entry of a
# content-class key and a float32), on the high side
_MEMO_PAIR = 160
# Candidates scored per TF call; bounds the memory of the first step of long
# all-pairs builds (the TF scorer's chunk).
CHUNK = 1 << 16


def available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 1 << 62


def estimate_memory(lengths: Sequence[int], dim: int, kind: str, pairs: str) -> int:
    """Bytes a build needs beyond its inputs (an estimate, on the high side).

    ``kind``: what fills the core's tables (see ``_options.BUILD_KINDS``): the
    native network kinds ``"linear"`` and ``"nonlinear"``, or ``"cache"`` for
    the TF scorer. The core reports what each of its builds allocates; the TF
    scorer adds its node table, its memo of pair errors and one scoring
    call's tensors.
    """
    total = 0
    for n in lengths:
        total += _core.build_bytes(n, dim, pairs, kind)
        if kind == "cache":
            scored = (n - 1) ** 2 if pairs == "all" else 3 * n
            total += (2 * n - 1) * dim * 4 + n * 64 + scored * _MEMO_PAIR
    if kind == "cache":
        total += min(max(lengths) ** 2, CHUNK) * dim * 4 * 8  # one scoring call's tensors
    return total


def check_memory(lengths: Sequence[int], dim: int, kind: str, pairs: str) -> None:
    """MemoryError, before anything is allocated, when a build would not fit."""
    need = estimate_memory(lengths, dim, kind, pairs)
    have = available_memory()
    if need > have:
        gib = 1 << 30
        hint = (
            " The TF scorer keeps an n x n score cache in all-pairs mode; the native engine"
            " (networks of merge_network's structure) needs O(n * dim)."
            if kind == "cache" and pairs == "all"
            else ""
        )
        raise MemoryError(
            f"building trees for sequences of up to {max(lengths)} leaves needs about"
            f" {need / gib:.1f} GiB but only {have / gib:.1f} GiB is available.{hint}"
        )
