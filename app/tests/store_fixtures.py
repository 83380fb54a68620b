"""Pytest fixtures for the two stores: SQLite in a temporary folder, and Firestore through the
official client against the npm `@firestore-emulator/server` emulator, started here as a
subprocess on a free loopback port for the whole session.

Load with `pytest_plugins = ["store_fixtures"]` in tests/conftest.py. Fixtures:

- `firestore_emulator` (session): "127.0.0.1:PORT"; sets FIRESTORE_EMULATOR_HOST meanwhile.
- `store_backend` (parametrized sqlite | firestore): a `StoreBackend` with the environment the
  app reads (CHAT_STORE, CHAT_SQLITE_PATH or GOOGLE_CLOUD_PROJECT + FIRESTORE_EMULATOR_HOST) and
  `open()` to look at the same data from the test. Each test gets its own database (a file or a
  fresh emulator project), so tests never see each other's data.
- `store` (parametrized): a started store of that backend; `sqlite_store`, `firestore_store`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chatapp.store.base import Store
from chatapp.store.firestore import FirestoreStore
from chatapp.store.sqlite import SqliteStore

EMULATOR_DIR = Path(__file__).resolve().parent / "emulator"
EMULATOR_START_TIMEOUT_S = 30.0
BACKENDS = ("sqlite", "firestore")


def _install_emulator() -> None:
    if (EMULATOR_DIR / "node_modules" / "@firestore-emulator" / "server").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("the Firestore store tests need Node.js and npm: install them (Debian: apt-get install nodejs npm)")
    # `npm ci` installs exactly the committed package-lock.json
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=EMULATOR_DIR, check=True)


@dataclass
class Emulator:
    process: subprocess.Popen[str]
    host: str
    stderr: list[str] = field(default_factory=list)

    def _command(self, command: str) -> dict[str, object]:
        """Sends an outage command (server.cjs) and waits for the emulator's answer line."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(self.process.stdout.readline() if self.process.stdout else ""))
        reader.start()
        reader.join(EMULATOR_START_TIMEOUT_S)
        if not answer or not answer[0].strip():
            raise AssertionError(f"the emulator did not answer {command!r}: {''.join(self.stderr)[-500:]}")
        result: dict[str, object] = json.loads(answer[0])
        return result

    def down(self) -> None:
        """Stops serving: the port is closed and open connections dropped; the data is kept."""
        assert self._command("down") == {"down": True}

    def up(self) -> None:
        """Serves again on the same port, with the data it had."""
        address = self._command("up")
        assert f"{address['host']}:{address['port']}" == self.host, address

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def start_emulator() -> Emulator:
    """Starts the emulator on 127.0.0.1 with a port the OS picks, and waits until it listens."""
    _install_emulator()
    node = shutil.which("node")
    if node is None:
        pytest.fail("the Firestore store tests need Node.js: install it (Debian: apt-get install nodejs)")
    process = subprocess.Popen(
        [node, "server.cjs", "--host", "127.0.0.1", "--port", "0"],
        cwd=EMULATOR_DIR,
        stdin=subprocess.PIPE,  # the emulator exits when this closes, even if we are killed
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready: list[str] = []
    reader = threading.Thread(target=lambda: ready.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(EMULATOR_START_TIMEOUT_S)
    line = ready[0] if ready else ""
    try:
        address = json.loads(line)
        emulator = Emulator(process, f"{address['host']}:{address['port']}")
    except (ValueError, KeyError, TypeError):
        process.kill()
        _, err = process.communicate(timeout=5)
        pytest.fail(f"the Firestore emulator did not start within {EMULATOR_START_TIMEOUT_S:g}s: {line!r} {err}")
    # drain stderr so a chatty emulator never blocks on a full pipe; kept for failure reports
    threading.Thread(target=lambda: emulator.stderr.extend(process.stderr or []), daemon=True).start()
    return emulator


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[str]:
    emulator = start_emulator()
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    try:
        yield emulator.host
    finally:
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous
        emulator.stop()


@dataclass
class StoreBackend:
    kind: str
    env: dict[str, str]
    sqlite_path: str | None = None
    project: str | None = None

    def open(self, ttl_days: int | None = None) -> Store:
        """A new, not yet started store over this backend's data."""
        if self.kind == "sqlite":
            assert self.sqlite_path is not None
            return SqliteStore(self.sqlite_path, ttl_days=ttl_days)
        assert self.project is not None
        return FirestoreStore(project=self.project, database="(default)", ttl_days=ttl_days)


def make_backend(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    if kind == "sqlite":
        path = str(tmp_path / "chat.db")
        return StoreBackend("sqlite", {"CHAT_STORE": "sqlite", "CHAT_SQLITE_PATH": path}, sqlite_path=path)
    host = request.getfixturevalue("firestore_emulator")  # started only when a test needs it
    project = f"test-{uuid.uuid4().hex[:16]}"  # the emulator keeps each project's data apart
    env = {
        "CHAT_STORE": "firestore",
        "GOOGLE_CLOUD_PROJECT": project,
        "CHAT_FIRESTORE_DATABASE": "(default)",
        "FIRESTORE_EMULATOR_HOST": host,
    }
    return StoreBackend("firestore", env, project=project)


@pytest.fixture(params=BACKENDS)
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> StoreBackend:
    return make_backend(request.param, request, tmp_path)


@pytest.fixture
async def store(store_backend: StoreBackend) -> AsyncIterator[Store]:
    s = store_backend.open()
    await s.start()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def sqlite_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = make_backend("sqlite", request, tmp_path).open()
    await s.start()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def firestore_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = make_backend("firestore", request, tmp_path).open()
    await s.start()
    try:
        yield s
    finally:
        await s.close()
