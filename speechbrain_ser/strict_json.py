"""Strict JSON output: NaN and infinities become ``null`` with a reason.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which other
JSON readers reject. :func:`write_json` replaces every non-finite number
by ``null`` and lists where and why under the key ``null_reasons``.

Authors
 * speechbrain-ser developers 2026
"""

import json
import math
import os

REASON = (
    "undefined (NaN or infinite), e.g. a metric of a single class or of "
    "constant values"
)


def strict(obj, reasons=None, where=""):
    """A copy of ``obj`` with non-finite floats replaced by None.

    Arguments
    ---------
    obj : object
        JSON-like data (dicts, lists, numbers, strings; numpy scalars and
        arrays via ``tolist``).
    reasons : dict, optional
        Filled with ``dotted.key -> reason`` for each replaced value.
    where : str
        The key path of ``obj`` (for ``reasons``).

    Returns
    -------
    object

    Example
    -------
    >>> reasons = {}
    >>> strict({"CCC": {"valence": float("nan")}, "UA": 0.5}, reasons)
    {'CCC': {'valence': None}, 'UA': 0.5}
    >>> list(reasons)
    ['CCC.valence']
    """
    if hasattr(obj, "tolist"):  # numpy / torch scalars and arrays
        obj = obj.tolist()
    if isinstance(obj, dict):
        return {
            key: strict(value, reasons, f"{where}.{key}" if where else key)
            for key, value in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [
            strict(value, reasons, f"{where}[{i}]")
            for i, value in enumerate(obj)
        ]
    if isinstance(obj, float) and not math.isfinite(obj):
        if reasons is not None:
            reasons[where] = f"{obj} is {REASON}"
        return None
    return obj


def dumps(obj, **kwargs):
    """``json.dumps`` of :func:`strict` ``(obj)``; never writes NaN.

    Arguments
    ---------
    obj : object
        JSON-like data.
    **kwargs : dict
        Passed on to ``json.dumps`` (e.g. ``indent``).

    Returns
    -------
    str
        Strict JSON text (non-finite floats written as ``null``).

    Example
    -------
    >>> dumps({"p": float("inf")})
    '{"p": null}'
    """
    return json.dumps(strict(obj), allow_nan=False, **kwargs)


def write_json(obj, path, indent=2):
    """Writes ``obj`` as strict JSON; a dict gets ``null_reasons`` if any
    value was replaced.

    Arguments
    ---------
    obj : object
        JSON-like data.
    path : str
        Output file (its folder is created).
    indent : int
        JSON indentation.

    Example
    -------
    >>> import tempfile
    >>> path = tempfile.mktemp(suffix=".json")
    >>> write_json({"ROC_AUC": float("nan")}, path)
    >>> json.load(open(path))["null_reasons"]["ROC_AUC"][:3]
    'nan'
    """
    reasons = {}
    cleaned = strict(obj, reasons)
    if reasons and isinstance(cleaned, dict):
        cleaned["null_reasons"] = reasons
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fout:
        json.dump(cleaned, fout, indent=indent, allow_nan=False)
