"""ONNX export of a trained emotion model, and an onnxruntime recognizer.

The exported graph takes ``wavs`` (batch, samples) at the model's sample
rate and ``wav_lens`` (batch,) relative lengths, and computes everything
the PyTorch recognizer does: features (filterbanks via ONNX's STFT, or
Whisper's log-mel), normalisation, encoder, pooling head and output
layers. Recurrent encoders (SA2SR's BiLSTM, CPC's GRU) become ONNX LSTM /
GRU operators that read each utterance of a padded batch to its own end
(``sequence_lens``; see :mod:`speechbrain_ser.nnet.recurrent`). Batch and
length axes are dynamic. Outputs: ``embeddings``, and
``probabilities`` and/or ``avd`` (on the corpus scale) by task.

    speechbrain-ser export --onnx --model results/demo/1986/inference
    speechbrain-ser predict --backend onnx --model ... audio/

Authors
 * speechbrain-ser developers 2026
"""

import torch

from speechbrain_ser.inference import EmotionRecognizer
from speechbrain_ser.nnet import recurrent  # noqa: F401 (the padded_rnn op)

# PyTorch's gate order -> ONNX's: LSTM (i, f, g, o) -> (i, o, f, c),
# GRU (r, z, n) -> (z, r, h)
ONNX_GATES = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}

OUTPUTS = {
    "classification": ("probabilities",),
    "regression": ("avd",),
    "both": ("probabilities", "avd"),
}


class ExportableEmotionModel(torch.nn.Module):
    """The recognizer's whole forward pass as one traceable module.

    Arguments
    ---------
    recognizer : EmotionRecognizer
        A loaded PyTorch recognizer (its modules are shared, not copied).

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> recognizer = EmotionRecognizer.from_hparams(
    ...     source=tiny_model_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> model = ExportableEmotionModel(recognizer)
    >>> [o.shape for o in model(torch.rand(2, 8000), torch.ones(2))]
    [torch.Size([2, 8]), torch.Size([2, 4]), torch.Size([2, 3])]
    """

    def __init__(self, recognizer):
        super().__init__()
        self.recognizer = recognizer
        self.output_names = ("embeddings",) + OUTPUTS[recognizer.task]

    def forward(self, wavs, wav_lens):
        """Embeddings, then probabilities and/or A/V/D."""
        embeddings = self.recognizer.encode_batch(wavs, wav_lens)
        outputs = self.recognizer.predict_embeddings(embeddings)
        return (embeddings,) + tuple(
            outputs[name] for name in OUTPUTS[self.recognizer.task]
        )


def padded_rnn_to_onnx(
    x, valid, weights, mode, num_layers, bidirectional, hidden_size
):
    """ONNX translation of ``speechbrain_ser::padded_rnn``: one ONNX LSTM
    or GRU per layer, with per-utterance ``sequence_lens``.

    Called by the exporter with ONNX Script values for the tensors.

    Arguments
    ---------
    x, valid, weights, mode, num_layers, bidirectional, hidden_size
        As for :func:`speechbrain_ser.nnet.recurrent.padded_rnn_op`.

    Returns
    -------
    onnxscript value
        (B, T, directions * hidden_size).

    Example
    -------
    >>> sorted(ONNX_GATES)  # used by export_onnx; tested end to end there
    ['GRU', 'LSTM']
    """
    from onnxscript import (
        INT32,
        opset18 as op,
    )

    gates = ONNX_GATES[mode]
    directions = 2 if bidirectional else 1

    def reorder(weight):
        """PyTorch's gate blocks in ONNX's order."""
        # Slice, not Split: the exporter folds single-output constants
        parts = [
            op.Slice(weight, [g * hidden_size], [(g + 1) * hidden_size], [0])
            for g in gates
        ]
        return op.Concat(*parts, axis=0)

    def stack(values):
        """One tensor per direction -> (directions, ...)."""
        values = [op.Unsqueeze(value, [0]) for value in values]
        return op.Concat(*values, axis=0) if directions > 1 else values[0]

    y = op.Transpose(x, perm=[1, 0, 2])  # time first
    sequence_lens = op.Cast(valid, to=INT32.dtype)
    for layer in range(num_layers):
        # w_ih, w_hh, b_ih, b_hh of each direction of this layer
        first = layer * directions * 4
        w_ih, w_hh, b_ih, b_hh = zip(
            *(
                weights[first + 4 * d : first + 4 * d + 4]
                for d in range(directions)
            )
        )
        inputs = (
            y,
            stack([reorder(w) for w in w_ih]),
            stack([reorder(w) for w in w_hh]),
            stack(
                [
                    op.Concat(reorder(bi), reorder(bh), axis=0)
                    for bi, bh in zip(b_ih, b_hh)
                ]
            ),
            sequence_lens,
        )
        direction = "bidirectional" if bidirectional else "forward"
        if mode == "LSTM":
            y = op.LSTM(*inputs, hidden_size=hidden_size, direction=direction)
        else:
            y = op.GRU(
                *inputs,
                hidden_size=hidden_size,
                direction=direction,
                linear_before_reset=1,  # PyTorch's GRU
            )
        # (T, directions, B, H) -> (T, B, directions * H)
        y = op.Transpose(y[0], perm=[0, 2, 1, 3])
        shape = op.Concat(
            op.Shape(y, start=0, end=2),
            op.Constant(value_ints=[directions * hidden_size]),
            axis=0,
        )
        y = op.Reshape(y, shape)
    return op.Transpose(y, perm=[1, 0, 2])


def stft_to_onnx(
    signal,
    n_fft,
    hop_length=None,
    win_length=None,
    window=None,
    normalized=False,
    onesided=None,
    return_complex=None,
):
    """ONNX translation of ``aten::stft`` as frames times a DFT matrix.

    onnxruntime computes its STFT / DFT operators by a direct O(n^2)
    transform when the size is not a power of two (400 points for 25 ms
    at 16 kHz), which cost more than the whole model; a MatMul with a
    constant (n_fft, 2 x bins) cosine / sine matrix runs on its GEMM
    kernels. Same output as the exporter's own translation: (B, bins,
    frames, 2), real and imaginary parts.

    Arguments
    ---------
    signal, n_fft, hop_length, win_length, window, normalized, onesided, return_complex
        As for ``torch.stft`` (the signal already centre-padded);
        ``normalized`` and two-sided spectra are not supported.

    Returns
    -------
    onnxscript value
        (B, bins, frames, 2).

    Example
    -------
    >>> stft_to_onnx.__name__  # used by export_onnx; tested end to end
    'stft_to_onnx'
    """
    import numpy
    from onnxscript import (
        INT64,
        ir,
        opset18 as op,
    )

    if normalized or onesided is False:
        raise ValueError("ONNX export: only one-sided, unnormalised STFTs")
    hop = hop_length or n_fft // 4
    bins = n_fft // 2 + 1
    phase = 2 * numpy.pi * numpy.outer(numpy.arange(n_fft), numpy.arange(bins))
    basis = numpy.concatenate(
        [numpy.cos(phase / n_fft), -numpy.sin(phase / n_fft)], axis=1
    ).astype(numpy.float32)

    # frame start indices, then (frames, n_fft) sample indices
    def ints(*values):
        """An int64 constant."""
        return op.Constant(value_ints=list(values))

    length = op.Shape(signal, start=-1)
    frames = op.Add(op.Div(op.Sub(length, ints(n_fft)), ints(hop)), ints(1))
    starts = op.Range(
        op.Constant(value_int=0),
        op.Squeeze(frames, ints(0)),
        op.Constant(value_int=1),
    )
    starts = op.Mul(starts, op.Constant(value_int=hop))
    index = op.Add(
        op.Unsqueeze(starts, [1]),
        op.Constant(value=ir.tensor(numpy.arange(n_fft, dtype=numpy.int64))),
    )
    framed = op.Gather(signal, op.Cast(index, to=INT64.dtype), axis=-1)
    if window is not None:
        n_win = window.shape[0]
        if n_win < n_fft:  # centred in n_fft, as torch.stft does
            left = (n_fft - n_win) // 2
            window = op.Pad(window, ints(left, n_fft - n_win - left))
        framed = op.Mul(framed, window)
    spectrum = op.MatMul(framed, op.Constant(value=ir.tensor(basis)))
    # (..., frames, 2 x bins) -> (..., bins, frames, 2)
    shape = op.Concat(
        op.Shape(spectrum, start=0, end=-1), ints(2, bins), axis=0
    )
    spectrum = op.Reshape(spectrum, shape)
    rank = len(signal.shape)
    perm = list(range(rank - 1)) + [rank + 1, rank - 1, rank]
    return op.Transpose(spectrum, perm=perm)


def export_onnx(recognizer, path, example_seconds=2.0, opset=18):
    """Writes the recognizer's model as ONNX with dynamic batch and length.

    Arguments
    ---------
    recognizer : EmotionRecognizer
        The loaded model (CPU).
    path : str
        Output ``.onnx`` file.
    example_seconds : float
        Length of the example input that is traced.
    opset : int
        ONNX opset (18 has the STFT operator filterbanks need).

    Returns
    -------
    str
        ``path``.

    Example
    -------
    >>> import os, tempfile
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> recognizer = EmotionRecognizer.from_hparams(
    ...     source=tiny_model_folder(), savedir=tempfile.mkdtemp()
    ... )
    >>> path = export_onnx(recognizer, tempfile.mktemp(suffix=".onnx"))
    >>> os.path.getsize(path) > 0
    True
    """
    import logging
    import warnings

    model = ExportableEmotionModel(recognizer).eval()
    rate = recognizer.hparams.sample_rate
    samples = int(example_seconds * rate)
    wavs = torch.randn(3, samples) * 0.1
    wav_lens = torch.tensor([1.0, 0.8, 0.6])
    batch = torch.export.Dim("batch")
    length = torch.export.Dim("samples", min=rate // 10)
    # the exporter warns about every torchvision operator it skips
    quiet = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # both inputs share the batch axis, which the exporter remarks on
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                model,
                (wavs, wav_lens),
                path,
                input_names=["wavs", "wav_lens"],
                output_names=list(model.output_names),
                dynamic_shapes={
                    "wavs": {0: batch, 1: length},
                    "wav_lens": {0: batch},
                },
                opset_version=opset,
                custom_translation_table={
                    torch.ops.speechbrain_ser.padded_rnn.default: (
                        padded_rnn_to_onnx
                    ),
                    torch.ops.aten.stft.default: stft_to_onnx,
                },
                dynamo=True,
                verbose=False,
            )
    finally:
        quiet.setLevel(level)
    return path


class OnnxEmotionRecognizer(EmotionRecognizer):
    """:class:`EmotionRecognizer` whose forward pass runs in onnxruntime.

    Loads like its parent (``from_hparams``) for the labels and settings,
    then :meth:`load_onnx` attaches the exported graph; ``predict_batch``,
    ``classify_file`` (long files chunked as usual) and corpus prediction
    then run the graph.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain_ser.tiny_models import tiny_model_folder
    >>> folder = tiny_model_folder()
    >>> torch_model = EmotionRecognizer.from_hparams(
    ...     source=folder, savedir=tempfile.mkdtemp()
    ... )
    >>> path = export_onnx(torch_model, f"{folder}/model.onnx")
    >>> onnx_model = OnnxEmotionRecognizer.from_hparams(
    ...     source=folder, savedir=tempfile.mkdtemp()
    ... ).load_onnx(path)
    >>> onnx_model.predict_batch(torch.rand(2, 12000))["avd"].shape
    torch.Size([2, 3])

    (tests/unit/test_onnx_export.py compares it with PyTorch's outputs.)
    """

    def load_onnx(self, path, threads=None):
        """Attaches an exported graph (see :func:`export_onnx`).

        Arguments
        ---------
        path : str
            The ``.onnx`` file.
        threads : int, optional
            onnxruntime intra-op threads (default: its own choice).

        Returns
        -------
        OnnxEmotionRecognizer
            ``self``.
        """
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
        self.output_names = [o.name for o in self.session.get_outputs()]
        return self

    def _run(self, wavs, wav_lens):
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0])
        values = self.session.run(
            None,
            {
                "wavs": wavs.detach().cpu().float().numpy(),
                "wav_lens": wav_lens.detach().cpu().float().numpy(),
            },
        )
        return {
            name: torch.from_numpy(value)
            for name, value in zip(self.output_names, values)
        }

    def encode_batch(self, wavs, wav_lens=None):
        """Utterance embeddings from the ONNX graph."""
        return self._run(wavs, wav_lens)["embeddings"]

    def predict_batch(self, wavs, wav_lens=None):
        """Probabilities and/or A/V/D from the ONNX graph."""
        outputs = self._run(wavs, wav_lens)
        outputs.pop("embeddings")
        return outputs
