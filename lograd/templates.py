"""Message templates (issue #17): the variable parts of a message masked, so that lines saying
the same thing with other numbers, addresses or ids fall into one group.

    Timeout after 3001 ms calling 10.0.0.7:5432   ->   Timeout after <*> ms calling <*>

A template depends only on its message (no state, no order of arrival, unlike Drain's
clusters), so partials of any chunking can count templates and merge them exactly.

The rules, in order (``<*>`` stands for a masked value), applied to a message's first
:data:`MESSAGE_BYTES` bytes (the compiled scanner applies them too, byte for byte):

1. quoted values (``"..."``, ``'...'``) become ``"<*>"`` / ``'<*>'``;
2. the message is cut into tokens at white space; each token's leading and trailing
   punctuation (brackets, parentheses, quotes, ``,;:.!?``) is kept as it is and its core
   is decided;
3. ``key=value`` (and ``key:value``) keeps the key: ``key=<*>``; but ``host:port`` (a port
   of digits after a colon) is an address, all ``<*>``;
4. a core that is an e-mail address, a URL or path holding a digit, a UUID, a hex id
   (``0x...``, or eight or more hex digits with a digit among them), an IPv4 or IPv6
   address (with a port or not), a date or time, or a number with or without a unit
   (``3001ms``, ``12.5%``, ``1024MB``) — in short, any core holding a digit — is ``<*>``;
5. everything else is kept; tokens are joined by single spaces.
"""
from __future__ import annotations

import re

VARIABLE = "<*>"
MESSAGE_BYTES = 1024
"""A template is made of a message's first 1,024 bytes: what says which error it is comes
first, the tail of a long message (a dump, a JSON body) is values; and a template's size,
and so the memory of a table of them, stays bounded."""
_MASK = b"<*>"
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', re.S)
_EDGE = b"()[]{}<>\"',;:.!?"
_KEY = re.compile(rb"([A-Za-z_][A-Za-z0-9_.\-]*)([=:])(.+)", re.S)
_QUOTED_MARK = b"\x00"  # a quoted value once masked (no message holds a NUL and keeps it)


def template_of(message: bytes) -> str:
    """The template of a message (see the module docstring): a str, the message decoded as
    UTF-8 with replacement characters, its variable parts written ``<*>``."""
    return template_bytes(message).decode("utf-8", "replace")


def template_bytes(message: bytes) -> bytes:
    """The template of a message as bytes: what the compiled scanner computes, byte for byte
    (:func:`template_of` decodes it)."""
    message = message[:MESSAGE_BYTES].replace(_QUOTED_MARK, b"?")
    masked = _QUOTED.sub(lambda m: m[0][:1] + _QUOTED_MARK + m[0][:1], message)
    return b" ".join(_token(t) for t in masked.split()).replace(_QUOTED_MARK, _MASK)


def _token(token: bytes) -> bytes:
    bare = token.rstrip(b",;.!?")
    if bare.count(b":") >= 2 and _IPV6.fullmatch(bare):  # [2001:db8::1]:443, fe80::1: brackets and all
        return _MASK + token[len(bare):]
    start, end = 0, len(token)
    while start < end and token[start] in _EDGE:
        start += 1
    while end > start and token[end - 1] in _EDGE:
        end -= 1
    head, core, tail = token[:start], token[start:end], token[end:]
    if core:
        keyed = _KEY.fullmatch(core)
        if keyed is not None and keyed[2] == b":" and keyed[3].isdigit():  # host:port is an address
            core = _MASK
        elif keyed is not None:
            core = keyed[1] + keyed[2] + (_MASK if _variable(keyed[3]) else keyed[3])
        elif _variable(core):
            core = _MASK
    return head + core + tail


_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(rb"0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_EMAIL = re.compile(rb"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_IPV6 = re.compile(rb"\[?[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*\]?(?::\d+)?")


def _variable(core: bytes) -> bool:
    """Whether a token's core is a value (rule 4)."""
    if any(48 <= c <= 57 for c in core):  # numbers, dates, addresses, ids, paths with digits
        return True
    return bool(_UUID.fullmatch(core) or _HEX.fullmatch(core) or _EMAIL.fullmatch(core))
