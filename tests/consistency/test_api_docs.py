"""The API reference (docs/api, Sphinx with autodoc and napoleon) builds
from the docstrings with warnings as errors."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_api_reference_builds_without_warnings(tmp_path):
    out = tmp_path / "html"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q"),
            *("-b", "html", "-d", str(tmp_path / "doctrees")),
            *(os.path.join(ROOT, "docs", "api"), str(out)),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    # every package has its page, and each page documents its modules
    nnet = (out / "nnet.html").read_text()
    assert 'id="module-speechbrain_ser.nnet.pooling"' in nnet
    assert "Parameters" in nnet  # napoleon read the "Arguments" sections
