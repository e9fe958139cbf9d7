"""Eight bytes at a time: 64-bit words at any byte offset, and tests on their bytes.

A word is read little-endian, so its byte k is the byte at offset k. Byte
tests leave their answer in bit 7 of each byte ("flags"); the flags of a word
gather into one byte, whose lowest or highest set bit a table gives.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

U64 = np.uint64
POW10 = 10 ** np.arange(19, dtype=np.int64)
_HIGH = U64(0x8080808080808080)
_SEVEN = U64(0x7F7F7F7F7F7F7F7F)
LOW_NIBBLES = U64(0x0F0F0F0F0F0F0F0F)
_GATHER = U64(0x0102040810204080)
"""Times the flags moved to bit 0 of each byte, it puts byte k's flag at bit 56 + k:
every partial product lands on its own bit, so nothing carries."""
_LOWEST = np.array([8] + [(m & -m).bit_length() - 1 for m in range(1, 256)], dtype=np.int64)
_HIGHEST = np.array([-1] + [m.bit_length() - 1 for m in range(1, 256)], dtype=np.int64)
_KEEP_TOP = np.array([0] + [~((1 << 8 * (8 - n)) - 1) & 0xFFFFFFFFFFFFFFFF for n in range(1, 9)],
                     dtype=np.uint64)
"""The top n bytes of a word, for n = 0..8."""


def words(buffer: np.ndarray) -> np.ndarray:
    """``words(b)[i]`` = the little-endian 64-bit word of ``b[i:i+8]`` (a view, no copy)."""
    n = len(buffer) - 7
    return as_strided(buffer, shape=(n, 8), strides=(1, 1)).view("<u8")[:, 0]


def equal_bytes(word: np.ndarray, byte: int) -> np.ndarray:
    """Flags on exactly the bytes of ``word`` equal to ``byte``."""
    x = word ^ U64(byte * 0x0101010101010101)
    return ~(((x & _SEVEN) + _SEVEN) | x) & _HIGH


def non_digits(word: np.ndarray) -> np.ndarray:
    """Flags on the bytes that are not ASCII digits."""
    x = word ^ U64(0x3030303030303030)
    return (((x & _SEVEN) + U64(0x7676767676767676)) | x) & _HIGH  # >= 10 after the xor, or >= 0x80


def _gathered(flags: np.ndarray) -> np.ndarray:
    return (((flags >> U64(7)) * _GATHER) >> U64(56)).astype(np.intp)


def first_flagged(flags: np.ndarray) -> np.ndarray:
    """Index of the lowest flagged byte of each word, 8 when none is."""
    return _LOWEST[_gathered(flags)]


def last_flagged(flags: np.ndarray) -> np.ndarray:
    """Index of the highest flagged byte of each word, -1 when none is."""
    return _HIGHEST[_gathered(flags)]


def digits_from_top(word: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The number in the top ``count`` bytes (0..8) of each word, which are digits,
    the byte at the lowest offset most significant."""
    v = word & _KEEP_TOP[count] & LOW_NIBBLES  # the bytes below count as leading zeros
    v = (v * U64(10) + (v >> U64(8))) & U64(0x00FF00FF00FF00FF)
    v = (v * U64(100) + (v >> U64(16))) & U64(0x0000FFFF0000FFFF)
    v = (v * U64(10000) + (v >> U64(32))) & U64(0xFFFFFFFF)
    return v.astype(np.int64)


def digits_from_bottom(word: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The number in the bottom ``count`` bytes (0..8) of each word, which are digits."""
    shift = (U64(8) * (U64(8) - count.astype(np.uint64))) % U64(64)
    return digits_from_top(word << shift, count)
