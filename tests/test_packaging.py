"""The wheel runs on its own: built from a clean copy of the checkout, installed with its dependencies into a
fresh venv, and served from a directory outside the checkout.

This proves the package data is complete (the language manifest, the pad or its placeholder page) and that
nothing at run time looks for the checkout. No Docker is needed: the server points at an engine that does not
exist, starts anyway, and /readyz says what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.packaging

# Build outputs and local state stay behind, as in a fresh clone (a stale build/ would leak into the wheel).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "artifacts"
)


@dataclass(frozen=True)
class Install:
    source: Path  # the copy the wheel was built from
    venv: Path
    elsewhere: Path  # a working directory with nothing of padbox in it

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def run(*command: str | Path, timeout: float) -> None:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Install:
    root = tmp_path_factory.mktemp("packaging")
    source, wheels, venv, elsewhere = root / "source", root / "wheels", root / "venv", root / "elsewhere"
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source, timeout=600)
    run(sys.executable, "-m", "venv", venv, timeout=120)
    (wheel,) = wheels.glob("padbox-*.whl")
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, timeout=900)
    elsewhere.mkdir()
    return Install(source, venv, elsewhere)


def get(url: str) -> tuple[int, bytes]:
    answer = httpx.get(url, timeout=10)
    return answer.status_code, answer.content


@contextmanager
def serving(install: Install, *command: str | Path) -> Iterator[str]:
    """A server started as an operator would, with only the venv's own files; yields its base URL."""
    port = free_port()
    env = {
        "PATH": f"{install.venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(install.elsewhere),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PADBOX_INSTANCE": f"pytest-packaging-{os.getpid()}",
        "PADBOX_POOL_SIZE": "0",
        "DOCKER_HOST": f"unix://{install.elsewhere / 'no-docker.sock'}",
    }
    log = install.elsewhere / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(c) for c in command], cwd=install.elsewhere, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"the server exited at start-up:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the server did not answer within 120 s:\n{log.read_text()}"
            try:
                if get(f"{url}/healthz")[0] == 200:
                    break
            except httpx.TransportError:  # not listening yet
                pass
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"the server did not stop within 30 s of SIGTERM:\n{log.read_text()}")


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Install) -> None:
    where = subprocess.run(
        [installed.python, "-c", "import padbox, padbox_agent; print(padbox.__file__, padbox_agent.__file__)"],
        cwd=installed.elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(path).is_relative_to(installed.venv) for path in where), where


def test_padbox_serve_answers_with_the_shipped_languages_and_the_pad(installed: Install) -> None:
    manifest = tomllib.loads((REPO / "runner-image" / "languages.toml").read_text())
    pad = installed.source / "server" / "padbox" / "web" / "pad" / "index.html"
    page = pad if pad.is_file() else installed.source / "server" / "padbox" / "web" / "placeholder.html"
    with serving(installed, installed.venv / "bin" / "padbox", "serve") as url:
        status, body = get(f"{url}/api/v1/languages")
        assert status == 200
        assert sorted(lang["id"] for lang in json.loads(body)) == sorted(manifest)
        assert get(f"{url}/") == (200, page.read_bytes())
        status, body = get(f"{url}/readyz")
        assert status == 503 and json.loads(body)["docker"] is False, "no engine here, and /readyz says so"


def test_python_m_padbox_serves_too(installed: Install) -> None:
    with serving(installed, installed.python, "-m", "padbox") as url:
        assert get(f"{url}/healthz") == (200, b"ok")


def test_the_wheel_carries_no_development_tools(installed: Install) -> None:
    """The local cluster and the raw pad client are padbox_dev's, beside tests/ and bench/, not the server's."""
    absent = subprocess.run(
        [
            installed.python,
            "-c",
            "import importlib.util as u; print([m for m in ('padbox_dev', 'padbox.cluster.local', 'padbox.pad_client')"
            " if u.find_spec(m) is not None])",
        ],
        cwd=installed.elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert absent == "[]", absent
