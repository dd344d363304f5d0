"""Every YAML passes yamllint with SpeechBrain's configuration.

SpeechBrain runs yamllint as a pre-commit hook with the ``.yamllint.yaml``
kept at this repository's root (a copy of SpeechBrain's): errors fail,
warnings (long lines) are reported only.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
ROOT = os.path.abspath(ROOT)


def test_yamllint_has_no_errors():
    """``yamllint -c .yamllint.yaml .`` finds no error."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "yamllint",
            "--format",
            "parsable",
            "--config-file",
            os.path.join(ROOT, ".yamllint.yaml"),
            ".",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    errors = [line for line in result.stdout.splitlines() if "[error]" in line]
    assert not errors, "\n".join(errors)
    assert result.returncode == 0, result.stdout + result.stderr
