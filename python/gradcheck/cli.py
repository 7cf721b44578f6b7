"""Runs the gradcheck CLI on a checkpoint and spec and returns its JSON report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Sequence


def run_check(checkpoint: str, model: str, *, mode: str, cli: Sequence[str] | None, error: type[Exception]) -> dict:
    """The report of `gradcheck check` (pass, warn or fail); any other outcome raises `error`
    with the CLI's own message (a bad file, a mismatch between checkpoint and spec)."""
    command = [*command_for(cli, error), "check", checkpoint, "--model", model, "--mode", mode, "--json", "--no-save"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode not in (0, 1):
        raise error(run.stderr.strip() or f"{' '.join(command)} exited {run.returncode}")
    return json.loads(run.stdout)


def command_for(cli: Sequence[str] | None, error: type[Exception]) -> list[str]:
    """`cli` if given, else $GRADCHECK_CLI, else `gradcheck` on the PATH, else this repository's build."""
    if cli:
        return list(cli)
    if os.environ.get("GRADCHECK_CLI"):
        return os.environ["GRADCHECK_CLI"].split()
    if shutil.which("gradcheck"):
        return ["gradcheck"]
    built = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps", "cli", "dist", "bin.js")
    if os.path.exists(built):
        return ["node", built]
    raise error("no gradcheck CLI found: install it, put it on the PATH, or set GRADCHECK_CLI to the command")
