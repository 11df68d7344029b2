"""Answers gzipped for a browser that takes gzip: a grid worker's phone on one bar of signal (1.6 Mbps, bench/phone.py)
takes a third of the bytes, and the page shows its tasks a second sooner.

Text only (pages, scripts, styles, JSON and GeoJSON): photos and PNG tiles are compressed already. Static files are
compressed once per version of the file and kept in memory; the live feed (text/event-stream) and other answers
made as they are sent (a batch's CSV) go as they are, since gzip would hold their lines back. A proxy in front that
compresses by itself sees Content-Encoding set and leaves the answer alone.
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

COMPRESSIBLE = frozenset({
    "text/html", "text/css", "text/javascript", "application/javascript", "application/json", "application/geo+json",
    "application/problem+json", "application/manifest+json", "image/svg+xml", "text/plain",
})
MIN_BYTES = 1024  # below this the gzip header and a round trip's worth of CPU buy nothing
LEVEL = 6


@lru_cache(maxsize=256)
def _gzipped_file(path: str, mtime_ns: int, size: int) -> bytes:
    """A static file gzipped, once for each version of it (the key carries its time and size)."""
    with open(path, "rb") as fh:
        return gzip.compress(fh.read(), LEVEL, mtime=0)


def _static_path() -> str | None:
    folder = current_app.static_folder
    name = (request.view_args or {}).get("filename")
    return safe_join(folder, name) if folder and name else None


def compress(response: Response) -> Response:
    if (response.status_code != 200 or request.method == "HEAD" or response.mimetype not in COMPRESSIBLE
            or "Content-Encoding" in response.headers
            or "gzip" not in request.headers.get("Accept-Encoding", "").lower()):
        return response
    if response.direct_passthrough:  # a file sent as it is stored: only the static folder's are taken
        path = _static_path() if request.endpoint == "static" else None
        if path is None or not os.path.isfile(path):
            return response
        st = os.stat(path)
        if st.st_size < MIN_BYTES:
            return response
        body = _gzipped_file(path, st.st_mtime_ns, st.st_size)
        response.close()  # the file send_file opened
        response.direct_passthrough = False
        response.set_data(body)
    elif response.is_streamed:
        return response
    else:
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        response.set_data(gzip.compress(data, LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):  # the same content in another encoding: equal, not byte for byte
        response.headers["ETag"] = "W/" + etag
    return response


def install(app: Flask) -> None:
    app.after_request(compress)
