"""Turning the user's paths (files, directories, quoted globs) into input files."""
from __future__ import annotations

import glob
import os
import stat

import msgspec

from .compression import HEAD, compression_of, head_of

_GLOB_CHARS = set("*?[")
SNIFF = 64 << 10
"""Bytes read from the start of a file to decide its format (SPEC §1)."""
NO_FILES = "no regular files in this directory"
"""Why a directory given by the user is read as nothing."""


class InputFile(msgspec.Struct, frozen=True):
    """A regular file to analyse, with its size when the job was planned."""

    path: str
    size: int
    compression: str | None = None
    """gzip or zstd when the file is compressed (then it is one chunk)."""


class Unreadable(msgspec.Struct, frozen=True):
    """A path that could not be analysed, and why, in the user's words."""

    path: str
    reason: str


def unreadable_rows(unreadable: list[Unreadable]) -> list[dict]:
    """The report's ``unreadable_files``."""
    return [{"file": u.path, "reason": u.reason} for u in unreadable]


def expand(paths: list[str]) -> tuple[list[InputFile], list[Unreadable]]:
    """Files in the order given: a directory gives its regular files (sorted, not
    recursive), a glob its sorted matches. A file named twice is read once."""
    found: list[InputFile] = []
    problems: list[Unreadable] = []
    seen: set[str] = set()

    def add(path: str, from_listing: bool) -> None:
        try:
            info = os.stat(path)
        except OSError as exc:
            problems.append(Unreadable(path, exc.strerror or str(exc)))
            return
        if stat.S_ISDIR(info.st_mode):
            if from_listing:
                return  # not recursive
            try:
                names = sorted(os.listdir(path))
            except OSError as exc:
                problems.append(Unreadable(path, exc.strerror or str(exc)))
                return
            before = len(found), len(problems)
            for name in names:
                add(os.path.join(path, name), from_listing=True)
            if (len(found), len(problems)) == before:
                problems.append(Unreadable(path, NO_FILES))
            return
        if not stat.S_ISREG(info.st_mode):
            if not from_listing:
                problems.append(Unreadable(path, "not a regular file"))
            return
        key = os.path.realpath(path)
        if key in seen:
            return
        try:
            with open(path, "rb") as f:
                kind = compression_of(f.read(HEAD))
        except OSError as exc:
            problems.append(Unreadable(path, exc.strerror or str(exc)))
            return
        seen.add(key)
        found.append(InputFile(path, info.st_size, kind))

    for path in paths:
        if not os.path.lexists(path) and _GLOB_CHARS & set(path):
            matches = sorted(glob.glob(path))
            if not matches:
                problems.append(Unreadable(path, "no file matches this pattern"))
            for match in matches:
                add(match, from_listing=True)
        else:
            add(path, from_listing=False)
    return found, problems


class Detection(msgspec.Struct, frozen=True):
    """What ``--format auto`` decided for a file, from its first 64 KiB."""

    format: str
    share: float
    """Of the non-blank lines read, the share the chosen format parses as entries (0 when none)."""
    first_line: str
    """The file's first non-blank line, as a user reads it (cut to 120 characters)."""

    @property
    def known(self) -> bool:
        """Whether the chosen format parses at least half the lines read."""
        return self.share >= 0.5


def reference_ms(path: str) -> int:
    """The time that dates stamps without a year in ``path``: its modification time (ms)."""
    try:
        return int(os.stat(path).st_mtime * 1000)
    except OSError:
        return 0


_DETECTED: dict[tuple[str, int, int], Detection] = {}
"""What :func:`detect` found, by file, size and modification time: the command line asks
before it starts its workers, the job's plan again (at most _DETECTED_KEPT are kept)."""
_DETECTED_KEPT = 256


def detect(path: str) -> Detection:
    """:func:`detect_anew`, or what it found for the file as it is now."""
    try:
        info = os.stat(path)
    except OSError:
        return detect_anew(path)
    key = (path, info.st_size, info.st_mtime_ns)
    found = _DETECTED.get(key)
    if found is None:
        if len(_DETECTED) >= _DETECTED_KEPT:
            _DETECTED.clear()
        found = _DETECTED[key] = detect_anew(path)
    return found


def detect_anew(path: str) -> Detection:
    """The format that reads the most non-blank lines of the file's first 64 KiB (for
    ``text``, continuation lines after its first entry count as read).

    Ties go to the format registered first (app, conn, json, logfmt, syslog, cri,
    docker, text). A lenient format (``text``, which reads most app lines too) is chosen
    only when no strict one (all the others) reads at least half of the lines, so a
    file of the assessment's format keeps its strict reading. A wrapper's format names
    what it wraps (``cri+json``). app for an empty or unreadable file.
    """
    from .formats import WRAPPERS, formats
    lines = _first_lines(path)
    if not lines:
        return Detection("app", 0.0, "")
    reference = reference_ms(path)
    first = _shown(lines[0])
    best, score = _choose(list(formats().values()), lines, reference)
    name = best.name
    if name in WRAPPERS:  # a container runtime's lines: what do they wrap?
        inner = [w.content for w in map(best.unwrap, lines) if w is not None and w.content.strip(b" \t")]
        candidates = [f for f in formats().values() if f.entry_metrics and f.name not in WRAPPERS]
        found, inner_score = _choose(candidates, inner, reference) if inner else (None, 0)
        if found is not None and 2 * inner_score >= len(inner):
            name = f"{name}+{found.name}"
    return Detection(name, score / len(lines), first)


def _first_lines(path: str) -> list[bytes]:
    """The non-blank lines of a file's first 64 KiB (decompressed), without ``\\r``; none
    when it cannot be read."""
    try:
        head = head_of(path, SNIFF)
    except OSError:
        return []
    lines = head.split(b"\n")
    if len(head) == SNIFF:
        lines.pop()  # cut at the boundary: not counted
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return [line for line in lines if line.strip(b" \t")]


def _shown(line: bytes) -> str:
    """A line as a user reads it in a message: decoded, cut to 120 characters."""
    return line[:480].decode("utf-8", "replace")[:120]


def first_line(path: str) -> str:
    """The file's first non-blank line as a message shows it ('' when there is none)."""
    lines = _first_lines(path)
    return _shown(lines[0]) if lines else ""


def _choose(candidates: list, lines: list[bytes], reference: int):
    """(the format that reads the most of ``lines``, how many it reads): strict formats
    first, a lenient one only when no strict one reads half.

    A strict format is read only as long as it can still read more lines than the best
    one before it (a tie goes to the one registered first): an app log's lines are read by
    app, and each other format stops at its first miss, where it used to read them all
    (15 ms of every file's detection, and of the job's start)."""
    strict = [i for i, fmt in enumerate(candidates) if not fmt.continues]
    scores: dict[int, int] = {}
    best = strict[0]
    for i in strict:  # in the order ties go by
        scores[i] = _score(candidates[i], lines, reference, beat=scores[best] if scores else -1)
        if scores[i] > scores[best]:
            best = i
    if 2 * scores[best] < len(lines):  # only now can a lenient one win: only now is it read
        scores.update((i, _score(fmt, lines, reference)) for i, fmt in enumerate(candidates) if fmt.continues)
        best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    return candidates[best], scores[best]


def _score(fmt, lines: list[bytes], reference: int, beat: int = -1) -> int:
    """How many of ``lines`` (non-blank) ``fmt`` reads: its entries, and for a format whose
    other lines continue an entry (stack traces), the lines after its first entry. A strict
    format stops, with a count that does not pass ``beat``, once it cannot pass it. A format
    with a compiled grammar has its lines decided by the scanner, all at once, which
    decides each as ``parse_line`` does (tests/test_formats.py) in less time (64 KiB of app
    log: 5.0 -> 2.0 ms), on the way to every job's first chunk."""
    if not fmt.continues:
        read, left = 0, len(lines)
        for line, decided in zip(lines, _decided(fmt, lines, reference)):
            left -= 1
            entry = decided if decided is not None else fmt.parse_line(line, reference) is not None
            if entry:
                read += 1
            elif read + left <= beat:
                break
        return read
    parsed = [fmt.parse_line(line, reference) is not None for line in lines]
    return len(parsed) - parsed.index(True) if any(parsed) else 0


def _decided(fmt, lines: list[bytes], reference: int) -> list[bool | None]:
    """For each of ``lines``, whether the scanner decides it is an entry of ``fmt`` (all
    lines at once, by the format's compiled grammar); None where ``parse_line`` must say:
    every line of a format without a grammar, and the lines the scanner leaves undecided."""
    if getattr(fmt, "grammar", None) is None:
        return [None] * len(lines)
    from .fastpath import ENTRY, UNDECIDED, line_kinds
    return [True if k == ENTRY else None if k == UNDECIDED else False for k in line_kinds(lines, fmt.grammar, reference)]


def detect_format(path: str) -> str:
    """The name of :func:`detect`'s format for ``path``."""
    return detect(path).format


def format_for(path: str, asked: str, say) -> str:
    """The format a run reads ``path`` in: the one ``--format`` asked for; detected with
    ``auto`` (``say`` tells the user when no format reads half the lines); with a bare
    wrapper (``cri``, ``docker``), what it wraps detected."""
    from .formats import WRAPPERS
    if asked != "auto" and asked not in WRAPPERS:
        return asked
    found = detect(path)
    if asked in WRAPPERS:
        return chosen_format(asked, found.format)
    if not found.known and found.first_line:
        hint = (f"read as {found.format}, which parses {found.share:.0%} of its first lines; "
                f"try --format {found.format}" if found.share
                else "no format of lograd reads any of its first lines")
        say(f"no known format in {path} (first line: {found.first_line!r}); {hint} (README, Formats)")
    return found.format


def chosen_format(asked: str, detected: str) -> str:
    """The format a file is read in, given ``--format`` and what detection found in it (a
    worker's listing of its host's files carries the latter)."""
    from .formats import WRAPPERS
    if asked == "auto":
        return detected
    if asked in WRAPPERS:
        return detected if detected.startswith(asked + "+") else asked
    return asked


def served_files(pattern: str, served: list[str]) -> tuple[list[list], str]:
    """A worker's answer to "which of your files match ``pattern``": ``[path, size, format,
    mtime_ms, compressed]`` for each readable regular file it matches inside the
    ``served`` directories (resolved, symlinks followed: a link out of them is skipped),
    sorted; or no rows and why it refuses (the pattern cannot match inside them)."""
    if not served:
        return [], "this worker serves no directory (lograd-worker --serve DIR)"
    roots = [os.path.realpath(d) for d in served]
    literal = pattern.split("*")[0].split("?")[0].split("[")[0]
    base = os.path.realpath(os.path.dirname(literal) if not literal.endswith(os.sep) else literal)
    # a glob may start above a served directory (/var/log/*/access.log and --serve /var/log/nginx):
    # only what it matches inside is listed; one that cannot reach inside any is refused
    if not os.path.isabs(pattern) or not (inside(base, roots) or any(inside(root, [base]) for root in roots)):
        return [], f"{pattern} lies outside the directories this worker serves ({', '.join(served)})"
    rows = []
    found, _ = expand([pattern])
    for f in found:
        if not inside(os.path.realpath(f.path), roots) or not os.access(f.path, os.R_OK):
            continue
        rows.append([f.path, f.size, detect(f.path).format, reference_ms(f.path), int(f.compression is not None)])
    return rows, ""


def inside(path: str, roots: list[str]) -> bool:
    """Whether ``path`` (resolved) lies in one of the (resolved) ``roots``."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)

