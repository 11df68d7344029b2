"""Photos with a report or a resolution: checked by their bytes, stored by their hash.

A photo is judged by what it is, not what its name or header claims: the first
bytes must be JPEG, PNG, WebP or HEIC. Files are written under the instance
folder as photos/ab/<sha256>.<ext>, so the same photo sent twice is stored once.
Every photo is checked before anything is written, so a bad one refuses the
whole request and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gridops.core.errors import GridopsError, InvalidParameter


class PhotoTooLarge(GridopsError):
    slug = "payload-too-large"


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
        raise InvalidParameter(field, f"at most {max_count} photos per request; got {len(files)}.")
    photos = []
    for name, data in files:
        if len(data) > max_bytes:
            raise PhotoTooLarge(f"photo {name!r} is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.", field=field)
        if not data:
            raise InvalidParameter(field, f"photo {name!r} is empty.")
        kind = sniff(data)
        if kind is None:
            raise InvalidParameter(field, f"photo {name!r} is not a JPEG, PNG, WebP or HEIC image (judged by its content).")
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
