"""Models from URLs: ``scorewell.load("https://…")`` fetches, caches and revalidates by ETag,
and a ``sha256`` pin (argument or ``#sha256=`` in the URL) is checked before parsing.

The server is a local ``http.server`` that sends ETags and answers ``If-None-Match``.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import scorewell

ROOT = Path(__file__).resolve().parents[2]
MODEL = (ROOT / "examples/fraud/model.json").read_bytes()


class _Models(http.server.BaseHTTPRequestHandler):
    objects: dict[str, bytes] = {}
    full_bodies = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.objects.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        type(self).full_bodies += 1
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SCOREWELL_CACHE_DIR", str(tmp_path / "cache"))
    _Models.objects = {"/m/model.json": MODEL}
    _Models.full_bodies = 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _rows() -> pa.Table:
    return pa.table(
        {
            "amount": [5.88, 45.99],
            "hour": [1.0, 0.0],
            "account_age_days": [2185.0, 1273.0],
            "n_tx_24h": [2.0, 4.0],
            "merchant_risk": [0.06, 0.1],
            "country_index": [0.0, 1.0],
            "channel_index": [0.0, 1.0],
        }
    )


def test_a_url_scores_like_the_local_file_and_is_revalidated(server: str) -> None:
    local = scorewell.load(ROOT / "examples/fraud/model.json")
    remote = scorewell.load(f"{server}/m/model.json")
    assert remote.digest == local.digest
    rows = _rows().select(local.inputs)
    assert remote.score(rows).equals(local.score(rows))
    scorewell.load(f"{server}/m/model.json")
    assert _Models.full_bodies == 1, "the second load is a 304, not a second download"


def test_pins_are_checked_before_parsing(server: str) -> None:
    digest = hashlib.sha256(MODEL).hexdigest()
    scorewell.load(f"{server}/m/model.json", sha256=digest)
    scorewell.load(f"{server}/m/model.json#sha256={digest.upper()}")
    with pytest.raises(scorewell.ModelLoadError, match="sha256 mismatch"):
        scorewell.load(f"{server}/m/model.json", sha256="0" * 64)
    with pytest.raises(scorewell.ModelLoadError, match=r"/m/absent.json: not found"):
        scorewell.load(f"{server}/m/absent.json")
    with pytest.raises(TypeError, match="sha256= pins a path or URL"):
        scorewell.load(MODEL, sha256=digest)
