"""Ready-to-use emotion recognition from a trained model folder.

A training run exports ``<output_folder>/inference/``: ``hyperparams.yaml``
(the model part of the training YAML, with its overrides, plus a
``pretrainer``), one ``<module>.ckpt`` per module and
``label_encoder.ckpt``. :class:`EmotionRecognizer` loads it the usual
SpeechBrain way::

    recognizer = EmotionRecognizer.from_hparams(source="results/.../inference")
    recognizer.classify_file("speech.flac")

Authors
 * speechbrain-ser developers 2026
"""

import io
import os

import ruamel.yaml
import torch
from hyperpyyaml import resolve_references
from speechbrain.inference.interfaces import Pretrained
from speechbrain.utils.checkpoints import DEFAULT_SAVE_HOOKS, get_default_hook

from speechbrain_ser.data.audio import AudioError, audio_info, read_audio
from speechbrain_ser.data.pipelines import denormalize_avd
from speechbrain_ser.metrics import AVD_NAMES

# Top-level keys of a training YAML that inference needs.
INFERENCE_KEYS = (
    "sample_rate",
    "task",
    "avd_range",
    "compute_features",
    "chunk_seconds",
    "modules",
)


def _strip_comments(node):
    """Removes ruamel round-trip comments, which land in odd places once
    keys are dropped."""
    if hasattr(node, "ca"):
        node.ca.items.clear()
        node.ca.comment = None
        node.ca.end = []
    if isinstance(node, dict):
        for value in node.values():
            _strip_comments(value)
    elif isinstance(node, list):
        for value in node:
            _strip_comments(value)


def export_inference_folder(
    hparams_file, overrides, modules, folder, label_encoder=None
):
    """Writes a folder that :class:`EmotionRecognizer` loads.

    Arguments
    ---------
    hparams_file : str
        The training YAML.
    overrides : dict or str
        The command-line overrides it was trained with.
    modules : dict
        name -> trained module (the YAML's ``modules``), saved with
        SpeechBrain's default checkpoint hooks.
    folder : str
        Output folder.
    label_encoder : CategoricalEncoder, optional
        The fitted label encoder (classification).

    Returns
    -------
    str
        ``folder``.

    Example
    -------
    >>> import tempfile
    >>> from hyperpyyaml import load_hyperpyyaml
    >>> training = os.path.join(tempfile.mkdtemp(), "train.yaml")
    >>> with open(training, "w") as fout:
    ...     _ = fout.write(TINY_MODEL_YAML)
    >>> with open(training) as fin:
    ...     modules = load_hyperpyyaml(fin)["modules"]
    >>> folder = export_inference_folder(
    ...     training, {}, modules, tempfile.mkdtemp()
    ... )
    >>> sorted(os.listdir(folder))  # doctest: +NORMALIZE_WHITESPACE
    ['avd_out.ckpt', 'emotion_out.ckpt', 'encoder.ckpt', 'head.ckpt',
     'hyperparams.yaml', 'mean_var_norm.ckpt']
    """
    os.makedirs(folder, exist_ok=True)
    with open(hparams_file, encoding="utf-8") as fin:
        resolved = resolve_references(fin, overrides).getvalue()
    yaml = ruamel.yaml.YAML()
    training = yaml.load(resolved)
    exported = ruamel.yaml.comments.CommentedMap(
        (key, training[key]) for key in INFERENCE_KEYS if key in training
    )
    _strip_comments(exported)
    names = list(exported["modules"])
    buffer = io.StringIO()
    yaml.dump(exported, buffer)
    lines = [buffer.getvalue()]
    if label_encoder is not None:
        lines.append(
            "label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder"
        )
    lines.append(
        "pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer\n"
        "  loadables:"
    )
    lines += [f"    {name}: !ref <modules[{name}]>" for name in names]
    if label_encoder is not None:
        lines.append("    label_encoder: !ref <label_encoder>")
    with open(os.path.join(folder, "hyperparams.yaml"), "w") as fout:
        fout.write("\n".join(lines) + "\n")
    objects = dict(modules)
    if label_encoder is not None:
        objects["label_encoder"] = label_encoder
    for name, obj in objects.items():
        get_default_hook(obj, DEFAULT_SAVE_HOOKS)(
            obj, os.path.join(folder, f"{name}.ckpt")
        )
    return folder


class EmotionRecognizer(Pretrained):
    """Predicts emotion classes and/or AVD from audio of any length.

    Long audio is cut into chunks of ``chunk_seconds`` (hparams, default
    20 s) that are encoded one batch at a time, so memory is bounded; the
    utterance embedding is the duration-weighted mean of the chunks'
    embeddings. Any sample rate and channel count is accepted (mixed to
    mono, resampled).

    Arguments
    ---------
    *args, **kwargs
        As for SpeechBrain's ``Pretrained`` (``modules``, ``hparams``,
        ``run_opts``...); use :meth:`from_hparams` on an exported folder.

    Example
    -------
    >>> import tempfile, numpy as np, soundfile
    >>> recognizer = EmotionRecognizer.from_hparams(
    ...     source=tiny_model_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> path = tempfile.mktemp(suffix=".wav")
    >>> soundfile.write(path, np.random.randn(8000, 2) * 0.1, 8000)
    >>> result = recognizer.classify_file(path)
    >>> sorted(result)
    ['activation', 'dominance', 'emotion', 'file', 'probabilities', 'valence']
    """

    MODULES_NEEDED = ["encoder", "head"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.task = self.hparams.task
        self.chunk_seconds = getattr(self.hparams, "chunk_seconds", 20.0)

    @property
    def labels(self):
        """Class names in output order (classification models)."""
        encoder = self.hparams.label_encoder
        return encoder.decode_ndim(list(range(len(encoder))))

    def encode_batch(self, wavs, wav_lens=None):
        """Utterance embeddings of a batch of 16 kHz mono waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, samples) waveforms at the model's sample rate.
        wav_lens : torch.Tensor, optional
            (B,) relative lengths.

        Returns
        -------
        torch.Tensor
            (B, E) embeddings.
        """
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0], device=self.device)
        wavs, wav_lens = wavs.to(self.device).float(), wav_lens.to(self.device)
        x = wavs
        if hasattr(self.hparams, "compute_features"):
            x = self.hparams.compute_features(x)
        if hasattr(self.mods, "mean_var_norm"):
            x = self.mods.mean_var_norm(x, wav_lens)
        return self.mods.head(self.mods.encoder(x, wav_lens), wav_lens)

    def predict_embeddings(self, embeddings):
        """Class probabilities and AVD from utterance embeddings.

        Returns
        -------
        dict
            ``probabilities`` (B, C) and/or ``avd`` (B, 3) on the corpus
            scale (``avd_range``).
        """
        outputs = {}
        if self.task in ("classification", "both"):
            logits = self.mods.emotion_out(embeddings)
            outputs["probabilities"] = torch.softmax(logits, dim=-1)
        if self.task in ("regression", "both"):
            avd = self.mods.avd_out(embeddings)
            outputs["avd"] = denormalize_avd(avd, self.hparams.avd_range)
        return outputs

    def predict_batch(self, wavs, wav_lens=None):
        """Predictions for a padded batch of waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, samples) at the model's sample rate, mono.
        wav_lens : torch.Tensor, optional
            (B,) relative lengths.

        Returns
        -------
        dict
            ``probabilities`` (B, C) and/or ``avd`` (B, 3).
        """
        with torch.no_grad():
            return self.predict_embeddings(self.encode_batch(wavs, wav_lens))

    def classify_file(self, path):
        """Predicts one audio file of any length, rate and channel count.

        Arguments
        ---------
        path : str
            Audio file.

        Returns
        -------
        dict
            ``file``; ``emotion`` and ``probabilities`` (label -> p) for
            classification models; ``activation``, ``valence``,
            ``dominance`` for regression models.
        """
        duration, file_rate, _ = audio_info(path)
        chunk = max(1, int(self.chunk_seconds * file_rate))
        total = int(round(duration * file_rate))
        weighted, weight = 0.0, 0
        with torch.no_grad():
            for start in range(0, total, chunk):
                wav = read_audio(
                    path, self.hparams.sample_rate, start, start + chunk
                )
                if wav.numel() < self.hparams.sample_rate // 100:
                    continue  # a sliver shorter than one feature frame
                embedding = self.encode_batch(wav.unsqueeze(0))[0]
                weighted = weighted + embedding * wav.numel()
                weight += wav.numel()
        if weight == 0:
            raise AudioError(f"{path}: too short to analyse ({duration} s)")
        outputs = self.predict_embeddings((weighted / weight).unsqueeze(0))
        result = {"file": path}
        if "probabilities" in outputs:
            probabilities = outputs["probabilities"][0]
            result["emotion"] = self.labels[int(probabilities.argmax())]
            result["probabilities"] = dict(
                zip(self.labels, probabilities.tolist())
            )
        if "avd" in outputs:
            result.update(zip(AVD_NAMES, outputs["avd"][0].tolist()))
        return result

    def forward(self, wavs, wav_lens=None):
        """Same as :meth:`predict_batch`."""
        return self.predict_batch(wavs, wav_lens)


def tiny_model_folder():
    """Exports a tiny untrained demo-style model to a temporary folder.

    For doctests and tests: the same YAML layout as ``hparams/demo.yaml``
    with small sizes.

    Returns
    -------
    str
        The inference folder.

    Example
    -------
    >>> folder = tiny_model_folder()
    >>> sorted(os.listdir(folder))[-3:]
    ['hyperparams.yaml', 'label_encoder.ckpt', 'mean_var_norm.ckpt']
    """
    import tempfile

    from hyperpyyaml import load_hyperpyyaml
    from speechbrain.dataio.encoder import CategoricalEncoder

    folder = tempfile.mkdtemp()
    yaml_path = os.path.join(folder, "train.yaml")
    with open(yaml_path, "w") as fout:
        fout.write(TINY_MODEL_YAML)
    with open(yaml_path) as fin:
        hparams = load_hyperpyyaml(fin)
    encoder = CategoricalEncoder()
    encoder.update_from_iterable(["angry", "happy", "neutral", "sad"])
    return export_inference_folder(
        yaml_path,
        {},
        hparams["modules"],
        os.path.join(folder, "inference"),
        label_encoder=encoder,
    )


TINY_MODEL_YAML = """
sample_rate: 16000
task: both
avd_range: [1, 5]
compute_features: !new:speechbrain.lobes.features.Fbank
    n_mels: 20
encoder: !new:speechbrain_ser.nnet.encoders.ConvEncoder
    input_size: 20
    channels: 8
    n_layers: 1
head: !new:speechbrain_ser.nnet.heads.StatsPoolingMLP
    input_size: 8
    hidden_size: 8
modules:
    mean_var_norm: !new:speechbrain.processing.features.InputNormalization
        norm_type: sentence
    encoder: !ref <encoder>
    head: !ref <head>
    emotion_out: !new:torch.nn.Linear [8, 4]
    avd_out: !new:torch.nn.Linear [8, 3]
"""
