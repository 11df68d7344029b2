"""`gridops serve` writes access logs that an operator can read and share: paths and queries, no tokens."""

from __future__ import annotations

import http.client
import os
import subprocess
import time
import urllib.parse

import pytest

from gridops.access.users import add_user
from gridops.core.db import Database
from tests.incidents.test_stream import GRIDOPS, _port


@pytest.mark.parametrize("workers", [None, 2], ids=["werkzeug", "gunicorn"])
def test_an_open311_api_key_never_reaches_the_access_log(writable_demo_url, tmp_path, workers, backend):
    if workers and backend.name != "postgis":
        pytest.skip("gunicorn workers are the PostGIS deployment")
    db = Database(writable_demo_url)
    with db.session() as s:
        _, token = add_user(s, "第三方应用", "resident")
    db.dispose()
    port = _port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": writable_demo_url, "GRIDOPS_SWEEP_INTERVAL_SECONDS": "0"}
    args = [GRIDOPS, "serve", "--port", str(port)] + (["--workers", str(workers)] if workers else [])
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/open311/v2/requests.json?" + urllib.parse.urlencode(
                        {"api_key": token, "status": "open", "page_size": 3}))
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
            time.sleep(0.5)  # the access line is written after the answer
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text()
    assert "/open311/v2/requests.json" in text and "status=open" in text  # the line is there ...
    assert token not in text and "api_key=[redacted]" in text  # ... without the token
