# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled `app` scanner: one pass over a block's bytes, one row per line.

It decides every line by SPEC §1's grammar — blank, malformed, or an entry
with its time (fraction and zone included), level, the first response-time
match (each keyword position tried in order, as a regular expression search
does) and its ``key=value`` tokens (found from their ``=``). Where a value
would not fit an int64 once scaled (more than 18 significant digits) the line
is *undecided*: the caller gives it to the exact per-line path. Pure: bytes in,
numbers out; the caller allocates every output array.
"""
from libc.stdint cimport int64_t, uint8_t, uint64_t

DEF MAX_LINE = 1048576
DEF MAX_FIXED_DIGITS = 18

# what a line is
cpdef enum:
    ENTRY = 0
    BLANK = 1
    MALFORMED = 2
    UNDECIDED = 3

SCANNED_LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRITICAL", "FATAL")
"""The level ids the scanner writes: indexes here (tests hold this to parsing.LEVEL_ORDER)."""
SCANNED_MAX_LINE = MAX_LINE

cdef uint8_t WORD[256]      # \w on bytes
cdef uint8_t KEY[256]       # [A-Za-z0-9_.]
cdef uint8_t KEY_FIRST[256] # [A-Za-z_]
cdef uint8_t LETTER[256]
cdef uint8_t SPACE[256]     # \s on bytes
cdef uint8_t TOKEN_GAP[256] # a metric token starts/ends at \s , ;


cdef void _mark(uint8_t* table, bytes chars):
    cdef int c
    for c in chars:
        table[c] = 1


def _init_tables():
    cdef int i
    for i in range(256):
        WORD[i] = KEY[i] = KEY_FIRST[i] = LETTER[i] = SPACE[i] = TOKEN_GAP[i] = 0
    letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    _mark(LETTER, letters)
    _mark(WORD, letters + b"0123456789_")
    _mark(KEY, letters + b"0123456789_.")
    _mark(KEY_FIRST, letters + b"_")
    _mark(SPACE, b" \t\n\r\x0b\x0c")
    _mark(TOKEN_GAP, b" \t\n\r\x0b\x0c,;")
    for i, word in enumerate(SCANNED_LEVELS + ("WARNING",)):
        LEVEL_WORDS[i] = int.from_bytes(word.encode(), "little")
        LEVEL_WORD_IDS[i] = SCANNED_LEVELS.index("WARN" if word == "WARNING" else word)


_init_tables()


cdef inline bint _digit(uint8_t c) nogil:
    return 48 <= c <= 57


cdef inline int64_t _two(const uint8_t* b, Py_ssize_t at) nogil:
    return (b[at] - 48) * 10 + (b[at + 1] - 48)


cdef inline int64_t _floor_div(int64_t a, int64_t b) nogil:
    cdef int64_t q = a // b  # C division truncates; years before 0001 need the floor
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef int64_t _days_from_civil(int64_t year, int64_t month, int64_t day) nogil:
    """Days since 1970-01-01 (H. Hinnant's algorithm, as lograd.timestamps)."""
    if month <= 2:
        year -= 1
    cdef int64_t era = _floor_div(year, 400)
    cdef int64_t yoe = year - era * 400
    cdef int64_t doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline int _month_days(int64_t year, int64_t month) nogil:
    if month == 2:
        return 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    if month == 4 or month == 6 or month == 9 or month == 11:
        return 30
    return 31


cdef bint _fixed(const uint8_t* b, Py_ssize_t int_start, Py_ssize_t int_end, Py_ssize_t frac_start,
                 Py_ssize_t frac_end, int places, int64_t* out) nogil:
    """``to_fixed`` of digits [int_start, int_end) '.' [frac_start, frac_end) scaled by
    10**places, truncated; False when it may not fit an int64."""
    cdef int64_t value = 0
    cdef Py_ssize_t k
    while int_start < int_end and b[int_start] == 48:
        int_start += 1
    if int_end - int_start + places > MAX_FIXED_DIGITS:
        return False
    for k in range(int_start, int_end):
        value = value * 10 + (b[k] - 48)
    for k in range(frac_start, frac_start + places):
        value = value * 10 + ((b[k] - 48) if k < frac_end else 0)
    out[0] = value
    return True


cdef inline Py_ssize_t _number(const uint8_t* b, Py_ssize_t at, Py_ssize_t end,
                               Py_ssize_t* frac_start, Py_ssize_t* frac_end) nogil:
    r"""``\d+(?:\.\d+)?`` from ``at``: the end of the digits (``at`` when there are none);
    the fraction's bounds (both at the digits' end when there is no fraction)."""
    cdef Py_ssize_t k = at, f
    while k < end and _digit(b[k]):
        k += 1
    frac_start[0] = frac_end[0] = k
    if k == at or not (k + 1 < end and b[k] == 46 and _digit(b[k + 1])):
        return k
    f = k + 1
    while f < end and _digit(b[f]):
        f += 1
    frac_start[0] = k + 1
    frac_end[0] = f
    return k


cdef inline bint _word_at(const uint8_t* b, Py_ssize_t at, Py_ssize_t end, const char* word, int n) nogil:
    cdef int k
    if at + n > end:
        return False
    for k in range(n):
        if b[at + k] != <uint8_t>word[k]:
            return False
    return True


cdef inline Py_ssize_t _named(const uint8_t* b, Py_ssize_t at, Py_ssize_t end, const char* word, int n) nogil:
    """Where the number may start after ``word`` and ``=`` or ``:``; -1 if not there."""
    cdef Py_ssize_t after = at + n
    if after < end and (b[after] == 61 or b[after] == 58) and _word_at(b, at, end, word, n):
        return after + 1
    return -1


cdef int64_t LEVEL_WORDS[9]  # the level words, packed little-endian
cdef int LEVEL_WORD_IDS[9]


cdef int _level(const uint8_t* b, Py_ssize_t start, Py_ssize_t stop) nogil:
    """The level id of the letters [start, stop) in any case, or -1."""
    cdef Py_ssize_t n = stop - start, k
    cdef int64_t key = 0
    cdef int j
    if n < 4 or n > 8:
        return -1
    for k in range(n):
        key |= (<int64_t>(b[start + k] & 0xDF)) << (8 * k)  # letters only: & 0xDF upper-cases
    for j in range(9):
        if LEVEL_WORDS[j] == key:
            return LEVEL_WORD_IDS[j]
    return -1


cdef int _head(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, int64_t* day_cache,
               int64_t* ms_out, int* level_out, Py_ssize_t* msg_out) nogil:
    """Classify line [s, e); for an entry also its epoch ms, level id and message start.

    ``day_cache`` holds the last valid date seen (YYYYMMDD) and its day number."""
    cdef Py_ssize_t p, q, k
    cdef int64_t year, month, day, hour, minute, second, date, ms, frac, zh, zm, offset
    cdef int n, level
    cdef uint8_t c
    if e - s > MAX_LINE:
        return UNDECIDED
    p = s
    while p < e and (b[p] == 32 or b[p] == 9):
        p += 1
    if p == e:
        return BLANK
    if e - s < 19:
        return MALFORMED
    for k in range(19):  # YYYY-MM-DD?HH:MM:SS
        c = b[s + k]
        if k == 4 or k == 7:
            if c != 45:
                return MALFORMED
        elif k == 10:
            if c != 32 and c != 84:
                return MALFORMED
        elif k == 13 or k == 16:
            if c != 58:
                return MALFORMED
        elif not _digit(c):
            return MALFORMED
    year = _two(b, s) * 100 + _two(b, s + 2)
    month = _two(b, s + 5)
    day = _two(b, s + 8)
    hour = _two(b, s + 11)
    minute = _two(b, s + 14)
    second = _two(b, s + 17)
    if hour > 23 or minute > 59 or second > 59:
        return MALFORMED
    date = (year * 100 + month) * 100 + day
    if date != day_cache[0]:  # lines share their date: check and convert it once
        if month < 1 or month > 12 or day < 1 or day > _month_days(year, month):
            return MALFORMED
        day_cache[0] = date
        day_cache[1] = _days_from_civil(year, month, day)
    ms = (day_cache[1] * 86400 + hour * 3600 + minute * 60 + second) * 1000
    p = s + 19
    if p < e and b[p] == 46:  # '.' and 1-9 digits; the first three are milliseconds
        q = p + 1
        frac = 0
        while q < e and _digit(b[q]):
            if q - p <= 3:
                frac = frac * 10 + (b[q] - 48)
            q += 1
        n = <int>(q - p - 1)
        if n < 1 or n > 9:
            return MALFORMED
        while n < 3:
            frac *= 10
            n += 1
        ms += frac
        p = q
    if p < e and b[p] == 90:  # 'Z'
        p += 1
    elif p < e and (b[p] == 43 or b[p] == 45):  # +HH[:]MM or -HH[:]MM
        q = p + 3
        if q < e and b[q] == 58:
            q += 1
        if q + 2 > e or not (_digit(b[p + 1]) and _digit(b[p + 2]) and _digit(b[q]) and _digit(b[q + 1])):
            return MALFORMED
        zh = _two(b, p + 1)
        zm = _two(b, q)
        if zh > 23 or zm > 59:
            return MALFORMED
        offset = zh * 3600000 + zm * 60000
        ms += offset if b[p] == 45 else -offset
        p = q + 2
    if p >= e or (b[p] != 32 and b[p] != 9):
        return MALFORMED
    while p < e and (b[p] == 32 or b[p] == 9):
        p += 1
    q = p
    while q < e and LETTER[b[q]]:
        q += 1
    if q == p or (q < e and b[q] != 32 and b[q] != 9):
        return MALFORMED
    level = _level(b, p, q)
    if level < 0:
        return MALFORMED
    while q < e and (b[q] == 32 or b[q] == 9):
        q += 1
    ms_out[0] = ms
    level_out[0] = level
    msg_out[0] = q
    return ENTRY


cdef int _response_time(const uint8_t* b, Py_ssize_t msg, Py_ssize_t e, int64_t* out) nogil:
    """The first response-time match in [msg, e): 1 found (value in ``out``), 0 none,
    -1 undecided (too big for an int64)."""
    cdef Py_ssize_t i, j, k, int_end, frac_start, frac_end
    cdef uint8_t c, u
    cdef int places
    for i in range(msg, e):
        if i > msg and WORD[b[i - 1]]:
            continue
        c = b[i]
        j = -1
        if c == 105:  # in
            if i + 1 < e and b[i + 1] == 110:
                j = i + 2
        elif c == 116:  # took
            if _word_at(b, i, e, b"took", 4):
                j = i + 4
        elif c == 114:
            j = _named(b, i, e, b"response_time", 13)
        elif c == 108:
            j = _named(b, i, e, b"latency", 7)
        elif c == 100:
            j = _named(b, i, e, b"duration", 8)
        if j < 0:
            continue
        while j < e and SPACE[b[j]]:
            j += 1
        int_end = _number(b, j, e, &frac_start, &frac_end)
        if int_end == j:
            continue
        k = frac_end
        while k < e and SPACE[b[k]]:
            k += 1
        places = -1
        if k < e:
            u = b[k]
            if u == 115:  # s
                if k + 1 == e or not WORD[b[k + 1]]:
                    places = 12
            elif (u == 109 or u == 117) and k + 1 < e and b[k + 1] == 115:  # ms, us
                if k + 2 == e or not WORD[b[k + 2]]:
                    places = 9 if u == 109 else 6
        if places < 0:
            continue
        return 1 if _fixed(b, j, int_end, frac_start, frac_end, places, out) else -1
    return 0


cdef int _metric(const uint8_t* b, Py_ssize_t i, Py_ssize_t msg, Py_ssize_t e,
                 Py_ssize_t* key_out, int64_t* value_out) nogil:
    """The key=number token around the ``=`` at ``i`` of message [msg, e): 1 found
    (key start and fixed value out), 0 none, -1 undecided (too big for an int64)."""
    cdef Py_ssize_t k = i, j, int_start, int_end, frac_start, frac_end
    cdef bint negative
    cdef int64_t value
    while k > msg and KEY[b[k - 1]]:
        k -= 1
    if k == i or not KEY_FIRST[b[k]] or (k > msg and not TOKEN_GAP[b[k - 1]]):
        return 0
    j = i + 1
    negative = j < e and b[j] == 45
    if negative:
        j += 1
    int_start = j
    int_end = _number(b, j, e, &frac_start, &frac_end)
    if int_end == int_start:
        return 0
    j = frac_end
    if j < e and b[j] == 37:  # '%'
        j += 1
    else:
        while j < e and LETTER[b[j]]:
            j += 1
    if j < e and not TOKEN_GAP[b[j]]:
        return 0
    if not _fixed(b, int_start, int_end, frac_start, frac_end, 9, &value):
        return -1
    key_out[0] = k
    value_out[0] = -value if negative else value
    return 1


def scan_app(const uint8_t[::1] buf, const int64_t[::1] newlines, const int64_t[::1] equals,
             int64_t low, int64_t high, bint heads_only,
             int64_t[::1] starts, int64_t[::1] ends, int64_t[::1] messages, uint8_t[::1] kinds, int64_t[::1] stamps,
             int64_t[::1] levels, uint8_t[::1] inside, uint8_t[::1] has_rt, int64_t[::1] rts,
             int64_t[::1] m_line, int64_t[::1] m_at, int64_t[::1] m_len, int64_t[::1] m_key,
             int64_t[::1] m_value) -> int:
    """Fill one row per line (``len(kinds)`` lines) and one metric row per token; the
    number of metric rows.

    ``newlines`` and ``equals`` are the positions of the block's ``\\n`` and ``=``
    bytes; ``low``/``high`` bound the window (inclusive). With ``heads_only`` only
    the kind, time and level are read (the newest-entry scan of ``--last``).
    """
    cdef Py_ssize_t size = buf.shape[0], n = kinds.shape[0], n_nl = newlines.shape[0]
    cdef Py_ssize_t line, s = 0, nl, e, msg = 0, i, k, t, q
    cdef int64_t day_cache[2]
    cdef int64_t ms = 0, value = 0, key
    cdef int level = 0, kind, found
    cdef Py_ssize_t m = 0
    cdef const uint8_t* b = &buf[0] if size else NULL
    day_cache[0] = -1
    day_cache[1] = 0
    with nogil:
        for line in range(n):
            nl = newlines[line] if line < n_nl else size
            e = nl - 1 if nl > s and b[nl - 1] == 13 else nl
            starts[line] = s
            ends[line] = e
            kind = _head(b, s, e, day_cache, &ms, &level, &msg)
            s = nl + 1
            kinds[line] = kind
            inside[line] = 0
            has_rt[line] = 0
            if kind != ENTRY:
                continue
            stamps[line] = ms
            levels[line] = level
            if heads_only or ms < low or ms > high:
                continue
            found = _response_time(b, msg, e, &value)
            if found < 0:
                kinds[line] = UNDECIDED
                continue
            inside[line] = 1
            has_rt[line] = found
            rts[line] = value if found else 0
            messages[line] = msg
        line = 0
        for q in range(equals.shape[0]):  # '=' positions and lines, both in order: walk together
            i = equals[q]
            while ends[line] < i:
                line += 1
            if not inside[line]:
                continue
            if i < messages[line]:
                continue
            found = _metric(b, i, messages[line], ends[line], &k, &value)
            if found == 0:
                continue
            if found < 0:  # the line goes to the exact path, with none of its metrics here
                kinds[line] = UNDECIDED
                inside[line] = 0
                has_rt[line] = 0
                while m > 0 and m_line[m - 1] == line:
                    m -= 1
                continue
            key = 0
            if i - k <= 8:
                for t in range(k, i):
                    key |= (<int64_t>b[t]) << (8 * (t - k))
            m_line[m] = line
            m_at[m] = k
            m_len[m] = i - k
            m_key[m] = key
            m_value[m] = value
            m += 1
    return m


DEF MAX_HOST_KEY = 16  # hosts of up to 16 bytes are their own 128-bit key
cdef int64_t MS_THRESHOLD = 100000000000  # conn timestamps at or above: milliseconds (SPEC §1)
cdef int64_t MAX_MS = 253402300800000  # the year 10000: not writable in ISO 8601


cdef inline bint _gap(uint8_t c) nogil:
    return c == 32 or c == 9


cdef int _host(const uint8_t* b, Py_ssize_t* at, Py_ssize_t e, uint64_t* k0, uint64_t* k1) nogil:
    """The host token at ``at[0]`` (advanced past it): 1 a key, 0 no token, -1 undecided
    (longer than 16 bytes, or holding a NUL, which the zero padding could not tell apart)."""
    cdef Py_ssize_t p = at[0], k
    cdef uint64_t lo = 0, hi = 0
    cdef bint odd = False
    while p < e and not _gap(b[p]):
        k = p - at[0]
        if k < 8:
            lo |= (<uint64_t>b[p]) << (8 * k)
        elif k < 16:
            hi |= (<uint64_t>b[p]) << (8 * (k - 8))
        odd |= b[p] == 0
        p += 1
    k = p - at[0]
    at[0] = p
    if k == 0:
        return 0
    if k > MAX_HOST_KEY or odd:
        return -1
    k0[0] = lo
    k1[0] = hi
    return 1


cdef int _conn_line(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, int64_t* ms_out,
                    uint64_t* keys) nogil:
    """Classify conn line [s, e) by ``(\\d+)[ \\t]+([^ \\t]+)[ \\t]+([^ \\t]+)[ \\t]*``."""
    cdef Py_ssize_t p = s
    cdef int64_t number = 0
    cdef int got
    if e - s > MAX_LINE:
        return UNDECIDED
    while p < e and _gap(b[p]):
        p += 1
    if p == e:
        return BLANK
    p = s
    while p < e and _digit(b[p]):
        if p - s < 16:
            number = number * 10 + (b[p] - 48)
        p += 1
    if p == s or p - s > 16 or p == e or not _gap(b[p]):
        return MALFORMED
    while p < e and _gap(b[p]):
        p += 1
    got = _host(b, &p, e, &keys[0], &keys[1])
    if got == 0 or p == e:
        return MALFORMED
    if got < 0:
        return UNDECIDED
    while p < e and _gap(b[p]):
        p += 1
    got = _host(b, &p, e, &keys[2], &keys[3])
    if got == 0:
        return MALFORMED
    while p < e and _gap(b[p]):
        p += 1
    if p != e:
        return MALFORMED
    if got < 0:
        return UNDECIDED
    ms_out[0] = number if number >= MS_THRESHOLD else number * 1000
    return ENTRY if ms_out[0] < MAX_MS else MALFORMED


cdef uint64_t MIX0 = 0x9E3779B97F4A7C15ULL, MIX1 = 0xC2B2AE3D27D4EB4FULL


cdef class HostTable:
    """Counts per host key (two words; a host's first word is never 0), open addressing."""

    cdef uint64_t[::1] k0
    cdef uint64_t[::1] k1
    cdef int64_t[::1] n
    cdef Py_ssize_t used, mask

    def __init__(self, int bits=10):
        self._allocate(bits)

    cdef void _allocate(self, int bits):
        import numpy as np
        self.k0 = np.zeros(1 << bits, np.uint64)
        self.k1 = np.zeros(1 << bits, np.uint64)
        self.n = np.zeros(1 << bits, np.int64)
        self.used = 0
        self.mask = (1 << bits) - 1

    cdef void add(self, uint64_t a, uint64_t b, int64_t count):
        cdef uint64_t x = a * MIX0 ^ b * MIX1
        cdef Py_ssize_t slot = <Py_ssize_t>((x ^ (x >> 29)) & <uint64_t>self.mask)
        while self.k0[slot] != 0 and (self.k0[slot] != a or self.k1[slot] != b):
            slot = (slot + 1) & self.mask
        if self.k0[slot] == 0:
            self.k0[slot] = a
            self.k1[slot] = b
            self.used += 1
        self.n[slot] += count
        if 2 * self.used > self.mask:
            self._grow()

    cdef void _grow(self):
        cdef uint64_t[::1] k0 = self.k0, k1 = self.k1
        cdef int64_t[::1] n = self.n
        cdef Py_ssize_t i, bits = 1
        while (1 << bits) <= self.mask:
            bits += 1
        self._allocate(bits + 1)
        for i in range(k0.shape[0]):
            if k0[i] != 0:
                self.add(k0[i], k1[i], n[i])

    def items(self):
        """(first words, second words, counts) of the hosts counted, as numpy arrays."""
        import numpy as np
        k0, k1, n = np.asarray(self.k0), np.asarray(self.k1), np.asarray(self.n)
        held = k0 != 0
        return k0[held], k1[held], n[held]


def scan_conn(const uint8_t[::1] buf, const int64_t[::1] newlines, int64_t low, int64_t high,
              int64_t[::1] starts, int64_t[::1] ends, uint8_t[::1] kinds, int64_t[::1] stamps,
              HostTable sources, HostTable targets, HostTable to_host, HostTable from_host,
              uint64_t host0, uint64_t host1) -> int:
    """Fill one row per conn line (``len(kinds)`` lines): kind and time; count the
    entries inside the window [low, high] per source and target, and per peer of the
    host whose key is (host0, host1) (0, 0: no host). Returns how many were inside."""
    cdef Py_ssize_t size = buf.shape[0], n = kinds.shape[0], n_nl = newlines.shape[0]
    cdef Py_ssize_t line, s = 0, nl, e
    cdef int64_t ms = 0, in_window = 0
    cdef uint64_t keys[4]
    cdef int kind
    cdef const uint8_t* b = &buf[0] if size else NULL
    for line in range(n):
        nl = newlines[line] if line < n_nl else size
        e = nl - 1 if nl > s and b[nl - 1] == 13 else nl
        starts[line] = s
        ends[line] = e
        kind = _conn_line(b, s, e, &ms, keys)
        s = nl + 1
        kinds[line] = kind
        stamps[line] = ms
        if kind == ENTRY and low <= ms <= high:
            in_window += 1
            sources.add(keys[0], keys[1], 1)
            targets.add(keys[2], keys[3], 1)
            if host0 != 0:
                if keys[2] == host0 and keys[3] == host1:
                    to_host.add(keys[0], keys[1], 1)
                if keys[0] == host0 and keys[1] == host1:
                    from_host.add(keys[2], keys[3], 1)
    return in_window
