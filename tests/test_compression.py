"""gzip and zstd files read as their decompressed bytes (SPEC §1 "Further formats")."""
import gzip
import os

import pytest
import zstandard

from lograd.compression import compression_of
from lograd.inputs import detect, expand
from lograd.reader import ChunkUnreadable, summarise_chunk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPRESS = {"gz": gzip.compress, "zst": lambda data: zstandard.ZstdCompressor().compress(data)}


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
@pytest.mark.parametrize("sample, fmt", [("test_vectors/logs/malformed.log", "app"),
                                         ("test_vectors/formats/log4j.log", "text")])
def test_a_compressed_file_reads_as_the_plain_one(tmp_path, suffix, sample, fmt):
    plain = os.path.join(ROOT, sample)
    data = open(plain, "rb").read()
    packed = tmp_path / f"x.{suffix}"
    packed.write_bytes(COMPRESS[suffix](data))
    assert detect(str(packed)).format == detect(plain).format == fmt
    [found], _ = expand([str(packed)])
    assert found.compression == {"gz": "gzip", "zst": "zstd"}[suffix]
    read = summarise_chunk(str(packed), 0, found.size, fmt=fmt, block_size=4096)
    assert read == summarise_chunk(plain, 0, len(data), fmt=fmt, block_size=4096)


def test_compression_is_told_by_magic_not_name(tmp_path):
    assert compression_of(gzip.compress(b"x")) == "gzip"
    assert compression_of(b"2024-01-24 10:15:32 INFO x") is None
    renamed = tmp_path / "app.log"
    renamed.write_bytes(gzip.compress(b"2024-01-24 10:15:32.000 INFO in 5ms\n"))
    assert summarise_chunk(str(renamed), 0, renamed.stat().st_size).entries == 1


def test_a_compressed_file_is_one_chunk(tmp_path):
    packed = tmp_path / "x.gz"
    packed.write_bytes(gzip.compress(b"2024-01-24 10:15:32.000 INFO x\n" * 100))
    with pytest.raises(ChunkUnreadable, match="one chunk"):
        summarise_chunk(str(packed), 10, 20)
