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

from greedy_rae import _files, _options
from greedy_rae._options import (
    ACTIVATIONS,
    FEATURES,
    HEAD_LOSSES,
    OPTIMIZERS,
    PAIR_MODES,
    RECONSTRUCTIONS,
)
from greedy_rae.text import TOKENIZERS

SEQUENCES_HELP = (
    "an .npz whose arrays are the sequences, in the order np.savez saved them,"
    " an .npy holding one (n, dim) sequence, or a folder of .npy files (name order);"
    " for a text model (fit --text), a text file, one text a line"
)
FORMATS = ("text", "newick", "bracket", "dot", "json", "linkage")


class UsageError(Exception):
    """Bad input from the command line: one line to stderr, exit status 2."""


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default; an option whose default is None
    says in its own help what it falls back to."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


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
    raise UsageError(
        f"{path!r}: expected an .npz, an .npy or a folder of .npy files"
        + (" (a text file goes with a text model: fit --text)" if _is_text_name(path) else "")
    )


def _is_text_name(path: str) -> bool:
    return not path.endswith((".npz", ".npy")) and not os.path.isdir(path)


def _check_exists(path: str, what: str) -> None:
    """A missing input file, said before TensorFlow is imported."""
    if not os.path.exists(path):
        raise UsageError(f"no {what} at {path!r}")


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.asarray(np.load(path, allow_pickle=False))
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {path!r} as .npy: {e}") from None


def _load_model(path: str) -> Any:
    import greedy_rae as gr

    try:
        return gr.RAE.load(path)
    except Exception as e:  # a damaged or foreign file: say so in one line
        raise UsageError(f"cannot load the model {path!r}: {type(e).__name__}: {e}") from None


def _label_names(path: str, count: int, option: str) -> list[str | None]:
    """The names in a text file of labels, one a line (an empty line: none)."""
    with open(path, encoding="utf-8") as f:
        names: list[str | None] = [line.strip() or None for line in f]
    while names and names[-1] is None:
        names.pop()
    if len(names) != count:
        raise UsageError(f"{option} {path!r} has {len(names)} labels but there are {count} texts")
    return names


def _codes(names: list[str | None], classes: list[str], option: str) -> np.ndarray:
    """Class ids of label names (-1 for none); a name outside ``classes`` is an error."""
    index = {n: k for k, n in enumerate(classes)}
    unknown = sorted({n for n in names if n is not None and n not in index})
    if unknown:
        raise UsageError(
            f"{option}: label {unknown[0]!r} is not a class of the training data ({classes})"
        )
    return np.array([-1 if n is None else index[n] for n in names], dtype=np.int64)


def _vector_labels(path: str, count: int, option: str) -> np.ndarray:
    """One int label per sequence from an ``.npy`` (-1: unlabelled)."""
    if not path.endswith(".npy"):
        raise UsageError(
            f"{option} {path!r}: sequences take an .npy of int labels, one a sequence"
            " (-1: unlabelled); label names in a text file, one a line, go with --text"
        )
    labels = _load_npy(path)
    if labels.ndim != 1 or len(labels) != count:
        raise UsageError(
            f"{option} {path!r} holds shape {labels.shape}; expected one label for each of"
            f" the {count} sequences"
        )
    return labels


class _Data:
    """What ``fit`` reads from files, before TensorFlow is imported."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.labels: np.ndarray | None = None
        self.validation: Any = None
        self.class_names: list[str] = []
        self.vectors: Any = None
        if args.text:
            self._read_texts(args)
        else:
            self.sequences: list[Any] = load_sequences(args.sequences)
            if args.labels is not None:
                _check_exists(args.labels, "labels file")
                self.labels = _vector_labels(args.labels, len(self.sequences), "--labels")
            if args.validation_data is not None:
                _check_exists(args.validation_data, "validation file or folder")
                val = load_sequences(args.validation_data)
                self.validation = val
                if args.validation_labels is not None:
                    _check_exists(args.validation_labels, "labels file")
                    self.validation = (
                        val,
                        _vector_labels(args.validation_labels, len(val), "--validation-labels"),
                    )
        if args.validation_labels is not None and args.validation_data is None:
            raise UsageError("--validation-labels needs --validation-data")
        if self.labels is not None and args.validation_data is not None:
            if not isinstance(self.validation, tuple):
                raise UsageError(
                    "the training sequences are labelled, so validation takes their objective:"
                    " give the validation data's labels ("
                    + ("__label__ prefixes" if args.text else "--validation-labels")
                    + ")"
                )

    def _read_texts(self, args: argparse.Namespace) -> None:
        from greedy_rae.text import load_word_vectors, read_lines

        _check_exists(args.sequences, "text file")
        self.sequences, prefixes = read_lines(args.sequences, args.encoding)
        names = prefixes
        if args.labels is not None:
            _check_exists(args.labels, "labels file")
            if args.labels.endswith(".npy"):
                self.labels = _vector_labels(args.labels, len(self.sequences), "--labels")
            else:
                names = _label_names(args.labels, len(self.sequences), "--labels")
        if self.labels is None:
            self.class_names = sorted({n for n in names if n is not None})
            if self.class_names:
                self.labels = _codes(names, self.class_names, "--labels")
        if args.validation_data is not None:
            _check_exists(args.validation_data, "validation text file")
            texts, val_names = read_lines(args.validation_data, args.encoding)
            if args.validation_labels is not None:
                _check_exists(args.validation_labels, "labels file")
                val_names = _label_names(args.validation_labels, len(texts), "--validation-labels")
            if self.labels is not None and any(n is not None for n in val_names):
                if not self.class_names:
                    raise UsageError(
                        "--validation-data: with --labels from an .npy, give the validation"
                        " labels in one too (--validation-labels)"
                    )
                self.validation = (texts, _codes(val_names, self.class_names, "validation"))
            else:
                self.validation = texts
        if args.embeddings is not None:
            _check_exists(args.embeddings, "word vectors file")
            self.vectors = load_word_vectors(args.embeddings, args.encoding)
            width = int(self.vectors[1].shape[1])
            if args.dim is not None and width != args.dim:
                raise UsageError(
                    f"the vectors in {args.embeddings!r} have width {width}, not --dim {args.dim}"
                )


def cmd_fit(args: argparse.Namespace) -> int:
    # every file is checked and read before TensorFlow is imported (seconds)
    # and before training (minutes): the output's folder first
    _files.check_output(args.output, "-o", (".keras", ".h5"))
    if args.optimizer == "lbfgs" and args.learning_rate is not None:
        raise UsageError("--learning-rate is Adam's: full-batch L-BFGS chooses its steps")
    if args.optimizer == "lbfgs" and args.checkpoint_dir is not None:
        raise UsageError(
            "--checkpoint-dir does not apply to --optimizer lbfgs: its curvature pairs are not"
            " saved, so a resumed search would not repeat an uninterrupted one"
        )
    if args.checkpoint_dir is not None:
        _files.check_folder(args.checkpoint_dir, "--checkpoint-dir")
    if args.text and args.cooccurrence:
        if args.embeddings is not None:
            raise UsageError("give --embeddings or --cooccurrence, not both: each starts the table")
        try:
            import scipy  # noqa: F401  # cooccurrence_vectors' SVD
        except ImportError:
            raise UsageError("--cooccurrence needs scipy: pip install scipy") from None
    if not args.text:
        _check_exists(args.sequences, "file or folder")
    data = _Data(args)
    if data.class_names:
        print("classes: " + ", ".join(f"{k} = {n}" for k, n in enumerate(data.class_names)))
    dim = args.dim
    if dim is None and args.text:
        dim = 50 if data.vectors is None else int(data.vectors[1].shape[1])
    if dim is None:
        first = np.asarray(data.sequences[0])
        if first.ndim != 2:
            raise UsageError(f"sequence 0 must be a 2-D (n, dim) array, got shape {first.shape}")
        dim = int(first.shape[1])

    import greedy_rae as gr

    gr._import_tensorflow()  # quietly, before Keras
    import keras

    m = _options.MODEL
    text: dict[str, Any] = {}
    if args.text:
        from greedy_rae.text import Vocabulary

        vocab = Vocabulary.from_texts(
            data.sequences,
            min_count=args.min_count,
            max_size=args.max_size,
            lower=args.lower,
            tokenizer=args.tokenizer,
        )
        embeddings: Any = data.vectors
        if args.cooccurrence:  # the training texts' own word vectors
            from greedy_rae.text import cooccurrence_vectors

            embeddings = cooccurrence_vectors(data.sequences, vocab, dim, seed=args.seed)
        text = {"vocabulary": vocab, "embeddings": embeddings}
    classes = args.classes
    if data.labels is not None and classes is None:
        classes = max(int(np.max(data.labels)) + 1, 2)
    keras.utils.set_random_seed(args.seed)
    rate = m.learning_rate if args.learning_rate is None else args.learning_rate
    optimizer = "lbfgs" if args.optimizer == "lbfgs" else keras.optimizers.Adam(rate)
    rae = gr.RAE(
        dim,
        pairs=args.pairs,
        activation=args.activation,
        normalize=args.normalize,
        decoder_activation=args.decoder_activation,
        normalize_reconstruction=args.normalize_reconstruction,
        reconstruction=args.reconstruction,
        classes=classes,
        alpha=args.alpha,
        head_loss=args.head_loss,
        inner_weight=args.inner_weight,
        optimizer=optimizer,
        **text,
    )
    rae.fit(
        data.sequences,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=1 if sys.stdout.isatty() else 2,  # a bar on a terminal, a line an epoch in a log
        labels=data.labels,
        seed=args.seed,
        validation_data=data.validation,
        checkpoint_dir=args.checkpoint_dir,
    )
    rae.save(args.output)
    print(f"saved {rae!r} to {args.output}")
    return 0


def _inputs_of(rae: Any, path: str, encoding: str) -> list[Any]:
    """SEQUENCES, or a text file (one text a line) for a text model."""
    if rae.vocabulary is None:
        return load_sequences(path)
    if not _is_text_name(path):
        raise UsageError(
            f"MODEL is a text model: give it a text file, one text a line, not {path!r}"
        )
    from greedy_rae.text import read_lines

    return read_lines(path, encoding)[0]


def cmd_encode(args: argparse.Namespace) -> int:
    _files.check_output(args.output, "-o", (".npy",))
    _check_exists(args.model, "model file")
    _check_exists(args.sequences, "file or folder")
    rae = _load_model(args.model)
    seqs = _inputs_of(rae, args.sequences, args.encoding)
    features = rae.encode(seqs, features=args.features, progress=sys.stdout.isatty())
    np.save(args.output, features)
    print(f"wrote {features.shape[0]} x {features.shape[1]} features to {args.output}")
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    _check_exists(args.model, "model file")
    _check_exists(args.sequences, "file or folder")
    names = None
    if args.leaf_names is not None:
        _check_exists(args.leaf_names, "leaf names file")
        with open(args.leaf_names, encoding="utf-8") as f:
            names = [line.rstrip("\n") for line in f if line.strip()]
    rae = _load_model(args.model)
    seqs = _inputs_of(rae, args.sequences, args.encoding)
    if not -len(seqs) <= args.index < len(seqs):
        raise UsageError(f"--index {args.index} is out of range: there are {len(seqs)} sequences")
    # the bar goes to stdout with the tree: only on a terminal, never into a pipe
    tree = rae.trees([seqs[args.index]], progress=sys.stdout.isatty())[0]
    if names is not None and len(names) != tree.n:
        raise UsageError(
            f"--leaf-names {args.leaf_names!r} has {len(names)} names but sequence"
            f" {args.index} has {tree.n} leaves"
        )
    if args.format == "text":
        out = tree.to_text(names)
    elif args.format == "newick":
        out = tree.to_newick(names)
    elif args.format == "bracket":
        out = tree.to_bracket(names)
    elif args.format == "dot":
        out = tree.to_dot(names)
    elif args.format == "json":
        out = json.dumps(tree.to_dict(names))
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
    """The command line's parser (the docs' reference is generated from it)."""
    m = _options.MODEL
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
        " prints the loss per epoch. The options are gr.RAE's and RAE.fit's, with the"
        " same names and defaults, except --epochs (one call trains to the end).",
        epilog=f"SEQUENCES: {SEQUENCES_HELP}.",
        formatter_class=_Help,
    )
    f.add_argument("sequences", metavar="SEQUENCES", help="the training data (see below)")
    f.add_argument("-o", "--output", required=True, metavar="MODEL", help=".keras or .h5")
    f.add_argument("--dim", type=_positive, help="leaf width (default: the data's; text: 50)")
    f.add_argument(
        "--pairs",
        choices=PAIR_MODES,
        help=f"candidate pairs (default: {m.pairs!r}; {_options.TEXT_PAIRS!r} with --text)",
    )
    f.add_argument("--epochs", type=_positive, default=_options.CLI_EPOCHS, help="passes")
    f.add_argument("--batch-size", type=_positive, default=m.batch_size, help="minibatch size")
    f.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=OPTIMIZERS[0],
        help="adam: minibatch steps; lbfgs: full-batch L-BFGS, --epochs iterations",
    )
    f.add_argument(
        "--learning-rate", type=float, help=f"Adam's (default: {m.learning_rate}; not for lbfgs)"
    )
    f.add_argument("--activation", choices=ACTIVATIONS, default=m.activation, help="the encoder's")
    f.add_argument(
        "--decoder-activation",
        choices=ACTIVATIONS,
        default=m.decoder_activation,
        help="the decoder's",
    )
    f.add_argument("--normalize", action="store_true", help="unit-length parents")
    f.add_argument(
        "--normalize-reconstruction",
        action="store_true",
        help="each half of the reconstruction of unit length (Socher et al.'s code)",
    )
    f.add_argument(
        "--reconstruction", choices=RECONSTRUCTIONS, default=m.reconstruction, help="its error"
    )
    f.add_argument(
        "--labels",
        metavar="LABELS",
        help="class labels: an .npy of one int a sequence, -1 unlabelled (trains a label"
        " head); with --text also a text file of names, one a line (default: none; with"
        " --text the lines' __label__ prefixes)",
    )
    f.add_argument("--classes", type=_positive, help="label head size (default: from the labels)")
    f.add_argument("--alpha", type=float, default=m.alpha, help="weight of the reconstruction")
    f.add_argument(
        "--head-loss",
        choices=HEAD_LOSSES,
        default=_options.OBJECTIVE.head_loss,
        help="the head's error at a node: its cross-entropy, or the squared error of its"
        " probabilities (Socher et al.'s code)",
    )
    f.add_argument(
        "--inner-weight",
        type=float,
        default=_options.OBJECTIVE.inner_weight,
        help="weight of the head's error at inner nodes against words' (Socher et al.: 0.5)",
    )
    f.add_argument("--seed", type=int, default=0, help="initial weights and shuffling")
    f.add_argument(
        "--checkpoint-dir", metavar="DIR", help="save every epoch; rerun to resume (default: none)"
    )
    f.add_argument(
        "--validation-data",
        metavar="SEQUENCES",
        help="sequences (with --text: a text file) whose loss is val_loss (default: none)",
    )
    f.add_argument(
        "--validation-labels",
        metavar="LABELS",
        help="their labels, as --labels; a labelled training set needs them (with --text:"
        " their __label__ prefixes or this file)",
    )
    f.add_argument(
        "--text",
        action="store_true",
        help="SEQUENCES is a text file, one text a line (tokens: see --tokenizer), optionally"
        " with a fastText-style __label__X prefix; trains a word table too",
    )
    f.add_argument("--min-count", type=_positive, default=1, help="text: rarer words are <unk>")
    f.add_argument(
        "--max-size", type=_positive, help="text: keep the most frequent words (default: all)"
    )
    f.add_argument("--lower", action="store_true", help="text: lower-case the words")
    f.add_argument(
        "--tokenizer",
        choices=tuple(TOKENIZERS),
        default=_options.TOKENIZER,
        help="text: words and runs of punctuation, or whitespace alone (kept in the model)",
    )
    f.add_argument(
        "--embeddings",
        metavar="PATH",
        help="text: word2vec vectors (text or binary) to start the table from (default:"
        " small and random)",
    )
    f.add_argument(
        "--cooccurrence",
        action="store_true",
        help="text: start the table from the texts' own word vectors (positive PMI of words"
        " within two tokens, cut by an SVD; needs scipy)",
    )
    f.add_argument("--encoding", default="utf-8", help="text: the files' encoding")
    f.set_defaults(run=cmd_fit)

    e = sub.add_parser(
        "encode",
        help="features of sequences under a saved model",
        description="Write the features of SEQUENCES under MODEL to an .npy file.",
        epilog=f"SEQUENCES: {SEQUENCES_HELP}.",
        formatter_class=_Help,
    )
    e.add_argument("model", metavar="MODEL", help="a model file saved by fit")
    e.add_argument("sequences", metavar="SEQUENCES", help="the data (see below)")
    e.add_argument("-o", "--output", required=True, metavar="FEATURES.npy", help="where to")
    e.add_argument(
        "--features", choices=FEATURES, default=m.features, help="what RAE.encode returns"
    )
    e.add_argument("--encoding", default="utf-8", help="a text model's file encoding")
    e.set_defaults(run=cmd_encode)

    t = sub.add_parser(
        "tree",
        help="print one sequence's tree",
        description="Print the tree of one sequence of SEQUENCES under MODEL.",
        epilog=f"SEQUENCES: {SEQUENCES_HELP}.",
        formatter_class=_Help,
    )
    t.add_argument("model", metavar="MODEL", help="a model file saved by fit")
    t.add_argument("sequences", metavar="SEQUENCES", help="the data (see below)")
    t.add_argument("--index", type=int, default=0, help="which sequence")
    t.add_argument("--format", choices=FORMATS, default="text", help="how to print it")
    t.add_argument(
        "--leaf-names",
        metavar="NAMES.txt",
        help="leaf names, one a line, one a leaf (default: a text model's words, else the"
        " leaves' indices)",
    )
    t.add_argument("--encoding", default="utf-8", help="a text model's file encoding")
    t.set_defaults(run=cmd_tree)

    d = sub.add_parser(
        "demo",
        help="train on the original post's example and print the tree",
        description="Train the post's network on the post's example (20 leaves of width 10:"
        " ones(10) * i for i in 0..9, twice) by single Adam steps, print the root score"
        " every 10 steps, then the final tree in the post's indented form.",
        formatter_class=_Help,
    )
    d.add_argument("--steps", type=int, default=100, help="training steps")
    d.add_argument("--pairs", choices=PAIR_MODES, default=m.pairs, help="candidate pairs")
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
    except BrokenPipeError:
        # the reader left (| head): stop quietly, as Unix tools do; Python would
        # otherwise complain again when it flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, the status of a tool that SIGPIPE ended
    except (ValueError, TypeError, OSError, MemoryError, FloatingPointError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"greedy-rae {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"greedy-rae {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
