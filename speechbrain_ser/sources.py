"""Model sources: a local folder or a Hugging Face Hub id.

Every ``source``-style argument of the package (Whisper and wav2vec
2.0 / HuBERT / WavLM encoders, text encoders and sentiment models, the
model folder of ``predict``) goes through :func:`resolve_source`: an
existing local folder is used as it is; anything else that reads as a Hub
id (``org/name``, optionally ``org/name@revision``) is fetched with
``huggingface_hub.snapshot_download`` into the Hub's own cache
(``HF_HUB_CACHE``, ``HF_HOME``) and its snapshot folder is used. With
``HF_HUB_OFFLINE=1`` nothing is downloaded: the snapshot already in the
cache is used, so a model fetched once loads on a machine without network
access, as SpeechBrain's and ``transformers``' own loaders do.

Authors
 * speechbrain-ser developers 2026
"""

import os

from speechbrain.utils.logger import get_logger

logger = get_logger(__name__)


def is_hub_id(source):
    """Whether ``source`` reads as a Hugging Face Hub id, not a path.

    Arguments
    ---------
    source : str
        A folder path or ``org/name`` (``@revision`` allowed).

    Returns
    -------
    bool
        False for absolute or relative paths (``/x``, ``./x``, ``~/x``,
        more than one ``/``) and for anything the Hub would refuse.

    Example
    -------
    >>> is_hub_id("openai/whisper-tiny.en"), is_hub_id("org/name@v1.0")
    (True, True)
    >>> is_hub_id("./models/whisper"), is_hub_id("/abs/folder")
    (False, False)
    >>> is_hub_id("results/demo/1986/inference")
    False
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    source = str(source)
    repo_id = source.split("@", 1)[0]
    if source.startswith(("/", ".", "~")):
        return False
    if repo_id.count("/") > 1 or not repo_id:
        return False
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return False
    return True


def resolve_source(source, allow_patterns=None):
    """A local folder for a local folder or a Hugging Face Hub id.

    Arguments
    ---------
    source : str
        An existing folder, or a Hub id ``org/name[@revision]``.
    allow_patterns : list of str, optional
        Only files matching these patterns are fetched (e.g.
        ``["*.json", "*.safetensors", "*.txt"]``); all by default.

    Returns
    -------
    str
        ``source`` itself when it is a folder, otherwise the snapshot
        folder of the Hub's cache
        (``<cache>/models--org--name/snapshots/<commit>``).

    Raises
    ------
    FileNotFoundError
        When ``source`` is neither a folder nor a Hub id, or the Hub id is
        not in the cache and cannot be downloaded (offline, no network,
        no such repository).

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> resolve_source(folder) == folder
    True
    >>> resolve_source("./no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: ./no/such/folder: no such folder (and not a Hugging Face Hub id such as openai/whisper-tiny.en)
    """
    source = os.fspath(source)
    if os.path.isdir(source):
        return source
    if not is_hub_id(source):
        raise FileNotFoundError(
            f"{source}: no such folder (and not a Hugging Face Hub id such "
            "as openai/whisper-tiny.en)"
        )
    from huggingface_hub import snapshot_download

    repo_id, _, revision = source.partition("@")
    try:
        folder = snapshot_download(
            repo_id, revision=revision or None, allow_patterns=allow_patterns
        )
    except Exception as error:  # offline, no network, gated, missing
        raise FileNotFoundError(
            f"{source}: not a local folder, and the Hugging Face Hub model "
            f"could not be fetched ({type(error).__name__}: "
            f"{' '.join(str(error).split())}). "
            "Offline (HF_HUB_OFFLINE=1) it must already be in the Hub "
            "cache (HF_HUB_CACHE / HF_HOME): fetch it once with network "
            "access, or give a local folder"
        ) from None
    logger.info(f"{source}: Hugging Face Hub snapshot {folder}")
    return folder
