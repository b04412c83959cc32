"""``sibkit serve STUDY`` refuses, in one line and before it listens, what would leave the workbench open or
broken: an address beyond this machine while the study has no accounts (``0.0.0.0``, ``::``, ``0``, a LAN
address) and a ``--coder`` name no decision can be stored under (every page of the queue was a 400)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sibkit.web.server import free_port


@pytest.fixture()
def study(tmp_path: Path, indigo_dir: Path) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(f"title: Serve\ndata: {indigo_dir}\n", encoding="utf-8")
    return path


def _serve(*args: str) -> tuple[int, str]:
    """``sibkit serve ARGS`` in its own process (a server that starts after all is stopped): status, stderr."""
    try:
        ran = subprocess.run([sys.executable, "-m", "sibkit", "serve", *args], capture_output=True, text=True,
                             timeout=90)
    except subprocess.TimeoutExpired as stopped:
        return -1, f"still serving: {stopped.stdout!r}"
    return ran.returncode, ran.stderr


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "0", "192.168.1.20"])
def test_serving_a_study_without_accounts_beyond_this_machine_is_refused(study: Path, host: str) -> None:
    port = free_port()
    code, err = _serve(str(study), "--host", host, "--port", str(port))
    assert code == 2 and "has no accounts, so it serves this machine only" in err, (code, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _free(port)


@pytest.mark.parametrize(("coder", "why"), [("x" * 81, "81 characters long; at most 80"),
                                            ("ann\x1b[31m", "control character")])
def test_a_coder_name_that_cannot_be_stored_is_refused_before_serving(study: Path, coder: str, why: str) -> None:
    port = free_port()
    code, err = _serve(str(study), "--port", str(port), "--coder", coder)
    assert code == 2 and why in err, (code, err)
    assert len(err.strip().splitlines()) == 1
    assert _free(port)
