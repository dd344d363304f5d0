"""Console entry point ``speechbrain-ser``::

    speechbrain-ser predict --model results/demo/1986/inference a.wav b.flac
    speechbrain-ser predict --model ... --output out.jsonl folder/ "**/*.flac"
    speechbrain-ser predict --model ... --segment 3 --hop 1 --plot t.png x.wav
    speechbrain-ser export --onnx --model results/demo/1986/inference
    speechbrain-ser export --hub ser-demo --model results/demo/1986 \
        --repo-id your-name/ser-demo
    torchrun --nproc_per_node=2 -m speechbrain_ser.cli predict \
        --model results/demo/1986/inference --output out.jsonl corpus/
    speechbrain-ser transcribe --model <whisper folder> \
        demo_data/manifests/test.json --output test_asr.json
    speechbrain-ser predict --model <speech_text run>/inference a.wav \
        --transcript "what was said"
    speechbrain-ser demo-corpus --out demo_data --n 400
    speechbrain-ser plot-log SA2SR=a/train_log.txt ASR=b/train_log.txt \
        --keys "valid CER" "valid AUC" --out curves.png
    speechbrain-ser tsne --run results/cpc/alt_fbank/1986 \
        --manifest demo_data/manifests/test.json --out tsne.png
    speechbrain-ser robustness --model results/demo/1986/inference \
        demo_data/manifests/test.json --conditions white_noise reverb
    speechbrain-ser search hparams/demo.yaml --space hparams/search_space.yaml \
        --n_trials 8 --study_folder results/search_demo -- --number_of_epochs=5

Authors
 * speechbrain-ser developers 2026
"""

import argparse
import os
import pickle
import sys
import tempfile
import textwrap


class UsageError(Exception):
    """A problem with the command line, reported in one line.

    Example
    -------
    >>> str(UsageError(model_folder_problem("no/such/folder")))
    'no/such/folder: no such model folder'
    """


def model_folder_problem(folder):
    """Why ``folder`` is not an inference folder, or None.

    Checked before anything is loaded: loading runs the folder's
    ``hyperparams.yaml`` (code), and a training run's YAML would, e.g.,
    create its checkpoint folder.

    Arguments
    ---------
    folder : str
        The folder given as ``--model``.

    Returns
    -------
    str or None
        A one-line problem naming the folder, or None for an inference
        folder.

    Example
    -------
    >>> model_folder_problem("no/such/folder")
    'no/such/folder: no such model folder'
    """
    if not os.path.exists(folder):
        return f"{folder}: no such model folder"
    if not os.path.isdir(folder):
        return f"{folder}: not a folder; give the inference folder of a run"
    inner = os.path.join(folder, "inference")
    if os.path.isfile(os.path.join(inner, "hyperparams.yaml")):
        return (
            f"{folder}: this is a training run's output folder; use "
            f"--model {inner}"
        )
    yaml = os.path.join(folder, "hyperparams.yaml")
    if not os.path.isfile(yaml):
        return (
            f"{folder}: no hyperparams.yaml; not an inference folder "
            "(training exports one to <output_folder>/inference)"
        )
    with open(yaml, encoding="utf-8") as fin:
        text = fin.read()
    if "pretrainer:" not in text:
        return (
            f"{yaml}: has no pretrainer; not an inference folder "
            "(training exports one to <output_folder>/inference)"
        )
    from speechbrain_ser.inference.code_tags import code_tag_problem

    problem = code_tag_problem(yaml)  # PyYAML's tags that run any code
    if problem:
        return problem
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".ckpt") and not _is_torch_file(path):
            return f"{name} in {folder} is not a checkpoint file"
    return None


def _first_line(error):
    """The first non-empty line of an error's message (torch's are long)."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def _is_torch_file(path):
    """Whether ``path`` can be a checkpoint file: a complete zip archive
    (torch.save's format) or text (SpeechBrain's label encoders)."""
    import zipfile

    if not os.path.isfile(path):
        return False
    if zipfile.is_zipfile(path):
        return True
    with open(path, "rb") as fin:
        head = fin.read(4096)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not head.startswith(b"PK")  # a zip archive cut short


def _positive_seconds(text):
    """argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected seconds, got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 s, got {text}")
    return value


def _device_problem(device):
    import torch

    try:
        device = torch.device(device)
    except RuntimeError as error:
        return f"--device {device}: {error}"
    if device.type == "cuda" and not torch.cuda.is_available():
        return f"--device {device}: CUDA is not available here; use cpu"
    return None


def _resolve_model(args):
    """Replaces a Hugging Face Hub id in ``args.model`` by the snapshot
    folder of the Hub cache; returns a problem line, or None."""
    from speechbrain_ser.sources import is_hub_id, resolve_source

    if not os.path.exists(args.model) and is_hub_id(args.model):
        try:
            args.model = resolve_source(args.model)
        except FileNotFoundError as error:
            return str(error)
    return model_folder_problem(args.model)


def _load_recognizer(args, savedir):
    from speechbrain_ser.inference import load_recognizer
    from speechbrain_ser.inference.onnx import OnnxEmotionRecognizer

    problem = _resolve_model(args) or _device_problem(args.device)
    onnx_file = None
    if args.backend == "onnx":
        onnx_file = args.onnx_file or os.path.join(args.model, "model.onnx")
        if not problem and not os.path.isfile(onnx_file):
            problem = (
                f"{onnx_file}: no ONNX model; write it with "
                f"'speechbrain-ser export --onnx --model {args.model}'"
            )
    if problem:
        raise UsageError(problem)
    source = os.path.abspath(args.model)
    options = {"savedir": savedir, "run_opts": {"device": args.device}}
    try:
        if onnx_file:
            return OnnxEmotionRecognizer.from_hparams(
                source=source, **options
            ).load_onnx(onnx_file)
        return load_recognizer(source, **options)
    except (
        OSError,
        KeyError,
        ValueError,
        RuntimeError,
        EOFError,
        pickle.UnpicklingError,
    ) as error:
        raise UsageError(
            f"{args.model}: cannot load the model "
            f"({type(error).__name__}: {_first_line(error)})"
        ) from None


def _decoding_workers(args):
    """``--num-workers``, or its default for ``--device``."""
    if args.num_workers is not None:
        return args.num_workers
    if args.device == "cpu":
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _predict(args):
    from speechbrain_ser.data.audio import AudioError
    from speechbrain_ser.inference import SpeechTextRecognizer
    from speechbrain_ser.inference.corpus import (
        ResultWriter,
        expand_inputs,
        predict_corpus,
    )
    from speechbrain_ser.inference.segments import (
        plot_timeline,
        predict_segments,
    )

    distributed = _join_ranks(args)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            recognizer = _load_recognizer(args, args.savedir or tmp)
        except UsageError as error:
            print(f"speechbrain-ser predict: error: {error}", file=sys.stderr)
            return 2
        with_text = isinstance(recognizer, SpeechTextRecognizer)
        if with_text or args.transcript or args.manifest:
            return _predict_with_transcripts(recognizer, args)
        if not args.files:
            raise SystemExit("give audio files, folders, globs or manifests")
        corpus_options = dict(
            output=args.output,
            max_batch_seconds=args.batch_seconds,
            max_batch_size=args.batch_size,
            num_workers=_decoding_workers(args),
            progress=not args.no_progress,
            min_confidence=args.min_confidence,
        )
        if args.segment is None and (distributed or _parts_left(args)):
            from speechbrain_ser.inference.distributed import (
                predict_corpus_sharded,
            )

            counts = predict_corpus_sharded(
                recognizer, args.files, **corpus_options
            )
            if distributed:
                import torch.distributed

                torch.distributed.destroy_process_group()
            return 1 if counts["errors"] else 0
        if args.segment is None:
            counts = predict_corpus(recognizer, args.files, **corpus_options)
            if counts["skipped"]:
                print(
                    f"speechbrain-ser predict: resumed: {counts['skipped']} "
                    f"file(s) were already in {args.output}; "
                    f"{counts['predicted']} predicted now, "
                    f"{counts['errors']} error(s)",
                    file=sys.stderr,
                )
            return 1 if counts["errors"] else 0
        files = expand_inputs(args.files)
        if args.plot and len(files) != 1:
            raise SystemExit("--plot draws one recording: give one file")
        failures = 0
        with ResultWriter(args.output) as writer:
            for path in files:
                try:
                    rows = predict_segments(
                        recognizer, path, args.segment, args.hop or args.segment
                    )
                except AudioError as error:
                    rows = [{"file": path, "error": str(error)}]
                    failures += 1
                for row in rows:
                    writer.write(row)
                writer.flush()
                if args.plot and "error" not in rows[0]:
                    plot_timeline(rows, args.plot, title=os.path.basename(path))
    return 1 if failures else 0


def _join_ranks(args):
    """Under torchrun with several processes: joins the process group,
    puts this rank on its own GPU (``--device cuda``) and savedir.

    Returns
    -------
    bool
        True when distributed.
    """
    from speechbrain_ser.inference.distributed import init_process_group, world

    rank, size, local_rank = world()
    if size == 1:
        return False
    if not args.output:
        raise SystemExit(
            "predict under torchrun writes one part per rank: give --output"
        )
    if args.segment is not None or args.manifest or args.transcript:
        raise SystemExit(
            "under torchrun, predict shares out whole files only (no "
            "--segment, --manifest or --transcript)"
        )
    if args.device == "cuda":
        args.device = f"cuda:{local_rank}"
    if args.savedir:
        args.savedir = os.path.join(args.savedir, f"rank{rank}")
    return init_process_group()


def _parts_left(args):
    """Whether a killed distributed run left part files of --output."""
    from speechbrain_ser.inference.distributed import existing_parts

    return bool(args.output) and bool(existing_parts(args.output))


def _predict_with_transcripts(recognizer, args):
    """One file at a time, each with its given or ASR transcript."""
    from speechbrain_ser.data.audio import AudioError
    from speechbrain_ser.inference.corpus import ResultWriter, mark_truncated

    files, transcripts = _predict_inputs(args)
    failures = 0
    with ResultWriter(args.output) as writer:
        for path, transcript in zip(files, transcripts):
            try:
                options = {"min_confidence": args.min_confidence}
                if transcript is not None:
                    options["transcript"] = transcript
                result = recognizer.classify_file(path, **options)
                mark_truncated([result], path)
            except AudioError as error:
                result = {"file": path, "error": str(error)}
                failures += 1
            except (ValueError, OSError) as error:  # no ASR, unloadable ASR
                print(
                    f"speechbrain-ser predict: error: {_first_line(error)}",
                    file=sys.stderr,
                )
                return 2
            writer.write(result)
            writer.flush()
    return 1 if failures else 0


def _predict_inputs(args):
    """(files, transcripts) of ``predict``: from the command line, or a
    manifest's ``wav`` and ``transcript`` fields (None: run the ASR)."""
    if args.manifest:
        from speechbrain_ser.data.manifest import read_audio_manifest

        if not os.path.isfile(args.manifest):
            raise UsageError(f"--manifest {args.manifest}: no such manifest")
        entries = read_audio_manifest(args.manifest, args.data_folder)
        entries = list(entries.values())
        return [e["wav"] for e in entries], [
            e.get("transcript") for e in entries
        ]
    if not args.files:
        raise SystemExit("give audio files or --manifest")
    transcripts = args.transcript or [None] * len(args.files)
    if len(transcripts) != len(args.files):
        raise SystemExit(
            f"{len(transcripts)} --transcript for {len(args.files)} files: "
            "give one per file, in order"
        )
    return args.files, transcripts


def _export(args):
    from speechbrain_ser.inference import EmotionRecognizer
    from speechbrain_ser.inference.onnx import export_onnx

    if args.hub:
        return _export_hub(args)
    if not args.onnx:
        raise SystemExit("say which format: --onnx or --hub DIR")
    problem = _resolve_model(args)
    if problem:
        print(f"speechbrain-ser export: error: {problem}", file=sys.stderr)
        return 2
    recognizer = EmotionRecognizer.from_hparams(
        source=args.model, savedir=args.savedir
    )
    out = args.out or os.path.join(args.model, "model.onnx")
    export_onnx(recognizer, out)
    print(out)
    return 0


def _export_hub(args):
    from speechbrain_ser.inference.hub import export_hub_folder

    try:
        out = export_hub_folder(
            args.model, args.hub, repo_id=args.repo_id, example=args.example
        )
    except FileNotFoundError as error:
        print(f"speechbrain-ser export: error: {error}", file=sys.stderr)
        return 2
    print(out)
    return 0


def _robustness(args):
    from speechbrain_ser.evaluation.robustness import run

    problem = model_folder_problem(args.model)
    if problem:
        print(f"speechbrain-ser robustness: error: {problem}", file=sys.stderr)
        return 2
    _, table, out = run(args)
    print(table)
    print(f"written to {out}")
    return 0


def _transcribe(args):
    from speechbrain_ser.text.transcription import WhisperTranscriber

    transcriber = WhisperTranscriber(
        args.model,
        device=args.device,
        batch_size=args.batch_size,
        language=args.language,
    )
    transcriber.transcribe_manifest(
        args.manifest,
        output_path=args.output,
        overwrite=args.overwrite,
        data_folder=args.data_folder,
    )
    print(args.output or args.manifest)
    return 0


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

    from speechbrain_ser.evaluation.representations import (
        load_trained_module,
        tsne_picture,
        utterance_embeddings,
    )

    try:
        model, sample_rate = load_trained_module(
            args.run, args.module, args.checkpoint
        )
        data_folder = args.data_folder or os.path.dirname(
            os.path.dirname(os.path.abspath(args.manifest))
        )
        _, embeddings, labels = utterance_embeddings(
            model, args.manifest, data_folder, args.label_key, sample_rate
        )
    except (OSError, KeyError, ValueError) as error:
        message = error.args[0] if error.args else error
        print(f"speechbrain-ser tsne: error: {message}", file=sys.stderr)
        return 2
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
        epilog="A problem with the command, the model or the data is one "
        "line with exit status 2; add --debug (anywhere) for its traceback.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser(
        "predict", help="print one JSON line of predictions per audio file"
    )
    predict.add_argument(
        "--model",
        required=True,
        help="inference folder exported by training (<output>/inference), "
        "or the Hugging Face Hub id of one (offline from the Hub cache with "
        "HF_HUB_OFFLINE=1); it is code (its hyperparams.yaml runs Python): "
        "use trusted ones",
    )
    predict.add_argument("--device", default="cpu")
    predict.add_argument(
        "--savedir",
        default=None,
        help="where to link the model files (default: a temporary folder)",
    )
    predict.add_argument(
        "files",
        nargs="*",
        help="audio files (any format), folders (searched recursively), "
        "glob patterns or JSON manifests",
    )
    predict.add_argument(
        "--output",
        default=None,
        help="JSON-lines file, or CSV for a .csv name (default: stdout); "
        "files already in it are skipped, so a killed run resumes. Under "
        "torchrun (--nproc_per_node=N, --nnodes=M) each rank predicts a "
        "share balanced by duration into OUTPUT's .rank<r> part, merged "
        "into OUTPUT at the end",
    )
    predict.add_argument(
        "--batch-seconds",
        type=float,
        default=160.0,
        help="bound on clips per batch x longest clip (seconds)",
    )
    predict.add_argument("--batch-size", type=int, default=32)
    predict.add_argument(
        "--num-workers",
        type=int,
        default=None,
        help="processes that read, check and batch the audio while the "
        "model runs (default: 0 on a CPU, whose cores compute; on a GPU "
        "up to 4 of the spare CPU cores)",
    )
    predict.add_argument(
        "--segment",
        type=_positive_seconds,
        default=None,
        help="predict every SEGMENT seconds of each recording",
    )
    predict.add_argument(
        "--hop",
        type=_positive_seconds,
        default=None,
        help="seconds between segments (default: --segment)",
    )
    predict.add_argument(
        "--plot", default=None, help="with --segment: timeline PNG"
    )
    predict.add_argument("--no-progress", action="store_true")
    predict.add_argument(
        "--min-confidence",
        type=float,
        default=None,
        metavar="P",
        help="abstain below this (calibrated) top probability: "
        '"emotion": null, "uncertain": true',
    )
    predict.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default="torch",
        help="onnx: run the graph written by 'export --onnx' (CPU)",
    )
    predict.add_argument(
        "--onnx-file", default=None, help="default: <model>/model.onnx"
    )
    predict.add_argument(
        "--transcript",
        action="append",
        help="speech + text models: the transcript of each file, in order "
        "(skips the model's ASR)",
    )
    predict.add_argument(
        "--manifest",
        default=None,
        help="predict a manifest's files, with its transcripts",
    )
    predict.add_argument(
        "--data-folder", default=None, help="replaces {data_root}"
    )
    predict.set_defaults(handler=_predict)
    export = commands.add_parser(
        "export",
        help="write a trained model as ONNX, or as a Hugging Face model "
        "repository folder with its model card",
    )
    export.add_argument(
        "--model",
        required=True,
        help="inference folder (--hub: a training run's output folder, for "
        "its results.json and protocol, or its inference folder)",
    )
    export.add_argument("--onnx", action="store_true", help="ONNX graph")
    export.add_argument(
        "--hub",
        default=None,
        metavar="DIR",
        help="write DIR, ready to upload as a Hugging Face model "
        "repository: weights, hyperparams.yaml, custom_interface.py, "
        "example.wav and a model card README.md",
    )
    export.add_argument(
        "--repo-id",
        default=None,
        help="with --hub: the org/name it will have on the Hub (for the "
        "card's usage snippets)",
    )
    export.add_argument(
        "--example",
        default=None,
        help="with --hub: the audio file to ship as example.wav (default: "
        "the run's first test file)",
    )
    export.add_argument(
        "--out", default=None, help="default: <model>/model.onnx"
    )
    export.add_argument("--savedir", default=None)
    export.set_defaults(handler=_export)
    transcribe = commands.add_parser(
        "transcribe",
        help="add Whisper transcripts to a manifest (resumable)",
    )
    transcribe.add_argument(
        "--model",
        required=True,
        help="a Hugging Face Whisper folder or Hub id "
        "(e.g. openai/whisper-tiny.en)",
    )
    transcribe.add_argument("manifest", help="manifest JSON to transcribe")
    transcribe.add_argument(
        "--output", default=None, help="default: the manifest, in place"
    )
    transcribe.add_argument("--batch_size", type=int, default=8)
    transcribe.add_argument(
        "--overwrite",
        action="store_true",
        help="also replace transcripts the manifest has (e.g. human ones)",
    )
    transcribe.add_argument("--device", default="cpu")
    transcribe.add_argument(
        "--language", default=None, help="e.g. en, for multilingual models"
    )
    transcribe.add_argument(
        "--data-folder",
        default=None,
        help="replaces {data_root} (default: the manifest folder's parent)",
    )
    transcribe.set_defaults(handler=_transcribe)
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
        description=textwrap.fill(
            "t-SNE picture of a trained encoder's utterance representations "
            "([mean; std] of its frames over each utterance), one colour per "
            "label, and <out>.json with the points and the silhouette score. "
            "--run takes the output folder of a run of the demo, of a "
            "Whisper recipe, of SA2SR or CPC pre-training, or of their "
            "fine-tunings.",
            78,
        ),
        epilog="examples:\n"
        "  speechbrain-ser tsne --run results/demo/1986 \\\n"
        "      --manifest demo_data/manifests/test.json --out demo.png\n"
        "  speechbrain-ser tsne --run results/cpc/alt_fbank/1986 \\\n"
        "      --manifest demo_data/manifests/test.json --out cpc.png\n"
        "A --module that the run's YAML does not have is answered with the "
        "list of the modules it has.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    tsne.add_argument(
        "--module",
        default=None,
        help="key of a module in the run's YAML (its hyperparams.yaml). "
        "Default: cpc if the YAML has one (CPC pre-training), else encoder "
        "(every other recipe), which is given the YAML's compute_features "
        "and normalisation (mean_var_norm or normalize) first and, when it "
        "returns every hidden state (Whisper), the head's learned layer "
        "weights; another module must take waveforms",
    )
    tsne.add_argument(
        "--checkpoint",
        default=None,
        help="a state dict file to load (default: the checkpoint the run "
        "tested, from its checkpointer)",
    )
    tsne.add_argument("--out", default="tsne.png")
    tsne.add_argument("--title", default=None)
    tsne.set_defaults(handler=_tsne)
    robustness = commands.add_parser(
        "robustness",
        help="a model folder's metric under noise, reverberation, telephone "
        "band, level, clipping, speed and dropped frames",
    )
    robustness.add_argument("manifest", help="labelled test manifest (JSON)")
    robustness.add_argument("--model", required=True, help="model folder")
    robustness.add_argument(
        "--out",
        default=None,
        help="report folder (default: <model>/robustness)",
    )
    robustness.add_argument(
        "--conditions",
        nargs="+",
        default=None,
        help="families to run (default: all of white_noise pink_noise babble "
        "reverb telephone level clipping speed dropped_frames)",
    )
    robustness.add_argument(
        "--noise-folder", default=None, help="also your noise recordings"
    )
    robustness.add_argument(
        "--rir-folder", default=None, help="also your impulse responses"
    )
    robustness.add_argument(
        "--data-folder", default=None, help="replaces {data_root}"
    )
    robustness.add_argument("--seed", type=int, default=0)
    robustness.add_argument("--max-utterances", type=int, default=None)
    robustness.add_argument("--bootstrap-resamples", type=int, default=1000)
    robustness.add_argument(
        "--speakers",
        action="store_true",
        help="resample speakers in the bootstrap (speaker-independent tests)",
    )
    robustness.add_argument("--device", default="cpu")
    robustness.add_argument("--savedir", default=None)
    robustness.set_defaults(handler=_robustness)
    search = commands.add_parser(
        "search",
        add_help=False,
        help="hyper-parameter search of a recipe with Optuna "
        "(speechbrain-ser search --help)",
    )
    search.add_argument("arguments", nargs=argparse.REMAINDER)
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
    >>> import contextlib, io, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(f"{folder}/train_log.txt", "w") as fout:
    ...     _ = fout.write("epoch: 1 - valid loss: 0.9\\n")
    >>> printed = io.StringIO()
    >>> with contextlib.redirect_stdout(printed):
    ...     status = main(
    ...         [
    ...             "plot-log",
    ...             f"run={folder}/train_log.txt",
    ...             "--out",
    ...             f"{folder}/c.png",
    ...         ]
    ...     )
    >>> printed.getvalue() == f"{folder}/c.png\\n"
    True
    >>> status, os.path.isfile(f"{folder}/c.png")
    (0, True)
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["search"]:  # its own parser, --help included
        from speechbrain_ser.evaluation.search import main as search

        search(argv[1:])
        return 0
    debug = "--debug" in argv  # anywhere on the line, as for train.py
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    try:
        return args.handler(args)
    except user_errors() as error:
        if debug:
            raise
        return _report(args.command, error)


def user_errors():
    """The errors that ``speechbrain-ser`` reports in one line, exit
    status 2, without traceback (``--debug`` shows it): another run holds
    the output, or a manifest named on the command line is unreadable.

    Returns
    -------
    tuple of type

    Example
    -------
    >>> from speechbrain_ser.run_lock import RunLockedError
    >>> RunLockedError in user_errors()
    True
    """
    from speechbrain_ser.data.manifest import PreparationError
    from speechbrain_ser.data.validation import ManifestError
    from speechbrain_ser.run_lock import RunLockedError

    return UsageError, RunLockedError, ManifestError, PreparationError


def _report(command, error):
    """Prints ``error`` in one line (once under torchrun: rank 0), leaves
    torchrun's process group, and gives exit status 2."""
    from speechbrain_ser.run import error_line
    from speechbrain_ser.run_lock import is_main_rank

    if is_main_rank():
        line = error_line(error)
        print(f"speechbrain-ser {command}: error: {line}", file=sys.stderr)
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()  # no abort at exit under torchrun
    return 2


if __name__ == "__main__":
    sys.exit(main())
