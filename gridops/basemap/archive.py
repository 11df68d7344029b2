"""A tile archive the service serves itself (GRIDOPS_TILES=city.pmtiles or city.mbtiles): one file of raster
tiles prepared once for the city (e.g. cut from the surveying office's imagery), so the maps have a real base
layer on an intranet with no tile server at all.

Both formats are read here and handed to the pages as plain z/x/y tiles (/tiles/{z}/{x}/{y}), so the browser
needs nothing special; the .pmtiles file itself is also served whole with HTTP range requests for any client that
reads archives directly (QGIS, pmtiles.js). Vector archives (pbf/mvt) need a style to be drawn and are refused
with a reason rather than shown as an empty map.
"""

from __future__ import annotations

import gzip
import mmap
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from pmtiles.reader import Reader
from pmtiles.tile import Compression, MagicNumberNotFound, SpecVersionUnsupported, TileType

from gridops.core.errors import ConfigError

RASTER = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
_PMTILES_TYPES = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp", TileType.AVIF: "avif",
                  TileType.MVT: "pbf"}


class ArchiveUnusable(ConfigError):
    """GRIDOPS_TILES names a file that cannot serve the maps: missing, of another kind, or of vector tiles.
    Found when the app is created, so a service never starts with a base layer that would stay blank."""

    def __init__(self, path: str, why: str):
        super().__init__(f"GRIDOPS_TILES={path}: the tile archive cannot be used: {why}.")


@dataclass(frozen=True)
class TileArchive:
    path: Path
    kind: str  # "pmtiles" | "mbtiles"
    media_type: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north (WGS-84) when the file says
    attribution: str

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes as stored (PNG/JPEG/WebP), or None where the archive has none."""
        if not 0 <= z <= 30 or not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
            return None
        return _pmtiles_tile(self.path, z, x, y) if self.kind == "pmtiles" else _mbtiles_tile(self.path, z, x, y)


_lock = threading.Lock()
_maps: dict[Path, mmap.mmap] = {}
_local = threading.local()


def _mapped(path: Path) -> mmap.mmap:
    with _lock:
        if path not in _maps:
            with open(path, "rb") as fh:
                _maps[path] = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return _maps[path]


def _pmtiles_reader(path: Path) -> Reader:
    mapped = _mapped(path)
    return Reader(lambda offset, length: mapped[offset:offset + length])


def _pmtiles_tile(path: Path, z: int, x: int, y: int) -> bytes | None:
    reader = _pmtiles_reader(path)
    data = reader.get(z, x, y)
    if data is not None and reader.header()["tile_compression"] == Compression.GZIP:
        data = gzip.decompress(data)
    return data


def _mbtiles(path: Path) -> sqlite3.Connection:
    """One read-only connection per thread (sqlite3 connections stay in their thread)."""
    conns = getattr(_local, "mbtiles", None)
    if conns is None:
        conns = _local.mbtiles = {}
    if path not in conns:
        conns[path] = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=True)
    return conns[path]


def _mbtiles_tile(path: Path, z: int, x: int, y: int) -> bytes | None:
    # MBTiles rows are in TMS order: row 0 is the south edge
    row = _mbtiles(path).execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                 (z, x, 2 ** z - 1 - y)).fetchone()
    return bytes(row[0]) if row else None


def _bounds(raw: object) -> tuple[float, float, float, float] | None:
    try:
        west, south, east, north = (float(v) for v in str(raw).split(","))
    except (TypeError, ValueError):
        return None
    return west, south, east, north


def _open_pmtiles(path: Path) -> TileArchive:
    reader = _pmtiles_reader(path)
    try:
        header = reader.header()
    except (MagicNumberNotFound, SpecVersionUnsupported, ValueError, IndexError) as err:
        raise ArchiveUnusable(str(path), f"not a PMTiles v3 file ({err})") from err
    kind = _PMTILES_TYPES.get(header["tile_type"], "unknown")
    if kind not in RASTER:
        raise ArchiveUnusable(str(path), f"it holds {kind} tiles; gridops draws raster archives (png, jpg, webp)")
    try:
        attribution = str(reader.metadata().get("attribution") or "")
    except ValueError:
        attribution = ""
    bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7)
    return TileArchive(path, "pmtiles", RASTER[kind], header["min_zoom"], header["max_zoom"],
                       bounds if bounds[0] < bounds[2] else None, attribution)


def _open_mbtiles(path: Path) -> TileArchive:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            zooms = conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise ArchiveUnusable(str(path), f"not an MBTiles file ({err})") from err
    kind = str(meta.get("format") or "png").lower()
    if kind not in RASTER:
        raise ArchiveUnusable(str(path), f"it holds {kind} tiles; gridops draws raster archives (png, jpg, webp)")
    if zooms[0] is None:
        raise ArchiveUnusable(str(path), "it holds no tiles")
    return TileArchive(path, "mbtiles", RASTER[kind], int(meta.get("minzoom", zooms[0])), int(meta.get("maxzoom", zooms[1])),
                       _bounds(meta.get("bounds")), str(meta.get("attribution") or ""))


_opened: dict[str, TileArchive] = {}


def open_archive(path: str) -> TileArchive:
    """The archive GRIDOPS_TILES names, read once per process; ArchiveUnusable says why it cannot serve."""
    if path in _opened:
        return _opened[path]
    file = Path(path).expanduser()
    if not file.is_file():
        raise ArchiveUnusable(path, "no such file")
    suffix = file.suffix.lower()
    if suffix == ".pmtiles":
        archive = _open_pmtiles(file)
    elif suffix == ".mbtiles":
        archive = _open_mbtiles(file)
    else:
        raise ArchiveUnusable(path, "name a .pmtiles or .mbtiles file")
    _opened[path] = archive
    return archive
