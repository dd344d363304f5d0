"""Console entry point ``speechbrain-ser``.

    speechbrain-ser predict --model results/demo/1986/inference a.wav b.flac
    speechbrain-ser demo-corpus --out demo_data --n 400
    speechbrain-ser plot-log SA2SR=a/train_log.txt ASR=b/train_log.txt \
        --keys "valid CER" "valid AUC" --out curves.png
    speechbrain-ser tsne --run results/cpc/alt_fbank/1986 \
        --manifest demo_data/manifests/test.json --out tsne.png

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import json
import sys


def _predict(args):
    from speechbrain_ser.data.audio import AudioError
    from speechbrain_ser.inference import EmotionRecognizer

    recognizer = EmotionRecognizer.from_hparams(
        source=args.model,
        savedir=args.savedir,
        run_opts={"device": args.device},
    )
    failures = 0
    for path in args.files:
        try:
            result = recognizer.classify_file(path)
        except AudioError as error:
            result = {"file": path, "error": str(error)}
            failures += 1
        print(json.dumps(result), flush=True)
    return 1 if failures else 0


def _demo_corpus(args):
    from speechbrain_ser.demo.prepare import prepare_demo

    prepare_demo(
        args.out,
        args.manifests or f"{args.out}/manifests",
        n_utterances=args.n,
        part=args.part,
        seed=args.seed,
    )
    return 0


def _plot_log(args):
    from speechbrain_ser.plotting import plot_curves

    logs = dict(run.rsplit("=", 1) for run in args.runs)
    plot_curves(logs, args.keys, args.out, title=args.title)
    print(args.out)
    return 0


def _tsne(args):
    import os

    from speechbrain_ser.representations import (
        load_trained_module,
        tsne_picture,
        utterance_embeddings,
    )

    model, sample_rate = load_trained_module(
        args.run, args.module, args.checkpoint
    )
    data_folder = args.data_folder or os.path.dirname(
        os.path.dirname(os.path.abspath(args.manifest))
    )
    _, embeddings, labels = utterance_embeddings(
        model, args.manifest, data_folder, args.label_key, sample_rate
    )
    result = tsne_picture(embeddings, labels, args.out, title=args.title)
    print(f"{args.out} (silhouette {result['silhouette']:.3f})")
    return 0


def build_parser():
    """The argument parser of ``speechbrain-ser``.

    Returns
    -------
    argparse.ArgumentParser
        With one sub-command per tool; each sets its ``handler``.

    Example
    -------
    >>> args = build_parser().parse_args(["predict", "--model", "m", "a.wav"])
    >>> args.command, args.model, args.files, args.device
    ('predict', 'm', ['a.wav'], 'cpu')
    """
    parser = argparse.ArgumentParser(
        prog="speechbrain-ser",
        description="Speech emotion recognition with SpeechBrain.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser(
        "predict", help="print one JSON line of predictions per audio file"
    )
    predict.add_argument(
        "--model",
        required=True,
        help="inference folder exported by training (<output>/inference)",
    )
    predict.add_argument("--device", default="cpu")
    predict.add_argument(
        "--savedir", default=None, help="where to link the model files"
    )
    predict.add_argument("files", nargs="+", help="audio files, any format")
    predict.set_defaults(handler=_predict)
    demo = commands.add_parser(
        "demo-corpus", help="synthesise the built-in demo corpus"
    )
    demo.add_argument("--out", default="demo_data")
    demo.add_argument("--manifests", default=None)
    demo.add_argument("--n", type=int, default=400)
    demo.add_argument("--part", choices=("main", "alt"), default="main")
    demo.add_argument("--seed", type=int, default=1234)
    demo.set_defaults(handler=_demo_corpus)
    plot = commands.add_parser(
        "plot-log", help="plot statistics of train_log.txt files per epoch"
    )
    plot.add_argument("runs", nargs="+", help="NAME=path/to/train_log.txt")
    plot.add_argument("--keys", nargs="+", default=["valid loss"])
    plot.add_argument("--out", default="curves.png")
    plot.add_argument("--title", default=None)
    plot.set_defaults(handler=_plot_log)
    tsne = commands.add_parser(
        "tsne",
        help="t-SNE picture of a trained encoder's utterance representations",
    )
    tsne.add_argument(
        "--run", required=True, help="output folder of a training run"
    )
    tsne.add_argument("--manifest", required=True, help="labelled manifest")
    tsne.add_argument(
        "--data-folder",
        default=None,
        help="replaces {data_root} (default: the manifest folder's parent)",
    )
    tsne.add_argument("--label-key", default="emotion")
    tsne.add_argument("--module", default="cpc", help="module key in the YAML")
    tsne.add_argument(
        "--checkpoint", default=None, help="default: <run>/<module>.ckpt"
    )
    tsne.add_argument("--out", default="tsne.png")
    tsne.add_argument("--title", default=None)
    tsne.set_defaults(handler=_tsne)
    return parser


def main(argv=None):
    """Runs ``speechbrain-ser`` with ``argv`` (default: sys.argv[1:]).

    Arguments
    ---------
    argv : list of str, optional
        Command-line arguments.

    Returns
    -------
    int
        The exit status (0 on success).

    Example
    -------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(f"{folder}/train_log.txt", "w") as fout:
    ...     _ = fout.write("epoch: 1 - valid loss: 0.9\\n")
    >>> status = main(
    ...     [
    ...         "plot-log",
    ...         f"run={folder}/train_log.txt",
    ...         "--out",
    ...         f"{folder}/c.png",
    ...     ]
    ... )  # doctest: +ELLIPSIS
    /tmp/.../c.png
    >>> status, os.path.isfile(f"{folder}/c.png")
    (0, True)
    """
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
