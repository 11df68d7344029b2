"""Photos with a report or a resolution: checked by their bytes, stored by their hash.

A photo is judged by what it is, not what its name or header claims: the first
bytes must be JPEG, PNG, WebP or HEIC. Files are written under the instance
folder as photos/ab/<sha256>.<ext>, so the same photo sent twice is stored once.
Every photo is checked before anything is written, so a bad one refuses the
whole request and leaves nothing behind.

Read back, a photo is served as it was sent (it is the evidence), and a thumbnail
for the lists is made once, on first request, and kept beside it under thumbs/. Its
EXIF says when and where it was taken, which a resolution's checks compare with the
incident (gridops.incidents.flags).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageOps, UnidentifiedImageError

from gridops.core.errors import GridopsError, InvalidParameter
from gridops.core.words import Say

THUMBNAIL_PX = 320  # the longest side of a thumbnail: a list's row on a phone, sharp on a 2x screen
# a thumbnail is not made of an image larger than this (pixels): what a phone camera makes fits well within,
# and a small file that declares a huge canvas (a decompression bomb) would otherwise cost its whole size in memory
MAX_DECODE_PIXELS = 64_000_000
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4


class PhotoTooLarge(GridopsError):
    slug = "payload-too-large"


class NoThumbnail(GridopsError):
    """A photo that no thumbnail can be made of (HEIC without a decoder, an image that does not decode):
    the original is still served."""

    slug = "no-thumbnail"


@dataclass(frozen=True)
class Photo:
    sha256: str
    content_type: str
    size: int
    data: bytes

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}[self.content_type]

    def relative_path(self) -> str:
        return f"photos/{self.sha256[:2]}/{self.sha256}.{self.extension}"


def sniff(data: bytes) -> str | None:
    """The image type the bytes are, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "image/heic"
    return None


def check_photos(files: list[tuple[str, bytes]], *, max_count: int, max_bytes: int, field: str = "photo") -> list[Photo]:
    """Every photo valid, or one clear error naming the first bad one."""
    if len(files) > max_count:
        raise InvalidParameter(field, Say("at most %(max_count)s photos per request; got %(n_files)s.",
                                          max_count=max_count, n_files=len(files)))
    photos = []
    for name, data in files:
        if len(data) > max_bytes:
            raise PhotoTooLarge(Say("photo %(name)r is %(n_data)s MB; the limit is %(max_bytes)s MB.",
                                    name=name, n_data=format(len(data) / 1e6, ".1f"), max_bytes=format(max_bytes / 1e6, ".0f")),
                                        field=field)
        if not data:
            raise InvalidParameter(field, Say("photo %(name)r is empty.", name=name))
        kind = sniff(data)
        if kind is None:
            raise InvalidParameter(field, Say("photo %(name)r is not a JPEG, PNG, WebP or HEIC image (judged by its content).",
                                              name=name))
        photos.append(Photo(hashlib.sha256(data).hexdigest(), kind, len(data), data))
    return photos


def store(photo: Photo, instance_path: str) -> tuple[str, bool]:
    """Write the photo if it is not there yet; (relative path, whether this call wrote it)."""
    target = Path(instance_path) / photo.relative_path()
    if target.exists():
        return photo.relative_path(), False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(photo.data)
    os.replace(tmp, target)  # whole file or none: a reader never sees half a photo
    return photo.relative_path(), True


def discard(paths: list[str], instance_path: str) -> None:
    """Remove files written by a request whose transaction then failed."""
    for rel in paths:
        try:
            (Path(instance_path) / rel).unlink()
        except FileNotFoundError:
            pass


@functools.cache
def _heif_decoder() -> bool:
    """Is a HEIC decoder installed (pillow-heif, the `heic` extra)? Registered with Pillow once, on first use."""
    try:
        import pillow_heif  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def thumbnail_unavailable(content_type: str) -> str | None:
    """Why no thumbnail can be made of photos of this type, or None when one can."""
    if content_type == "image/heic" and not _heif_decoder():
        return ("HEIC 照片无缩略图：服务器未安装 HEIC 解码器（pip install 'gridops[heic]'），请查看原图 / "
                "no thumbnail of a HEIC photo: no HEIC decoder is installed (pip install 'gridops[heic]'); open the original")
    return None


def thumbnail_path(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}-{THUMBNAIL_PX}.jpg"


def thumbnail(instance_path: str, photo_path: str, sha256: str, content_type: str) -> Path:
    """The photo's thumbnail file (JPEG, longest side THUMBNAIL_PX), made on first request and kept: a list
    of photos costs one decode per photo ever, not per view. Turned upright by its EXIF orientation, and
    carrying no EXIF (no position, no camera) — a thumbnail is for recognising, the original is the evidence."""
    target = Path(instance_path) / thumbnail_path(sha256)
    if target.exists():
        return target
    reason = thumbnail_unavailable(content_type)
    if reason:
        raise NoThumbnail(reason)
    try:
        small = _shrink(Path(instance_path) / photo_path)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError, SyntaxError) as err:
        raise NoThumbnail(f"无法为此照片生成缩略图（图像无法解码），请查看原图 / no thumbnail: the image does not decode ({err}); "
                          "open the original") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(small)
    os.replace(tmp, target)  # two requests making it at once each write a whole file; the last one stays
    return target


def _shrink(source: Path) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(source) as im:
            if im.width * im.height > MAX_DECODE_PIXELS:
                raise ValueError(f"{im.width}×{im.height} pixels is more than a thumbnail is made of")
            im.draft("RGB", (THUMBNAIL_PX, THUMBNAIL_PX))  # JPEG: decode at 1/2, 1/4 or 1/8 scale, far less work
            upright = ImageOps.exif_transpose(im)
            upright.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
            if upright.mode in ("RGBA", "LA", "P", "PA"):
                rgba = upright.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))  # transparency onto white: JPEG has none
                flat.paste(rgba, mask=rgba.getchannel("A"))
                upright = flat
            elif upright.mode != "RGB":
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, "JPEG", quality=82, optimize=True)
            return out.getvalue()


@dataclass(frozen=True)
class Taken:
    """When and where a photo says it was taken (its EXIF), each None when absent or unreadable."""

    at: datetime | None = None
    lon: float | None = None
    lat: float | None = None


def taken(data: bytes, tz: str) -> Taken:
    """The EXIF DateTimeOriginal (with OffsetTimeOriginal when present, else read as local time in `tz`)
    and GPS position of a photo. A photo without EXIF, or with EXIF that does not parse, says nothing —
    never an error: the checks it feeds flag, they do not refuse."""
    if sniff(data) == "image/heic" and not _heif_decoder():
        return Taken()
    try:
        with Image.open(io.BytesIO(data)) as im:
            exif = im.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # Pillow raises many kinds for a malformed file; none of them is the reporter's fault here
        return Taken()
    lon, lat = _gps(gps)
    return Taken(_when(sub.get(_DATETIME_ORIGINAL), sub.get(_OFFSET_TIME_ORIGINAL), tz), lon, lat)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) and value.strip("\x00 ") else None


def _when(raw: Any, offset: Any, tz: str) -> datetime | None:
    stamp, off = _text(raw), _text(offset)
    if stamp is None:
        return None
    try:
        local = datetime.strptime(stamp[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if off:
        try:
            sign = -1 if off.startswith("-") else 1
            hours, minutes = off.lstrip("+-").split(":")
            return local.replace(tzinfo=timezone(sign * timedelta(hours=int(hours), minutes=int(minutes))))
        except ValueError:
            pass  # an offset that does not parse: read it as local time, as a camera without one
    return local.replace(tzinfo=ZoneInfo(tz))


def _gps(gps: Any) -> tuple[float | None, float | None]:
    try:
        lat = _degrees(gps[_GPS_LAT], _text(gps.get(_GPS_LAT_REF)) or "N", "S")
        lon = _degrees(gps[_GPS_LON], _text(gps.get(_GPS_LON_REF)) or "E", "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):  # 0,0: a phone that had no fix
        return None, None
    return lon, lat


def _degrees(dms: Any, ref: str, negative: str) -> float:
    d, m, s = (float(v) for v in dms)
    value = d + m / 60 + s / 3600
    return -value if ref.upper().startswith(negative) else value
