"""Command line: ``greedy-rae fit | encode | tree | demo`` (also ``python -m greedy_rae``).

SEQUENCES, everywhere: an ``.npz`` whose arrays are the sequences in the order
they were saved (``np.savez(path, *sequences)``), an ``.npy`` holding one
``(n, dim)`` sequence, or a folder of ``.npy`` files, one sequence each, taken
in name order.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

import numpy as np

from greedy_rae._options import ACTIVATIONS, FEATURES, PAIR_MODES, RECONSTRUCTIONS

SEQUENCES_HELP = (
    "an .npz whose arrays are the sequences in saved order (np.savez(path, *sequences)),"
    " an .npy holding one (n, dim) sequence, or a folder of .npy files (name order);"
    " for a text model (fit --text), a text file, one text a line"
)
FORMATS = ("text", "newick", "bracket", "dot", "json", "linkage")


class UsageError(Exception):
    """Bad input from the command line: one line to stderr, exit status 2."""


def post_example() -> np.ndarray:
    """The original post's leaves: ``ones(10) * i`` for ``i`` in 0..9, twice."""
    one = [np.ones(10, dtype=np.float32) * i for i in range(10)]
    return np.stack(one + one)


def _npz_order(name: str) -> tuple[int, int | str]:
    # np.savez(path, *seqs) names them arr_0, arr_1, ...: numeric order
    m = re.fullmatch(r"arr_(\d+)", name)
    return (0, int(m.group(1))) if m else (1, name)


def load_sequences(path: str) -> list[np.ndarray]:
    """The sequences of a SEQUENCES path (see the module docstring)."""
    if os.path.isdir(path):
        names = sorted(f for f in os.listdir(path) if f.endswith(".npy"))
        if not names:
            raise UsageError(f"folder {path!r} holds no .npy files")
        return [_load_npy(os.path.join(path, f)) for f in names]
    if not os.path.exists(path):
        raise UsageError(f"no such file or folder: {path!r}")
    if path.endswith(".npy"):
        return [_load_npy(path)]
    if path.endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = sorted(z.files, key=_npz_order)
                seqs = [z[k] for k in keys]
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read {path!r} as .npz: {e}") from None
        if not seqs:
            raise UsageError(f"{path!r} holds no arrays")
        return seqs
    raise UsageError(f"{path!r}: expected an .npz, an .npy or a folder of .npy files")


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.asarray(np.load(path, allow_pickle=False))
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {path!r} as .npy: {e}") from None


def _load_model(path: str) -> Any:
    import greedy_rae as gr

    if not os.path.isfile(path):
        raise UsageError(f"no model file at {path!r}")
    try:
        return gr.RAE.load(path)
    except Exception as e:  # a damaged or foreign file: say so in one line
        raise UsageError(f"cannot load the model {path!r}: {type(e).__name__}: {e}") from None


def _text_labels(
    prefixes: list[str | None], path: str | None
) -> tuple[np.ndarray | None, list[str]]:
    """Class ids of the texts' labels (``--labels`` file, else ``__label__`` prefixes;
    -1 unlabelled), and the names in class order (sorted)."""
    names: list[str | None] = list(prefixes)
    if path is not None:
        if not os.path.isfile(path):
            raise UsageError(f"no labels file at {path!r}")
        if path.endswith(".npy"):
            return _load_npy(path), []
        with open(path, encoding="utf-8") as f:
            names = [line.strip() or None for line in f]
        while names and names[-1] is None:
            names.pop()
        if len(names) != len(prefixes):
            raise UsageError(
                f"{path!r} has {len(names)} labels but there are {len(prefixes)} texts"
            )
    known = sorted({n for n in names if n is not None})
    if not known:
        return None, []
    index = {n: k for k, n in enumerate(known)}
    return np.array([-1 if n is None else index[n] for n in names]), known


def cmd_fit(args: argparse.Namespace) -> int:
    import greedy_rae as gr

    gr._import_tensorflow()  # quietly, before Keras
    import keras

    text: dict[str, Any] | None = None
    seqs: list[Any]
    if args.text:
        from greedy_rae.text import Vocabulary, load_word_vectors, read_lines

        seqs, prefixes = read_lines(args.sequences, args.encoding)
        labels, names = _text_labels(prefixes, args.labels)
        if names:
            print("classes: " + ", ".join(f"{k} = {n}" for k, n in enumerate(names)))
        vectors = None
        if args.vectors is not None:
            vectors = load_word_vectors(args.vectors, args.encoding)
        if vectors is not None and args.dim is not None and vectors[1].shape[1] != args.dim:
            raise UsageError(
                f"the vectors in {args.vectors!r} have width {vectors[1].shape[1]},"
                f" not --dim {args.dim}"
            )
        vocab = Vocabulary.from_texts(
            seqs, min_count=args.min_count, max_size=args.vocabulary_size, lower=args.lower
        )
        text = {"vocabulary": vocab, "embeddings": vectors}
        if args.dim is None:
            args.dim = 50 if vectors is None else int(vectors[1].shape[1])
    else:
        seqs = load_sequences(args.sequences)
        labels = None
        if args.labels is not None:
            if not os.path.isfile(args.labels):
                raise UsageError(f"no labels file at {args.labels!r}")
            labels = _load_npy(args.labels)
    classes = args.classes
    if labels is not None and classes is None:
        classes = max(int(np.max(labels)) + 1, 2)
    val: Any = None
    if args.validation is not None:
        val = (
            read_lines(args.validation, args.encoding)[0]
            if text
            else load_sequences(args.validation)
        )
    if not args.output.endswith((".keras", ".h5")):
        raise UsageError(f"-o must end in .keras or .h5, got {args.output!r}")
    dim = args.dim
    if dim is None:
        first = np.asarray(seqs[0])
        if first.ndim != 2:
            raise UsageError(f"sequence 0 must be a 2-D (n, dim) array, got shape {first.shape}")
        dim = int(first.shape[1])
    keras.utils.set_random_seed(args.seed)
    rae = gr.RAE(
        dim,
        pairs=args.pairs,
        activation=args.activation,
        normalize=args.normalize,
        decoder_activation=args.decoder_activation,
        reconstruction=args.reconstruction,
        classes=classes,
        alpha=args.alpha,
        optimizer=keras.optimizers.Adam(args.learning_rate),
        **(text or {}),
    )
    rae.fit(
        seqs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=1 if sys.stdout.isatty() else 2,  # a bar on a terminal, a line an epoch in a log
        labels=labels,
        seed=args.seed,
        validation_data=val,
        checkpoint_dir=args.checkpoint_dir,
    )
    rae.save(args.output)
    print(f"saved {rae!r} to {args.output}")
    return 0


def _inputs_of(rae: Any, path: str, encoding: str) -> list[Any]:
    """SEQUENCES, or a text file (one text a line) for a text model."""
    if rae.vocabulary is None:
        return load_sequences(path)
    from greedy_rae.text import read_lines

    return read_lines(path, encoding)[0]


def cmd_encode(args: argparse.Namespace) -> int:
    rae = _load_model(args.model)
    seqs = _inputs_of(rae, args.sequences, args.encoding)
    if not args.output.endswith(".npy"):
        raise UsageError(f"-o must end in .npy, got {args.output!r}")
    features = rae.encode(seqs, features=args.features, progress=sys.stdout.isatty())
    np.save(args.output, features)
    print(f"wrote {features.shape[0]} x {features.shape[1]} features to {args.output}")
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    rae = _load_model(args.model)
    seqs = _inputs_of(rae, args.sequences, args.encoding)
    if not -len(seqs) <= args.index < len(seqs):
        raise UsageError(f"--index {args.index} is out of range: there are {len(seqs)} sequences")
    # the bar goes to stdout with the tree: only on a terminal, never into a pipe
    tree = rae.trees([seqs[args.index]], progress=sys.stdout.isatty())[0]
    names = None
    if args.labels is not None:
        if not os.path.isfile(args.labels):
            raise UsageError(f"no labels file at {args.labels!r}")
        with open(args.labels, encoding="utf-8") as f:
            names = [line.rstrip("\n") for line in f if line.strip()]
    if args.format == "text":
        out = str(tree)
    elif args.format == "newick":
        out = tree.to_newick(names)
    elif args.format == "bracket":
        out = tree.to_bracket(names)
    elif args.format == "dot":
        out = tree.to_dot(names)
    elif args.format == "json":
        out = json.dumps(tree.to_dict())
    else:
        out = "\n".join(" ".join(f"{v:.17g}" for v in row) for row in tree.to_linkage())
    print(out)
    return 0


def demo(steps: int, pairs: str, seed: int) -> int:
    import greedy_rae as gr

    gr._import_tensorflow()  # quietly, before Keras
    import keras

    keras.utils.set_random_seed(seed)
    leaves = post_example()
    rae = gr.RAE(leaves.shape[1], pairs=pairs)
    print(
        f"Training on the post's example: {len(leaves)} leaves of width {leaves.shape[1]},"
        f" pairs={pairs!r}, {steps} Adam steps"
    )
    for step in range(steps):
        loss = rae.fit([leaves], epochs=1, batch_size=1, verbose=0)["loss"][0]
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step + 1:4d}  root score {loss:.4f}")
    tree = rae.trees([leaves])[0]
    print(f"\nFinal tree (root score {tree.score:.4f}):")
    print(tree)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.steps < 1:
        raise UsageError("--steps must be at least 1")
    return demo(args.steps, args.pairs, args.seed)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="greedy-rae",
        description="Greedy recursive autoencoders: merge trees and root embeddings of"
        " sequences of vectors.",
        epilog=f"SEQUENCES: {SEQUENCES_HELP}.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser(
        "fit",
        help="train an RAE on sequences and save it",
        description="Train an RAE on SEQUENCES and save it to MODEL (.keras or .h5);"
        " prints the loss per epoch.",
        epilog=f"SEQUENCES: {SEQUENCES_HELP}.",
    )
    f.add_argument("sequences", metavar="SEQUENCES")
    f.add_argument("-o", "--output", required=True, metavar="MODEL", help=".keras or .h5")
    f.add_argument("--dim", type=_positive, help="leaf width (default: the data's)")
    f.add_argument("--pairs", choices=PAIR_MODES, default="all")
    f.add_argument("--epochs", type=_positive, default=10)
    f.add_argument("--batch-size", type=_positive, default=32)
    f.add_argument("--learning-rate", type=float, default=0.001, help="Adam's (default 0.001)")
    f.add_argument("--activation", choices=ACTIVATIONS, default="linear")
    f.add_argument("--decoder-activation", choices=ACTIVATIONS, default="linear")
    f.add_argument("--normalize", action="store_true", help="unit-length parents")
    f.add_argument("--reconstruction", choices=RECONSTRUCTIONS, default="plain")
    f.add_argument(
        "--labels",
        metavar="LABELS",
        help="one int per sequence in an .npy, -1 unlabelled (label head); with --text also"
        " a text file of names, one a line",
    )
    f.add_argument("--classes", type=_positive, help="label head size (default: from --labels)")
    f.add_argument("--alpha", type=float, default=0.2, help="weight of the reconstruction")
    f.add_argument("--seed", type=int, default=0, help="initial weights and shuffling")
    f.add_argument("--checkpoint-dir", metavar="DIR", help="save every epoch; rerun to resume")
    f.add_argument("--validation", metavar="SEQUENCES", help="sequences for val_loss")
    f.add_argument(
        "--text",
        action="store_true",
        help="SEQUENCES is a text file, one text a line (whitespace tokens), optionally"
        " with a fastText-style __label__X prefix; trains a word table too",
    )
    f.add_argument("--min-count", type=_positive, default=1, help="text: rarer words are <unk>")
    f.add_argument("--vocabulary-size", type=_positive, help="text: keep the most frequent")
    f.add_argument("--lower", action="store_true", help="text: lower-case the words")
    f.add_argument("--vectors", metavar="PATH", help="text: word2vec vectors to start from")
    f.add_argument("--encoding", default="utf-8", help="text: the files' encoding (utf-8)")
    f.set_defaults(run=cmd_fit)

    e = sub.add_parser(
        "encode",
        help="features of sequences under a saved model",
        description="Write the features of SEQUENCES under MODEL to an .npy file.",
        epilog=f"SEQUENCES: {SEQUENCES_HELP}.",
    )
    e.add_argument("model", metavar="MODEL")
    e.add_argument("sequences", metavar="SEQUENCES")
    e.add_argument("-o", "--output", required=True, metavar="ROOTS.npy")
    e.add_argument("--features", choices=FEATURES, default="root")
    e.add_argument("--encoding", default="utf-8", help="a text model's file encoding (utf-8)")
    e.set_defaults(run=cmd_encode)

    t = sub.add_parser(
        "tree",
        help="print one sequence's tree",
        description="Print the tree of one sequence of SEQUENCES under MODEL.",
        epilog=f"SEQUENCES: {SEQUENCES_HELP}.",
    )
    t.add_argument("model", metavar="MODEL")
    t.add_argument("sequences", metavar="SEQUENCES")
    t.add_argument("--index", type=int, default=0, help="which sequence (default 0)")
    t.add_argument("--format", choices=FORMATS, default="text")
    t.add_argument("--labels", metavar="NAMES.txt", help="leaf names, one a line")
    t.add_argument("--encoding", default="utf-8", help="a text model's file encoding (utf-8)")
    t.set_defaults(run=cmd_tree)

    d = sub.add_parser("demo", help="train on the original post's example and print the tree")
    d.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    d.add_argument("--pairs", choices=PAIR_MODES, default="all")
    d.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    d.set_defaults(run=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as e:
        print(f"greedy-rae {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, MemoryError, FloatingPointError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"greedy-rae {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"greedy-rae {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
