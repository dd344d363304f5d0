"""How a model degrades on the audio a deployment meets.

``speechbrain-ser robustness --model DIR test.json`` evaluates a model
folder on a labelled manifest, clean and under each perturbation:

* additive noise at 20/10/5/0 dB SNR: white, pink (1/f), babble (a sum of
  other utterances of the manifest), or the files of ``--noise-folder``;
* reverberation by synthetic room impulse responses (exponentially
  decaying noise) at RT60 0.3/0.6/1.0 s, or the files of ``--rir-folder``;
* telephone channel: 300-3400 Hz band, 8 kHz, mu-law (G.711) and back;
* level -20/+20 dB, clipping at 50/25/10 % of the peak, speed 0.9/1.1,
  dropped frames (5 or 15 chunks of 20-100 ms set to 0).

SNR is exact (signal power over added-noise power, over the whole clip).
SpeechBrain does the reverberation (``reverberate``), speed
(``SpeedPerturb``) and frame dropping (``DropChunk``); torchaudio the
resampling and mu-law. Everything is seeded per (seed, condition,
utterance): the same command gives the same table.

The report (``robustness.json``, ``robustness.md``, ``robustness.png``)
gives, per condition and severity, the metric (UA for classes, mean CCC
for A/V/D) with its 95 % bootstrap interval, and the drop from clean with
a paired bootstrap interval (same utterances); and the seconds per clip
per condition.

Authors
 * speechbrain-ser developers 2026
"""

import math
import os
import time
import zlib

import numpy as np
import torch
import torchaudio
from speechbrain.utils.logger import get_logger

from speechbrain_ser.data.audio import read_audio
from speechbrain_ser.data.emotion import normalize_avd
from speechbrain_ser.data.manifest import read_audio_manifest
from speechbrain_ser.evaluation.bootstrap import (
    bootstrap_interval,
    paired_bootstrap,
    unweighted_accuracy,
)
from speechbrain_ser.metrics import (
    AVD_NAMES,
    concordance_correlation_coefficient,
)
from speechbrain_ser.strict_json import write_json

logger = get_logger(__name__)

SNRS = (20, 10, 5, 0)
# family -> list of (severity label, parameters)
DEFAULT_CONDITIONS = {
    "white_noise": [(f"{s} dB", {"snr": s}) for s in SNRS],
    "pink_noise": [(f"{s} dB", {"snr": s}) for s in SNRS],
    "babble": [(f"{s} dB", {"snr": s, "talkers": 4}) for s in SNRS],
    "reverb": [(f"RT60 {t} s", {"rt60": t}) for t in (0.3, 0.6, 1.0)],
    "telephone": [("8 kHz mu-law", {})],
    "level": [(f"{g:+d} dB", {"gain_db": g}) for g in (-20, 20)],
    "clipping": [
        (f"{int(f * 100)}% of peak", {"fraction": f}) for f in (0.5, 0.25, 0.1)
    ],
    "speed": [(f"x{s}", {"factor": s}) for s in (0.9, 1.1)],
    "dropped_frames": [(f"{n} x 20-100 ms", {"count": n}) for n in (5, 15)],
}


def signal_power(x):
    """Mean square of a waveform.

    Arguments
    ---------
    x : torch.Tensor
        Waveform.

    Returns
    -------
    float
        Its power.

    Example
    -------
    >>> signal_power(torch.tensor([1.0, -1.0, 0.0, 0.0]))
    0.5
    """
    return float(torch.mean(x.double() ** 2))


def mix_at_snr(clean, noise, snr_db):
    """``clean + g noise`` with ``g`` such that the SNR is ``snr_db``.

    The noise is tiled or cut to the clean length; the clean signal is not
    scaled, so ``10 log10(P(clean) / P(result - clean)) == snr_db``.

    Arguments
    ---------
    clean : torch.Tensor
        (samples,) waveform.
    noise : torch.Tensor
        (samples',) noise.
    snr_db : float
        Target signal-to-noise ratio in dB.

    Returns
    -------
    torch.Tensor
        The mixture.

    Example
    -------
    >>> clean = torch.sin(torch.arange(16000) / 5.0)
    >>> noisy = mix_at_snr(clean, torch.randn(8000), 10)
    >>> round(
    ...     10 * math.log10(signal_power(clean) / signal_power(noisy - clean)),
    ...     3,
    ... )
    10.0
    """
    if len(noise) < len(clean):
        noise = noise.repeat(math.ceil(len(clean) / len(noise)))
    noise = noise[: len(clean)].to(clean.dtype)
    p_clean, p_noise = signal_power(clean), signal_power(noise)
    if p_noise == 0 or p_clean == 0:
        return clean.clone()
    gain = math.sqrt(p_clean / (p_noise * 10 ** (snr_db / 10)))
    return clean + gain * noise


def pink_noise(n, generator):
    """Pink (1/f power) noise of ``n`` samples, by shaping white noise's
    spectrum.

    Arguments
    ---------
    n : int
        Samples.
    generator : torch.Generator
        Seeded generator.

    Returns
    -------
    torch.Tensor
        (n,) noise.

    Example
    -------
    >>> pink_noise(1000, torch.Generator().manual_seed(0)).shape
    torch.Size([1000])
    """
    white = torch.randn(n, generator=generator, dtype=torch.float64)
    spectrum = torch.fft.rfft(white)
    f = torch.arange(len(spectrum), dtype=torch.float64)
    f[0] = 1.0
    return torch.fft.irfft(spectrum / f.sqrt(), n=n).float()


def synthetic_rir(rt60, sample_rate, generator):
    """A room impulse response: a direct path, then exponentially decaying
    noise reaching -60 dB after ``rt60`` seconds.

    Arguments
    ---------
    rt60 : float
        Reverberation time (s).
    sample_rate : int
        Samples per second.
    generator : torch.Generator
        Seeded generator.

    Returns
    -------
    torch.Tensor
        (rt60 * sample_rate,) impulse response, peak 1 at sample 0.

    Example
    -------
    >>> rir = synthetic_rir(0.5, 16000, torch.Generator().manual_seed(0))
    >>> rir.shape, float(rir.abs().argmax())
    (torch.Size([8000]), 0.0)
    """
    n = int(rt60 * sample_rate)
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    tail = torch.randn(n, generator=generator, dtype=torch.float64)
    rir = 0.3 * tail * torch.exp(-6.9078 * t / rt60)  # ln(1000) = 6.9078
    rir[0] = 1.0 + rir[0].abs()  # the direct path dominates
    return (rir / rir.abs().max()).float()


def telephone(wav, sample_rate):
    """300-3400 Hz band, 8 kHz, 8-bit mu-law, and back to ``sample_rate``.

    Arguments
    ---------
    wav : torch.Tensor
        (samples,) waveform in [-1, 1].
    sample_rate : int
        Its rate.

    Returns
    -------
    torch.Tensor
        The telephone version, same length.

    Example
    -------
    >>> telephone(torch.randn(16000) * 0.1, 16000).shape
    torch.Size([16000])
    """
    x = torchaudio.functional.highpass_biquad(wav, sample_rate, 300.0)
    x = torchaudio.functional.resample(x, sample_rate, 8000)
    x = torchaudio.functional.lowpass_biquad(x, 8000, 3400.0)
    x = x.clamp(-1, 1)
    x = torchaudio.functional.mu_law_decoding(
        torchaudio.functional.mu_law_encoding(x, 256), 256
    )
    x = torchaudio.functional.resample(x, 8000, sample_rate)
    return _fit_length(x, len(wav))


def _fit_length(x, n):
    if len(x) >= n:
        return x[:n]
    return torch.nn.functional.pad(x, (0, n - len(x)))


class Perturber:
    """Applies one named condition to waveforms, reproducibly.

    Arguments
    ---------
    sample_rate : int
        Rate of the waveforms.
    babble_pool : list of torch.Tensor, optional
        Utterances to mix as babble.
    noise_files : list of str, optional
        Noise recordings (``--noise-folder``) for the ``noise_folder``
        family.
    rir_files : list of str, optional
        Impulse responses (``--rir-folder``) for ``rir_folder``.
    seed : int
        Base seed.

    Example
    -------
    >>> p = Perturber(16000)
    >>> clean = torch.sin(torch.arange(16000) / 5.0)
    >>> noisy = p("white_noise", {"snr": 5}, clean, "utt1")
    >>> round(
    ...     10 * math.log10(signal_power(clean) / signal_power(noisy - clean)),
    ...     3,
    ... )
    5.0
    >>> torch.equal(noisy, p("white_noise", {"snr": 5}, clean, "utt1"))
    True
    """

    def __init__(
        self,
        sample_rate,
        babble_pool=None,
        noise_files=None,
        rir_files=None,
        seed=0,
    ):
        self.sample_rate = sample_rate
        self.babble_pool = babble_pool or []
        self.noise_files = noise_files or []
        self.rir_files = rir_files or []
        self.seed = seed

    def generator(self, *keys):
        """A torch generator seeded by (seed, keys)."""
        text = "|".join(str(k) for k in (self.seed, *keys))
        return torch.Generator().manual_seed(zlib.crc32(text.encode()))

    def __call__(self, family, params, wav, key):
        """``wav`` under ``family`` with ``params``; ``key`` (the
        utterance id) seeds it."""
        g = self.generator(family, sorted(params.items()), key)
        n, rate = len(wav), self.sample_rate
        if family == "clean":
            return wav
        if family == "white_noise":
            return mix_at_snr(wav, torch.randn(n, generator=g), params["snr"])
        if family == "pink_noise":
            return mix_at_snr(wav, pink_noise(n, g), params["snr"])
        if family == "babble":
            return mix_at_snr(wav, self.babble(n, params, g), params["snr"])
        if family == "noise_folder":
            path = self.noise_files[
                int(torch.randint(len(self.noise_files), (1,), generator=g))
            ]
            noise = read_audio(path, rate)
            return mix_at_snr(wav, noise, params["snr"])
        if family in ("reverb", "rir_folder"):
            from speechbrain.processing.signal_processing import reverberate

            if family == "reverb":
                rir = synthetic_rir(params["rt60"], rate, g)
            else:
                index = int(
                    torch.randint(len(self.rir_files), (1,), generator=g)
                )
                rir = read_audio(self.rir_files[index], rate)
            return reverberate(wav.unsqueeze(0), rir, rescale_amp="avg")[0]
        if family == "telephone":
            return telephone(wav, rate)
        if family == "level":
            return wav * 10 ** (params["gain_db"] / 20)
        if family == "clipping":
            peak = float(wav.abs().max()) * params["fraction"]
            return wav.clamp(-peak, peak)
        if family == "speed":
            from speechbrain.augment.time_domain import SpeedPerturb

            perturb = SpeedPerturb(rate, speeds=[round(params["factor"] * 100)])
            return perturb(wav.unsqueeze(0))[0]
        if family == "dropped_frames":
            from speechbrain.augment.time_domain import DropChunk

            ms = rate // 1000
            drop = DropChunk(
                drop_length_low=20 * ms,
                drop_length_high=100 * ms,
                drop_count_low=params["count"],
                drop_count_high=params["count"],
            )
            state = torch.random.get_rng_state()
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=g)))
            try:
                return drop(wav.unsqueeze(0), torch.ones(1))[0]
            finally:
                torch.random.set_rng_state(state)
        raise ValueError(
            f"unknown perturbation {family!r}; use one of "
            f"{', '.join(DEFAULT_CONDITIONS)}, noise_folder, rir_folder"
        )

    def babble(self, n, params, generator):
        """A sum of ``talkers`` utterances of the pool, each at equal
        power, tiled to ``n`` samples."""
        if len(self.babble_pool) < 2:
            raise ValueError(
                "babble needs other utterances: the manifest has fewer than 2"
            )
        talkers = min(params.get("talkers", 4), len(self.babble_pool))
        picks = torch.randperm(len(self.babble_pool), generator=generator)
        total = torch.zeros(n)
        for index in picks[:talkers].tolist():
            voice = self.babble_pool[index]
            voice = voice.repeat(math.ceil(n / len(voice)))[:n]
            total += voice / max(math.sqrt(signal_power(voice)), 1e-8)
        return total


def _metric(task):
    if task == "classification":
        return "UA", unweighted_accuracy

    def mean_ccc(t, p):
        """Mean CCC over the columns."""
        return float(
            np.mean(
                [
                    concordance_correlation_coefficient(t[:, i], p[:, i])
                    for i in range(t.shape[1])
                ]
            )
        )

    return "CCC_mean", mean_ccc


def evaluate_robustness(
    recognizer,
    manifest,
    conditions=None,
    data_folder=None,
    noise_folder=None,
    rir_folder=None,
    seed=0,
    max_utterances=None,
    n_resamples=1000,
    speakers=False,
):
    """Metric of a recognizer on a manifest, clean and perturbed.

    Arguments
    ---------
    recognizer : EmotionRecognizer
        The model.
    manifest : str
        Labelled manifest (``emotion`` for classification models, A/V/D
        otherwise).
    conditions : dict, optional
        family -> [(severity label, params)]; default
        ``DEFAULT_CONDITIONS`` (plus ``noise_folder`` / ``rir_folder``
        when given).
    data_folder : str, optional
        Replaces ``{data_root}`` (default: the manifest folder's parent).
    noise_folder : str, optional
        Noise recordings mixed at each SNR.
    rir_folder : str, optional
        Room impulse responses.
    seed : int
        Seed of every perturbation.
    max_utterances : int, optional
        Evaluate only the first N utterances (sorted ids).
    n_resamples : int
        Bootstrap resamples.
    speakers : bool
        Resample speakers (manifest ``speaker``) in the bootstrap.

    Returns
    -------
    dict
        ``metric``, ``n``, ``clean`` and ``conditions`` (list of rows with
        ``family``, ``severity``, ``params``, the metric interval, ``drop``
        = condition - clean with its paired interval, and
        ``seconds_per_clip`` (wall) and ``cpu_seconds_per_clip`` (this
        process's CPU time)).

    Example
    -------
    >>> import json, tempfile, soundfile
    >>> from speechbrain_ser.inference import EmotionRecognizer
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> recognizer = EmotionRecognizer.from_hparams(source=tiny_model_folder())
    >>> root = tempfile.mkdtemp()
    >>> entries = {}
    >>> for i, label in enumerate(recognizer.labels):
    ...     soundfile.write(f"{root}/{i}.wav", np.random.randn(8000) / 9, 16000)
    ...     entries[str(i)] = {"wav": f"{root}/{i}.wav", "emotion": label}
    >>> _ = open(f"{root}/test.json", "w").write(json.dumps(entries))
    >>> report = evaluate_robustness(
    ...     recognizer,
    ...     f"{root}/test.json",
    ...     conditions={"level": [("+20 dB", {"gain_db": 20})]},
    ...     n_resamples=20,
    ... )
    >>> report["metric"], report["n"], report["conditions"][0]["severity"]
    ('UA', 4, '+20 dB')
    """
    entries = read_audio_manifest(manifest, data_folder)
    ids = sorted(entries)[:max_utterances]
    rate = recognizer.hparams.sample_rate
    task = "classification" if recognizer.task != "regression" else "regression"
    name, metric = _metric(task)
    if task == "classification":
        index = {label: i for i, label in enumerate(recognizer.labels)}
        targets = np.array([index[entries[u]["emotion"]] for u in ids])
    else:
        avd_range = recognizer.hparams.avd_range
        targets = np.array(
            [
                [normalize_avd(entries[u][k], avd_range) for k in AVD_NAMES]
                for u in ids
            ]
        )
    wavs = [read_audio(entries[u]["wav"], rate) for u in ids]
    conditions = dict(conditions or DEFAULT_CONDITIONS)
    if noise_folder:
        conditions["noise_folder"] = [(f"{s} dB", {"snr": s}) for s in SNRS]
    if rir_folder:
        conditions["rir_folder"] = [("recorded RIR", {})]
    perturber = Perturber(
        rate,
        babble_pool=wavs,
        noise_files=_audio_files(noise_folder),
        rir_files=_audio_files(rir_folder),
        seed=seed,
    )
    clusters = [entries[u].get("speaker") for u in ids] if speakers else None
    options = {"clusters": clusters, "n_resamples": n_resamples, "seed": seed}

    def predict(family, params):
        """Predictions under one condition and seconds per clip."""
        outputs, start, cpu = [], time.perf_counter(), time.process_time()
        for uid, wav in zip(ids, wavs):
            if family == "babble":  # the others' voices, not its own
                perturber.babble_pool = [w for w in wavs if w is not wav]
            x = perturber(family, params, wav, uid)
            with torch.no_grad():
                out = recognizer.predict_batch(x.unsqueeze(0))
            if task == "classification":
                outputs.append(int(out["probabilities"][0].argmax()))
            else:
                avd = out["avd"][0]
                outputs.append(
                    normalize_avd(avd, recognizer.hparams.avd_range).tolist()
                )
        perturber.babble_pool = wavs
        n = max(len(ids), 1)
        seconds = {
            "seconds_per_clip": (time.perf_counter() - start) / n,
            # this process's CPU time: the cost on a machine shared with
            # other jobs, where wall time also counts their share
            "cpu_seconds_per_clip": (time.process_time() - cpu) / n,
        }
        return np.array(outputs), seconds

    clean, clean_seconds = predict("clean", {})
    report = {
        "metric": name,
        "task": task,
        "n": len(ids),
        "seed": seed,
        "resampled": "speakers" if speakers else "utterances",
        "clean": {
            **bootstrap_interval(metric, [targets, clean], **options),
            **clean_seconds,
        },
        "conditions": [],
    }
    for family, severities in conditions.items():
        for severity, params in severities:
            predicted, seconds = predict(family, params)
            drop = paired_bootstrap(
                metric, targets, predicted, clean, **options
            )
            row = {
                "family": family,
                "severity": severity,
                "params": params,
                **bootstrap_interval(metric, [targets, predicted], **options),
                "drop": drop["difference"],
                "drop_low": drop["low"],
                "drop_high": drop["high"],
                "drop_p_value": drop["p_value"],
                **seconds,
            }
            report["conditions"].append(row)
            logger.info(
                f"{family} {severity}: {name} {row['estimate']:.3f} "
                f"(drop {row['drop']:+.3f}), "
                f"{seconds['cpu_seconds_per_clip']:.3f} CPU s per clip"
            )
    return report


def _audio_files(folder):
    if not folder:
        return []
    from speechbrain_ser.inference.corpus import expand_inputs

    files = expand_inputs([folder])
    if not files:
        raise ValueError(f"{folder}: no audio files")
    return files


def _cpu(row):
    """CPU seconds per clip of a row (wall seconds for older reports)."""
    return row.get("cpu_seconds_per_clip", row["seconds_per_clip"])


def robustness_markdown(report):
    """The report as a Markdown table.

    Arguments
    ---------
    report : dict
        :func:`evaluate_robustness` output.

    Returns
    -------
    str
        A sentence on the protocol and one row per condition.

    Example
    -------
    >>> row = {"estimate": 0.5, "low": 0.4, "high": 0.6}
    >>> report = {
    ...     "metric": "UA",
    ...     "n": 10,
    ...     "resampled": "utterances",
    ...     "clean": {**row, "seconds_per_clip": 0.01},
    ...     "conditions": [
    ...         {
    ...             "family": "level",
    ...             "severity": "+20 dB",
    ...             **row,
    ...             "drop": 0.0,
    ...             "drop_low": -0.1,
    ...             "drop_high": 0.1,
    ...             "drop_p_value": 1.0,
    ...             "seconds_per_clip": 0.02,
    ...         }
    ...     ],
    ... }
    >>> print(robustness_markdown(report).splitlines()[-1])
    | level | +20 dB | 0.500 [0.400, 0.600] | +0.000 [-0.100, +0.100] | 1.000 | 0.020 |
    """
    name = report["metric"]
    lines = [
        f"{name} on {report['n']} utterances, 95% bootstrap intervals "
        f"({report['resampled']} resampled); drop = condition - clean, "
        "paired on the same utterances.",
        "",
        f"| condition | severity | {name} [95% CI] | drop [95% CI] | p | "
        "CPU s per clip |",
        "|---|---|---|---|---|---|",
    ]
    c = report["clean"]
    lines.append(
        f"| clean | | {c['estimate']:.3f} [{c['low']:.3f}, {c['high']:.3f}] "
        f"| | | {_cpu(c):.3f} |"
    )
    for r in report["conditions"]:
        lines.append(
            f"| {r['family']} | {r['severity']} | {r['estimate']:.3f} "
            f"[{r['low']:.3f}, {r['high']:.3f}] | {r['drop']:+.3f} "
            f"[{r['drop_low']:+.3f}, {r['drop_high']:+.3f}] | "
            f"{r['drop_p_value']:.3f} | {_cpu(r):.3f} |"
        )
    return "\n".join(lines) + "\n"


def plot_robustness(report, path):
    """Metric against severity, one panel line per perturbation family.

    Arguments
    ---------
    report : dict
        :func:`evaluate_robustness` output.
    path : str
        PNG to write.

    Example
    -------
    >>> import os, tempfile
    >>> row = {"estimate": 0.5, "low": 0.4, "high": 0.6}
    >>> report = {
    ...     "metric": "UA",
    ...     "clean": row,
    ...     "conditions": [{"family": "speed", "severity": "x0.9", **row}],
    ... }
    >>> path = os.path.join(tempfile.mkdtemp(), "robustness.png")
    >>> plot_robustness(report, path)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(dict.fromkeys(r["family"] for r in report["conditions"]))
    fig, ax = plt.subplots(figsize=(7, 4))
    clean = report["clean"]["estimate"]
    for family in families:
        rows = [r for r in report["conditions"] if r["family"] == family]
        x = np.arange(len(rows) + 1)
        y = [clean] + [r["estimate"] for r in rows]
        low = [report["clean"]["low"]] + [r["low"] for r in rows]
        high = [report["clean"]["high"]] + [r["high"] for r in rows]
        ax.plot(x, y, "o-", label=family)
        ax.fill_between(x, low, high, alpha=0.1)
    ax.set_xlabel("severity step (0 = clean; see robustness.md)")
    ax.set_ylabel(report["metric"])
    ax.axhline(clean, color="k", linestyle=":", linewidth=0.8)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def select_conditions(names):
    """``DEFAULT_CONDITIONS`` restricted to the families in ``names``.

    Arguments
    ---------
    names : list of str or None
        Families; None or empty: all.

    Returns
    -------
    dict
        family -> severities.

    Example
    -------
    >>> list(select_conditions(["level", "speed"]))
    ['level', 'speed']
    """
    if not names:
        return dict(DEFAULT_CONDITIONS)
    unknown = [n for n in names if n not in DEFAULT_CONDITIONS]
    if unknown:
        raise ValueError(
            f"unknown conditions {unknown}; choose from "
            f"{', '.join(DEFAULT_CONDITIONS)}"
        )
    return {n: DEFAULT_CONDITIONS[n] for n in names}


def run(args):
    """Runs ``speechbrain-ser robustness`` and writes its report.

    Arguments
    ---------
    args : argparse.Namespace
        The command's options (see ``speechbrain-ser robustness --help``).

    Returns
    -------
    tuple
        (report dict, Markdown table, output folder).

    Example
    -------
    >>> run.__name__  # tests/unit/evaluation/test_robustness.py runs it
    'run'
    """
    import tempfile

    from speechbrain_ser.inference.recognizers import load_recognizer

    out = args.out or os.path.join(args.model, "robustness")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        recognizer = load_recognizer(
            args.model,
            savedir=args.savedir or tmp,
            run_opts={"device": args.device},
        )
        report = evaluate_robustness(
            recognizer,
            args.manifest,
            conditions=select_conditions(args.conditions),
            data_folder=args.data_folder,
            noise_folder=args.noise_folder,
            rir_folder=args.rir_folder,
            seed=args.seed,
            max_utterances=args.max_utterances,
            n_resamples=args.bootstrap_resamples,
            speakers=args.speakers,
        )
    report["model"] = args.model
    report["manifest"] = args.manifest
    write_json(report, os.path.join(out, "robustness.json"))
    table = robustness_markdown(report)
    with open(
        os.path.join(out, "robustness.md"), "w", encoding="utf-8"
    ) as fout:
        fout.write(table)
    plot_robustness(report, os.path.join(out, "robustness.png"))
    return report, table, out
