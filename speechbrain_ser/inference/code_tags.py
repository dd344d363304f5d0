"""Model folders whose YAML holds PyYAML's ``!!python/`` tags are refused.

A model folder is code: its ``hyperparams.yaml`` runs Python through
HyperPyYAML's ``!new:``, ``!name:`` and ``!apply:`` tags, which name what
they run and which every exported folder uses. PyYAML's
``!!python/object/apply:os.system`` (and the other ``!!python/`` tags)
run arbitrary code as well, HyperPyYAML's loader accepts them, and an
exported folder never has one, so every loader of this package refuses a
YAML that holds one, before the YAML is loaded: the command line
(``speechbrain-ser predict``), :meth:`EmotionRecognizer.from_hparams
<speechbrain_ser.inference.recognizers.EmotionRecognizer.from_hparams>`
(and :func:`~speechbrain_ser.inference.recognizers.load_recognizer`), and
the ``custom_interface.py`` that ``speechbrain-ser export --hub`` writes
for SpeechBrain's ``foreign_class``. The tags are found on the YAML's
node tree (any spelling: ``!!python/...``, ``!<tag:yaml.org,2002:python/...>``
or a ``%TAG`` shorthand), in ``!include:``-d files too.

Authors
 * speechbrain-ser developers 2026
"""

import os
import re

# PyYAML's tags that construct Python objects (tag:yaml.org,2002:python/...)
PYTHON_TAG_PREFIX = "tag:yaml.org,2002:python/"
INCLUDE_TAG = "!include:"
# A Hugging Face Hub cache snapshot folder:
# <cache>/models--<org>--<name>/snapshots/<commit>
HUB_SNAPSHOT = re.compile(r"^(.*)/models--(.+?)--(.+)/snapshots/([^/]+)$")


class CodeTagError(ValueError):
    """A model folder's YAML holds a tag that runs arbitrary code.

    Example
    -------
    >>> issubclass(CodeTagError, ValueError)
    True
    """


def _nodes(node):
    """Every node of a composed YAML tree, ``node`` first."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node.value, list):
            for item in node.value:
                stack.extend(item if isinstance(item, tuple) else [item])


def _tags(path):
    """(line, tag) of every tagged node of a YAML file and of the files it
    ``!include:``-s (relative to its folder, as HyperPyYAML resolves them),
    or None when the YAML cannot be parsed."""
    import ruamel.yaml

    found, todo, seen = [], [os.path.abspath(path)], set()
    while todo:
        path = todo.pop()
        if path in seen or not os.path.isfile(path):
            continue
        seen.add(path)
        with open(path, encoding="utf-8") as fin:
            text = fin.read()
        try:
            root = ruamel.yaml.YAML(typ="rt").compose(text)
        except ruamel.yaml.YAMLError:
            return None
        if root is None:  # an empty file
            continue
        for node in _nodes(root):
            tag = str(getattr(node.tag, "value", node.tag))
            found.append((path, node.start_mark.line + 1, tag))
            if tag.startswith(INCLUDE_TAG):
                name = tag[len(INCLUDE_TAG) :]
                todo.append(os.path.join(os.path.dirname(path), name))
    return found


def code_tag_problem(path):
    """Why the YAML file ``path`` is refused, or None.

    Arguments
    ---------
    path : str
        A model folder's ``hyperparams.yaml``.

    Returns
    -------
    str or None
        One line naming the file, the line and the tag.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".yaml")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("lr: 0.1\\nmodel: !new:torch.nn.Linear [2, 3]\\n")
    >>> code_tag_problem(path) is None
    True
    >>> with open(path, "a") as fout:
    ...     _ = fout.write("x: !!python/object/apply:os.system ['ls']\\n")
    >>> print(code_tag_problem(path).split(": ", 1)[1])
    line 3: uses a !!python/ tag, which runs arbitrary code (!!python/object/apply:os.system); refused (an exported model never has one)
    """
    tags = _tags(path)
    if tags is None:  # not YAML: the loader says why; no tag, even so
        with open(path, encoding="utf-8", errors="replace") as fin:
            if "!!python/" not in fin.read():
                return None
        tags = [(os.path.abspath(path), "?", PYTHON_TAG_PREFIX)]
    for file, line, tag in tags:
        if tag.startswith(PYTHON_TAG_PREFIX):
            short = "!!" + tag[len("tag:yaml.org,2002:") :]
            return (
                f"{file}: line {line}: uses a !!python/ tag, which runs "
                f"arbitrary code ({short}); refused (an exported model never "
                "has one)"
            )
    return None


def refuse_code_tags(path):
    """Raises :class:`CodeTagError` when :func:`code_tag_problem` finds one.

    Arguments
    ---------
    path : str
        A model folder's ``hyperparams.yaml``.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".yaml")
    >>> with open(path, "w") as fout:
    ...     _ = fout.write("x: !!python/name:os.system\\n")
    >>> try:
    ...     refuse_code_tags(path)
    ... except CodeTagError as error:
    ...     print("code (!!python/name:os.system);" in str(error))
    True
    """
    problem = code_tag_problem(path)
    if problem:
        raise CodeTagError(problem)


def refuse_code_tags_beside(module_file, hparams_file="hyperparams.yaml"):
    """:func:`refuse_code_tags` for the YAML beside a model folder's
    ``custom_interface.py``, run when SpeechBrain's ``foreign_class``
    imports it (before it loads the YAML).

    ``foreign_class`` fetches the module first (a link in ``savedir``,
    when given, to the source folder or the Hub cache's snapshot). The
    YAML checked is the first found along that chain of links: in
    ``savedir`` (which ``foreign_class`` then loads), in the source folder,
    or, for a Hugging Face Hub repository, fetched into the same cache
    snapshot (what ``foreign_class`` does next anyway). Where it cannot be
    had, nothing is checked (``foreign_class`` then fails to fetch it).

    Arguments
    ---------
    module_file : str
        The ``__file__`` of ``custom_interface.py``.
    hparams_file : str
        The YAML's name in the folder.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(f"{folder}/hyperparams.yaml", "w") as fout:
    ...     _ = fout.write("x: !!python/object/new:os.system ['ls']\\n")
    >>> try:
    ...     refuse_code_tags_beside(f"{folder}/custom_interface.py")
    ... except CodeTagError as error:
    ...     print(str(error).startswith(f"{folder}/hyperparams.yaml: line 1"))
    True
    """
    path, seen = os.path.abspath(module_file), set()
    while path not in seen:  # savedir link -> source folder or Hub snapshot
        seen.add(path)
        folder = os.path.dirname(path)
        yaml = os.path.join(folder, hparams_file)
        if not os.path.isfile(yaml):
            yaml = _hub_snapshot_file(folder, hparams_file)
        if yaml is not None:
            refuse_code_tags(yaml)
            return
        if not os.path.islink(path):
            return
        path = os.path.normpath(os.path.join(folder, os.readlink(path)))


def _hub_snapshot_file(folder, filename):
    """``filename`` of the Hub repository whose cache snapshot is
    ``folder``, downloaded into that cache; None if it cannot be had."""
    match = HUB_SNAPSHOT.match(folder.replace(os.sep, "/"))
    if match is None:
        return None
    cache, org, name, commit = match.groups()
    try:
        from huggingface_hub import hf_hub_download

        return hf_hub_download(
            f"{org}/{name}", filename, revision=commit, cache_dir=cache
        )
    except Exception:  # offline, missing: foreign_class will say so
        return None
