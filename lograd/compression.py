"""Compressed input: gzip and zstd files are read as their decompressed bytes (SPEC §1).

A file is compressed when its first bytes are a gzip or zstd magic number (the
name does not matter: rotated ``app.log.2.gz`` and a renamed one alike). Such a
file cannot be cut at byte offsets, so it is one chunk; offsets in samples count
decompressed bytes. gzip goes through ISA-L (``isal``, about 3.5 times zlib's
speed here, see the README's Performance section), zstd through ``zstandard``.
"""
from __future__ import annotations

from typing import BinaryIO

MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
HEAD = 4
"""Bytes read to tell a compressed file."""


def compression_of(head: bytes) -> str | None:
    """``gzip``, ``zstd`` or None (not compressed) from a file's first bytes."""
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def decompressed(f: BinaryIO, kind: str) -> BinaryIO:
    """A readable stream of ``f``'s decompressed bytes (``f`` positioned at its start)."""
    if kind == "gzip":
        from isal import igzip
        return igzip.IGzipFile(fileobj=f, mode="rb")
    import zstandard
    return zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True)


DAMAGE = (OSError, EOFError, ValueError)
"""What decompressors raise on damaged or truncated input (zlib and zstd errors included)."""


def damage_types() -> tuple[type[BaseException], ...]:
    """The exceptions a damaged compressed file raises while it is read."""
    import zstandard
    from isal import isal_zlib
    return (*DAMAGE, isal_zlib.error, zstandard.ZstdError)


def head_of(path: str, size: int) -> bytes:
    """The first ``size`` bytes of ``path`` as its lines are read (decompressed)."""
    with open(path, "rb") as f:
        kind = compression_of(f.read(HEAD))
        f.seek(0)
        if kind is None:
            return f.read(size)
        try:
            with decompressed(f, kind) as stream:
                return _read_up_to(stream, size)
        except damage_types():
            return b""


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)
