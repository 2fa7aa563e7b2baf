"""The device a benchmark ran on, printed at its top."""

from __future__ import annotations

import os
import platform


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    """One line: the CPU, and the GPUs TensorFlow sees (where its ops run)."""
    import tensorflow as tf

    cpu = f"{_cpu_name()}, {os.cpu_count()} logical cores"
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"device: CPU ({cpu}); no GPU visible to TensorFlow"
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return f"device: GPU {', '.join(names)} (TensorFlow's ops); CPU {cpu} (tree building)"


def print_device() -> None:
    print(describe(), flush=True)
