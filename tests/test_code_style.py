"""The code follows the project's ruff configuration (check + format)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_ruff(*args):
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, ROOT],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_ruff_check():
    result = run_ruff("check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = run_ruff("format", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
