# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled scanner: one pass over a block's bytes, every format's lines decided in C.

It decides every line by its format's grammar (SPEC §1 and the formats' issues) —
blank, malformed, or an entry with its time (fraction and zone included), level,
the first response-time match (each keyword position tried in order, as a
regular expression search does) and its ``key=value`` tokens (found from their
``=``) — and adds each entry into a :class:`Tally` (conn lines: :class:`ConnRuns`),
with no row per line. Where a value would not fit an int64 once scaled (more
than 18 significant digits), or the scanner is unsure, the line is *undecided*:
the caller gives it to the exact per-line path. Pure: bytes in, numbers out.
"""
from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

cdef extern from "string.h" nogil:
    void* memmem(const void* haystack, size_t haystacklen, const void* needle, size_t needlelen)

cdef extern from * nogil:
    int __builtin_ctzll(unsigned long long x)

cdef extern from * nogil:
    """
    /* Sixteen bytes of a message with every ASCII digit made '0' (into out), given back as
       two little-endian words: with SSE2 (every x86-64) one compare does all sixteen.
       Elsewhere, or built with -DLOGRAD_NO_SIMD, LOGRAD_SIMD is 0 and the scanner makes
       them eight bytes at a time in a word (_skeleton). */
    #if defined(__SSE2__) && !defined(LOGRAD_NO_SIMD)
    #include <emmintrin.h>
    #define LOGRAD_SIMD 1
    static inline void lograd_zero_digits16(const uint8_t* in, uint8_t* out, uint64_t* lo, uint64_t* hi) {
        __m128i x = _mm_loadu_si128((const __m128i*)in);
        __m128i t = _mm_sub_epi8(x, _mm_set1_epi8('0'));
        __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(9)), t);
        x = _mm_andnot_si128(_mm_and_si128(digit, _mm_set1_epi8(0x0F)), x);
        _mm_storeu_si128((__m128i*)out, x);
        *lo = (uint64_t)_mm_cvtsi128_si64(x);
        *hi = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x));
    }
    #else
    #define LOGRAD_SIMD 0
    static inline void lograd_zero_digits16(const uint8_t* in, uint8_t* out, uint64_t* lo, uint64_t* hi) {
        (void)in; (void)out; (void)lo; (void)hi;  /* never called without SIMD */
    }
    #endif
    """
    const bint SIMD "LOGRAD_SIMD"
    void _zero_digits16 "lograd_zero_digits16" (const uint8_t* text, uint8_t* out, uint64_t* lo, uint64_t* hi)

cimport cython
from libc.stdlib cimport calloc
# numpy is imported where arrays are made, not with the module: an app job's workers never
# make one, and start without it (lograd.fastpath)

DEF MAX_LINE = 1048576
DEF MAX_FIXED_DIGITS = 18

DEF STAMP_CACHE = 6  # words of _iso_stamp's cache (_access_time's: one more)
DEF LINE_METRICS = 64  # resources of one line the scanner reads; a line with more goes to the exact path


cdef struct LineMetrics:  # The ``key=value`` resources of one line: each key's bytes [key, key_end) and fixed value.
    int n
    Py_ssize_t key[LINE_METRICS]
    Py_ssize_t key_end[LINE_METRICS]
    int64_t value[LINE_METRICS]
    int64_t rid[LINE_METRICS]  # its resource's id in the tally (-1: not known)


cdef struct ScanState:  # How a block's lines are read, and what reading one line leaves for the next.
    int grammar
    int wrapper
    int64_t reference_ms
    int64_t low  # the window, inclusive
    int64_t high
    bint heads_only
    bint defer_body  # an app, text or syslog entry's message is read by the tally (Tally._body)
    int64_t day_cache[STAMP_CACHE]  # _iso_stamp's: the last valid date and minute seen
    int64_t wrap_cache[STAMP_CACHE]
    uint64_t level_word  # _head's: the last level word seen with the one space after it,
    uint64_t level_mask  # the bytes of the word that it fills, its length and its id
    int level_length
    int level_id
    bint after_partial  # the last CRI line was a split (P) one


cdef struct Line:  # What the scanner decided of one line.
    int kind
    int level
    bint inside  # an entry inside the window, its response time and resources read
    bint has_rt
    bint body_pending  # an entry inside the window whose response time and resources are still to be read
    int64_t ms
    int64_t rt
    Py_ssize_t msg  # the entry's message [msg, msg_end)
    Py_ssize_t msg_end
    int64_t spans[10]  # syslog: where the host and the program start and end; access: see AccessCounters
    int64_t status  # access: the status code and bytes sent
    int64_t sent


# what a line is
cpdef enum:
    ENTRY = 0
    BLANK = 1
    MALFORMED = 2
    UNDECIDED = 3

# what wraps each line
cpdef enum:
    WRAPPER_NONE = 0
    WRAPPER_CRI = 1

# which head grammar decides a line
cpdef enum:
    GRAMMAR_APP = 0
    GRAMMAR_TEXT = 1
    GRAMMAR_SYSLOG = 2
    GRAMMAR_LOGFMT = 3
    GRAMMAR_JSON = 4
    GRAMMAR_ACCESS = 5

SCANNED_LEVELS = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRITICAL", "FATAL", "NONE")
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
    for i, word in enumerate(SCANNED_LEVELS[:8] + ("WARNING",)):
        LEVEL_WORDS[i] = int.from_bytes(word.encode(), "little")
        LEVEL_WORD_IDS[i] = SCANNED_LEVELS.index("WARN" if word == "WARNING" else word)


_init_tables()


cdef inline bint _digit(uint8_t c) noexcept nogil:
    return 48 <= c <= 57


cdef inline int64_t _two(const uint8_t* b, Py_ssize_t at) noexcept nogil:
    return (b[at] - 48) * 10 + (b[at + 1] - 48)


cdef inline int64_t _floor_div(int64_t a, int64_t b) noexcept nogil:
    cdef int64_t q = a // b  # C division truncates; years before 0001 need the floor
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef int64_t _days_from_civil(int64_t year, int64_t month, int64_t day) noexcept nogil:
    """Days since 1970-01-01 (H. Hinnant's algorithm, as lograd.timestamps)."""
    if month <= 2:
        year -= 1
    cdef int64_t era = _floor_div(year, 400)
    cdef int64_t yoe = year - era * 400
    cdef int64_t doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline int _month_days(int64_t year, int64_t month) noexcept nogil:
    if month == 2:
        return 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    if month == 4 or month == 6 or month == 9 or month == 11:
        return 30
    return 31


cdef int64_t POWERS_OF_TEN[19]
POWERS_OF_TEN[0] = 1
for _i in range(1, 19):
    POWERS_OF_TEN[_i] = POWERS_OF_TEN[_i - 1] * 10


cdef bint _fixed(const uint8_t* b, Py_ssize_t int_start, Py_ssize_t int_end, Py_ssize_t frac_start,
                 Py_ssize_t frac_end, int places, int64_t* out) noexcept nogil:
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
    if frac_end > frac_start + places:
        frac_end = frac_start + places
    for k in range(frac_start, frac_end):
        value = value * 10 + (b[k] - 48)
    out[0] = value * POWERS_OF_TEN[places - (frac_end - frac_start)]
    return True


cdef inline Py_ssize_t _number(const uint8_t* b, Py_ssize_t at, Py_ssize_t end,
                               Py_ssize_t* frac_start, Py_ssize_t* frac_end) noexcept nogil:
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


cdef inline bint _word_at(const uint8_t* b, Py_ssize_t at, Py_ssize_t end, const char* word, int n) noexcept nogil:
    cdef int k
    if at + n > end:
        return False
    for k in range(n):
        if b[at + k] != <uint8_t>word[k]:
            return False
    return True


cdef inline Py_ssize_t _named(const uint8_t* b, Py_ssize_t at, Py_ssize_t end, const char* word, int n) noexcept nogil:
    """Where the number may start after ``word`` and ``=`` or ``:``; -1 if not there."""
    cdef Py_ssize_t after = at + n
    if after < end and (b[after] == 61 or b[after] == 58) and _word_at(b, at, end, word, n):
        return after + 1
    return -1


cdef int64_t LEVEL_WORDS[9]  # the level words, packed little-endian
cdef int LEVEL_WORD_IDS[9]


cdef int _level(const uint8_t* b, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
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


cdef inline Py_ssize_t _iso_stamp(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, int64_t* day_cache,
                           int64_t* ms_out) noexcept nogil:
    """SPEC §1's ISO 8601 timestamp at ``s`` (``YYYY-MM-DD?HH:MM:SS``, fraction, zone): where
    it ends, its epoch ms in ``ms_out``; -1 when there is none.

    ``day_cache`` (STAMP_CACHE words) holds the last valid date seen (YYYYMMDD) and its day
    number, and the last valid ``YYYY-MM-DD?HH:MM`` seen (two words of its bytes) and its epoch
    ms: lines share their minute, which then costs two comparisons."""
    cdef Py_ssize_t p, q, k
    cdef int64_t year, month, day, hour, minute, second, date, ms, frac, zh, zm, offset
    cdef uint64_t head0, head1
    cdef int n
    cdef uint8_t c
    if e - s < 19:
        return -1
    memcpy(&head0, b + s, 8)
    memcpy(&head1, b + s + 8, 8)
    if head0 == <uint64_t>day_cache[2] and head1 == <uint64_t>day_cache[3] and day_cache[0] >= 0:  # the minute seen last
        if b[s + 16] != 58 or not _digit(b[s + 17]) or not _digit(b[s + 18]):
            return -1
        second = _two(b, s + 17)
        if second > 59:
            return -1
        ms = day_cache[4] + second * 1000
    else:
        for k in range(19):  # YYYY-MM-DD?HH:MM:SS
            c = b[s + k]
            if k == 4 or k == 7:
                if c != 45:
                    return -1
            elif k == 10:
                if c != 32 and c != 84:
                    return -1
            elif k == 13 or k == 16:
                if c != 58:
                    return -1
            elif not _digit(c):
                return -1
        year = _two(b, s) * 100 + _two(b, s + 2)
        month = _two(b, s + 5)
        day = _two(b, s + 8)
        hour = _two(b, s + 11)
        minute = _two(b, s + 14)
        second = _two(b, s + 17)
        if hour > 23 or minute > 59 or second > 59:
            return -1
        date = (year * 100 + month) * 100 + day
        if date != day_cache[0]:  # lines share their date: check and convert it once
            if month < 1 or month > 12 or day < 1 or day > _month_days(year, month):
                return -1
            day_cache[0] = date
            day_cache[1] = _days_from_civil(year, month, day)
        day_cache[2] = <int64_t>head0
        day_cache[3] = <int64_t>head1
        day_cache[4] = (day_cache[1] * 86400 + hour * 3600 + minute * 60) * 1000
        ms = day_cache[4] + second * 1000
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
            return -1
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
            return -1
        zh = _two(b, p + 1)
        zm = _two(b, q)
        if zh > 23 or zm > 59:
            return -1
        offset = zh * 3600000 + zm * 60000
        ms += offset if b[p] == 45 else -offset
        p = q + 2
    ms_out[0] = ms
    return p


cdef inline uint64_t _digit_bytes(uint64_t word) noexcept nogil:
    """0x80 in each byte of ``word`` that is an ASCII digit, exactly (no borrow crosses a byte)."""
    cdef uint64_t low7 = word & 0x7F7F7F7F7F7F7F7FULL
    return ((0x0101010101010101ULL * (127 + 0x3A) - low7) & ~word
            & (low7 + 0x0101010101010101ULL * (127 - 0x2F))) & 0x8080808080808080ULL


cdef uint64_t MILLI_SHAPE = 0x200000002E00003AULL  # ':' at 0, '.' at 3, ' ' at 7: ":SS.mmm " little-endian
cdef uint64_t MILLI_SEPARATORS = 0xFF000000FF0000FFULL
cdef uint64_t MILLI_DIGITS = 0x0080808000808000ULL  # bytes 1, 2, 4, 5, 6


cdef inline int _common_head(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, ScanState* st,
                             int64_t* ms_out, int* level_out, Py_ssize_t* msg_out) noexcept nogil:
    """The most common app line, decided with a few word compares: the minute seen last
    (``_iso_stamp``'s cache), ``:SS.mmm``, one space, a level word of at most seven letters
    (the one seen last, kept in ``st``, or any other) and one space, then the message. ENTRY
    as ``_head`` would decide it, or -1 when the line is any other: ``_head`` then reads it
    byte by byte. (Called with at least 32 bytes in the line.)"""
    cdef uint64_t head0, head1, tail, level, spaces, key
    cdef int64_t second
    cdef Py_ssize_t msg
    cdef int n, j
    if st.day_cache[0] < 0:
        return -1
    memcpy(&head0, b + s, 8)
    memcpy(&head1, b + s + 8, 8)
    memcpy(&tail, b + s + 16, 8)
    memcpy(&level, b + s + 24, 8)
    if (head0 != <uint64_t>st.day_cache[2] or head1 != <uint64_t>st.day_cache[3]
            or (tail & MILLI_SEPARATORS) != MILLI_SHAPE or (_digit_bytes(tail) & MILLI_DIGITS) != MILLI_DIGITS):
        return -1
    if (level & st.level_mask) != st.level_word:  # another level: its word up to the first space
        spaces = _zero_bytes(level ^ 0x2020202020202020ULL)
        n = <int>(__builtin_ctzll(spaces) >> 3) if spaces else 0
        if n < 4:
            return -1
        key = (level & (0xFFFFFFFFFFFFFFFFULL >> (64 - 8 * n))) & 0xDFDFDFDFDFDFDFDFULL  # letters only: upper case
        for j in range(9):
            if <uint64_t>LEVEL_WORDS[j] == key:
                break
        else:
            return -1
        st.level_length = n + 1
        st.level_mask = 0xFFFFFFFFFFFFFFFFULL >> (56 - 8 * n)
        st.level_word = level & st.level_mask
        st.level_id = LEVEL_WORD_IDS[j]
    msg = s + 24 + st.level_length
    if msg >= e or b[msg] == 32 or b[msg] == 9:  # (a message at least a byte long)
        return -1
    second = _two(b, s + 17)
    if second > 59:
        return -1
    ms_out[0] = st.day_cache[4] + second * 1000 + (b[s + 20] - 48) * 100 + (b[s + 21] - 48) * 10 + (b[s + 22] - 48)
    level_out[0] = st.level_id
    msg_out[0] = msg
    return ENTRY


cdef int _head(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, ScanState* st,
               int64_t* ms_out, int* level_out, Py_ssize_t* msg_out) noexcept nogil:
    """Classify line [s, e); for an entry also its epoch ms, level id and message start."""
    cdef Py_ssize_t p, q
    cdef int64_t ms
    cdef int level
    if e - s > MAX_LINE:
        return UNDECIDED
    if e - s >= 32 and _common_head(b, s, e, st, ms_out, level_out, msg_out) == ENTRY:
        return ENTRY
    p = s
    while p < e and (b[p] == 32 or b[p] == 9):
        p += 1
    if p == e:
        return BLANK
    p = _iso_stamp(b, s, e, st.day_cache, &ms)
    if p < 0:
        return MALFORMED
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
    if q < e and b[q] == 32 and q + 1 - p <= 8:  # for _common_head: this word and one space
        st.level_length = <int>(q + 1 - p)
        st.level_mask = 0xFFFFFFFFFFFFFFFFULL >> (64 - 8 * st.level_length)
        st.level_word = 0
        memcpy(&st.level_word, b + p, st.level_length)
        st.level_id = level
    while q < e and (b[q] == 32 or b[q] == 9):
        q += 1
    ms_out[0] = ms
    level_out[0] = level
    msg_out[0] = q
    return ENTRY


# -- the `text` grammar (lograd/formats/text.py says it in words and as the exact path) ------

DEF NONE_LEVEL = 8
DEF LEVEL_FIELDS = 3
DEF YEARS_BACK = 8
cdef int64_t FUTURE_MS = 86400000

DEF TEXT_WORD_COUNT = 21
cdef char* TEXT_WORDS[TEXT_WORD_COUNT]
cdef int TEXT_WORD_LENS[TEXT_WORD_COUNT]
cdef int TEXT_WORD_IDS[TEXT_WORD_COUNT]
cdef int LETTER_LEVEL[256]  # single upper-case letters V D I W E F


def _init_text_tables():
    words = [("TRACE", 0), ("FINEST", 0), ("FINER", 0), ("DEBUG", 1), ("FINE", 1), ("INFO", 2),
             ("NOTICE", 3), ("WARN", 4), ("WARNING", 4), ("ERROR", 5), ("ERR", 5), ("SEVERE", 5),
             ("CRITICAL", 6), ("CRIT", 6), ("FATAL", 7), ("EMERG", 7), ("EMERGENCY", 7), ("ALERT", 7),
             ("PANIC", 7), ("INFORMATION", 2), ("VERBOSE", 0)]
    global _text_words_kept
    _text_words_kept = [w.encode() for w, _ in words]  # the char* below point into these
    cdef int i
    for i in range(len(words)):
        TEXT_WORDS[i] = _text_words_kept[i]
        TEXT_WORD_LENS[i] = len(words[i][0])
        TEXT_WORD_IDS[i] = words[i][1]
    for i in range(256):
        LETTER_LEVEL[i] = -1
    for letter, level in zip(b"VDIWEF", (0, 1, 2, 4, 5, 7)):
        LETTER_LEVEL[letter] = level


_init_text_tables()


cdef inline bint _blank(uint8_t c) noexcept nogil:
    return c == 32 or c == 9


cdef int _text_level(const uint8_t* b, Py_ssize_t p, Py_ssize_t q) noexcept nogil:
    """The level id of the letters [p, q) (any case; a single letter upper-case only), or -1."""
    cdef Py_ssize_t n = q - p, k
    cdef int j
    if n == 1:
        return LETTER_LEVEL[b[p]]
    for j in range(TEXT_WORD_COUNT):
        if TEXT_WORD_LENS[j] != n:
            continue
        for k in range(n):
            if (b[p + k] & 0xDF) != <uint8_t>TEXT_WORDS[j][k]:
                break
        else:
            return TEXT_WORD_IDS[j]
    return -1


cdef inline bint _prefix(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, const char* word, int n) noexcept nogil:
    return _word_at(b, p, e, word, n)


cdef int _level_field(const uint8_t* b, Py_ssize_t at, Py_ssize_t e, Py_ssize_t* end_out) noexcept nogil:
    """The level id of the field at ``at`` and where it ends, or -1 (the exact path's _level_field)."""
    cdef Py_ssize_t p = at, q, k
    cdef uint8_t closing = 0
    cdef int level
    k = -1
    if _prefix(b, at, e, b"level=", 6):
        k = at + 6
    elif _prefix(b, at, e, b"lvl=", 4):
        k = at + 4
    elif _prefix(b, at, e, b"severity=", 9):
        k = at + 9
    if k >= 0:
        q = k
        while q < e and LETTER[b[q]]:
            q += 1
        if q == k or q - k == 1 or (q < e and not _blank(b[q])):
            return -1
        level = _text_level(b, k, q)
        end_out[0] = q
        return level
    if b[p] == 91:  # [
        closing = 93
    elif b[p] == 60:  # <
        closing = 62
    elif b[p] == 40:  # (
        closing = 41
    if closing:
        p += 1
    q = p
    while q < e and LETTER[b[q]]:
        q += 1
    if q == p:
        return -1
    if closing and q + 1 < e and b[q] == 58 and LETTER[b[q + 1]]:
        p = q = q + 1  # Apache 2.4's [module:level]
        while q < e and LETTER[b[q]]:
            q += 1
    level = _text_level(b, p, q)
    if closing:
        while q < e and b[q] == 32:
            q += 1
        if q >= e or b[q] != closing:
            return -1
        q += 1
    if q < e and (b[q] == 58 or b[q] == 44):  # : ,
        q += 1
    if q < e and not _blank(b[q]):
        return -1
    end_out[0] = q
    return level


cdef inline bint _digits(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, int n) noexcept nogil:
    cdef int k
    if p + n > e:
        return False
    for k in range(n):
        if not _digit(b[p + k]):
            return False
    return True


cdef inline bint _clock_at(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    """HH:MM:SS at p."""
    return (p + 8 <= e and _digits(b, p, e, 2) and b[p + 2] == 58 and _digits(b, p + 3, e, 2)
            and b[p + 5] == 58 and _digits(b, p + 6, e, 2))


cdef int _name_at(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, const char* names, int count) noexcept nogil:
    """1 + the index of the three-letter name at p among ``names`` (``count`` of them, run
    together), or 0."""
    cdef int i
    if p + 3 > e:
        return 0
    for i in range(count):
        if b[p] == <uint8_t>names[3 * i] and b[p + 1] == <uint8_t>names[3 * i + 1] and b[p + 2] == <uint8_t>names[3 * i + 2]:
            return i + 1
    return 0


cdef inline int _month(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    """1-12 for Jan..Dec at p, or 0."""
    return _name_at(b, p, e, b"JanFebMarAprMayJunJulAugSepOctNovDec", 12)


cdef inline bint _weekday(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    return _name_at(b, p, e, b"MonTueWedThuFriSatSun", 7) > 0


cdef Py_ssize_t _fraction(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, bint comma, int64_t* ms) noexcept nogil:
    """An optional '.' (or ',' with ``comma``) and 1-9 digits at p: where it ends (p if none);
    its first three digits are added to ``ms`` as milliseconds."""
    cdef Py_ssize_t q
    cdef int64_t frac = 0
    cdef int n
    if not (p + 1 < e and (b[p] == 46 or (comma and b[p] == 44)) and _digit(b[p + 1])):
        return p
    q = p + 1
    while q < e and q - p <= 9 and _digit(b[q]):
        if q - p <= 3:
            frac = frac * 10 + (b[q] - 48)
        q += 1
    n = <int>(q - p - 1)
    while n < 3:
        frac *= 10
        n += 1
    ms[0] += frac
    return q


cdef int64_t _year_of(int64_t ms) noexcept nogil:
    """The proleptic Gregorian year of an epoch ms (H. Hinnant's civil_from_days)."""
    cdef int64_t days = _floor_div(ms, 86400000) + 719468
    cdef int64_t era = _floor_div(days, 146097)
    cdef int64_t doe = days - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    return yoe + era * 400 + (1 if mp >= 10 else 0)


cdef bint _dated(int64_t year, int64_t month, int64_t day, int64_t clock, int64_t reference_ms,
                 int64_t* ms) noexcept nogil:
    """The epoch ms of a date and clock; a year < 0 means none: the latest year that puts it at
    most FUTURE_MS after the reference (YEARS_BACK years back at most). False: no such time."""
    cdef int64_t y, t, first
    if month < 1 or month > 12 or day < 1:
        return False
    if year >= 0:
        if day > _month_days(year, month):
            return False
        ms[0] = _days_from_civil(year, month, day) * 86400000 + clock
        return True
    first = _year_of(reference_ms)
    for y in range(first, first - YEARS_BACK - 1, -1):
        if day <= _month_days(y, month):
            t = _days_from_civil(y, month, day) * 86400000 + clock
            if t <= reference_ms + FUTURE_MS:
                ms[0] = t
                return True
    return False


DEF ALL_SHAPES = 0x1FE
DEF SYSLOG_SHAPES = 0x12  # iso (1) and bsd (4)
DEF ISO_SHAPE = 0x2


cdef int _text_stamp(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, int64_t reference_ms,
                     int64_t* ms_out, Py_ssize_t* end_out, int* klog_out, int shapes) noexcept nogil:
    """The stamp at p of one of ``shapes`` (a bit per shape number below): 1 a valid one
    (time, end, klog level or -1 out), 0 none or impossible."""
    cdef int64_t year = -1, month, day, clock, ms = 0, zh, zm
    cdef Py_ssize_t t, q
    cdef int shape = 0
    klog_out[0] = -1
    # which shape, by its fixed separators (the shapes exclude each other)
    if _digits(b, p, e, 4) and p + 10 < e and (b[p + 4] == 45 or b[p + 4] == 47) and _digits(b, p + 5, e, 2) \
            and b[p + 7] == b[p + 4] and _digits(b, p + 8, e, 2) \
            and (b[p + 10] == 32 or (b[p + 10] == 84 and b[p + 4] == 45)) and _clock_at(b, p + 11, e):
        shape = 1 if b[p + 4] == 45 else 2  # iso (YYYY-MM-DD) or slashed (YYYY/MM/DD)
        year = _two(b, p) * 100 + _two(b, p + 2)
        month = _two(b, p + 5)
        day = _two(b, p + 8)
        t = p + 11
    elif _digits(b, p, e, 2) and p + 8 < e and b[p + 2] == 47 and _digits(b, p + 3, e, 2) and b[p + 5] == 47 \
            and _digits(b, p + 6, e, 2) and b[p + 8] == 32 and _clock_at(b, p + 9, e):
        shape = 3  # spark
        year = 2000 + _two(b, p)
        month = _two(b, p + 3)
        day = _two(b, p + 6)
        t = p + 9
    elif _month(b, p, e) and p + 7 < e and b[p + 3] == 32 and (b[p + 4] == 32 or _digit(b[p + 4])) \
            and _digit(b[p + 5]) and b[p + 6] == 32 and _clock_at(b, p + 7, e):
        shape = 4  # bsd
        month = _month(b, p, e)
        day = (b[p + 5] - 48) + (0 if b[p + 4] == 32 else (b[p + 4] - 48) * 10)
        t = p + 7
    elif p < e and (b[p] == 73 or b[p] == 87 or b[p] == 69 or b[p] == 70) and _digits(b, p + 1, e, 4) \
            and p + 5 < e and b[p + 5] == 32 and _clock_at(b, p + 6, e):
        shape = 5  # klog
        klog_out[0] = LETTER_LEVEL[b[p]]
        month = _two(b, p + 1)
        day = _two(b, p + 3)
        t = p + 6
    elif _weekday(b, p, e) and p + 3 < e and b[p + 3] == 32 and _month(b, p + 4, e) and p + 10 < e \
            and b[p + 7] == 32 and _digits(b, p + 8, e, 2) and b[p + 10] == 32 and _clock_at(b, p + 11, e):
        shape = 6  # ctime: the year comes after the clock
        month = _month(b, p + 4, e)
        day = _two(b, p + 8)
        t = p + 11
    elif _digits(b, p, e, 8) and p + 8 < e and b[p + 8] == 45 and _clock_at(b, p + 9, e) \
            and p + 17 < e and b[p + 17] == 58 and _digits(b, p + 18, e, 3):
        shape = 7  # compact
        year = _two(b, p) * 100 + _two(b, p + 2)
        month = _two(b, p + 4)
        day = _two(b, p + 6)
        t = p + 9
    elif _digits(b, p, e, 2) and p + 5 < e and b[p + 2] == 45 and _digits(b, p + 3, e, 2) and b[p + 5] == 32 \
            and _clock_at(b, p + 6, e) and p + 14 < e and b[p + 14] == 46 and _digits(b, p + 15, e, 3):
        shape = 8  # logcat
        month = _two(b, p)
        day = _two(b, p + 3)
        t = p + 6
    else:
        return 0
    if not (shapes >> shape) & 1:
        return 0
    if _two(b, t) > 23 or _two(b, t + 3) > 59 or _two(b, t + 6) > 59:
        return 0
    clock = (_two(b, t) * 3600 + _two(b, t + 3) * 60 + _two(b, t + 6)) * 1000
    q = t + 8
    if shape == 7 or shape == 8:  # exactly three digits of milliseconds
        clock += (b[q + 1] - 48) * 100 + (b[q + 2] - 48) * 10 + (b[q + 3] - 48)
        q += 4
    elif shape != 3:
        q = _fraction(b, q, e, shape == 1, &clock)
    if shape == 6:  # ' ' YYYY
        if not (q < e and b[q] == 32 and _digits(b, q + 1, e, 4)):
            return 0
        year = _two(b, q + 1) * 100 + _two(b, q + 3)
        q += 5
    if not _dated(year, month, day, clock, reference_ms, &ms):
        return 0
    if shape == 1 and q < e:  # a zone: Z or +HH[:]MM
        if b[q] == 90:
            q += 1
        elif (b[q] == 43 or b[q] == 45) and _digits(b, q + 1, e, 2):
            t = q + 3
            if t < e and b[t] == 58:
                t += 1
            if _digits(b, t, e, 2):
                zh = _two(b, q + 1)
                zm = _two(b, t)
                if zh > 23 or zm > 59:
                    return 0
                ms += (zh * 3600000 + zm * 60000) * (1 if b[q] == 45 else -1)
                q = t + 2
    ms_out[0] = ms
    end_out[0] = q
    return 1


cdef inline Py_ssize_t _skip_blanks(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    while p < e and _blank(b[p]):
        p += 1
    return p


cdef inline Py_ssize_t _field_end(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    while p < e and not _blank(b[p]):
        p += 1
    return p


cdef inline bint _separator(const uint8_t* b, Py_ssize_t p, Py_ssize_t q) noexcept nogil:
    """A field [p, q) made only of - | : characters."""
    cdef Py_ssize_t k
    if q == p:
        return False
    for k in range(p, q):
        if b[k] != 45 and b[k] != 124 and b[k] != 58:
            return False
    return True


cdef inline Py_ssize_t _undecided_or_blank(const uint8_t* b, Py_ssize_t s, Py_ssize_t e) noexcept nogil:
    """UNDECIDED for a line over MAX_LINE, BLANK for one of spaces and tabs, else -1."""
    if e - s > MAX_LINE:
        return UNDECIDED
    if _skip_blanks(b, s, e) == e:
        return BLANK
    return -1


cdef int _text_head(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, int64_t reference_ms,
                    int64_t* ms_out, int* level_out, Py_ssize_t* msg_out) noexcept nogil:
    """Classify line [s, e) by the `text` grammar; MALFORMED means no entry (the caller
    decides whether it continues one)."""
    cdef Py_ssize_t p, end = 0
    cdef int klog = -1
    cdef bint bracket, separated
    p = _undecided_or_blank(b, s, e)
    if p >= 0:
        return <int>p
    p = s
    bracket = b[p] == 91
    if bracket:
        p += 1
    if not _text_stamp(b, p, e, reference_ms, ms_out, &end, &klog, ALL_SHAPES):
        return MALFORMED
    p = end
    if bracket:
        if p >= e or b[p] != 93:
            return MALFORMED
        p += 1
    separated = p < e and (b[p] == 44 or b[p] == 124)
    if separated:
        p += 1
    if p < e and not separated and not _blank(b[p]):
        return MALFORMED
    p = _skip_blanks(b, p, e)
    if klog >= 0:
        level_out[0] = klog
        msg_out[0] = p
        return ENTRY
    level_out[0] = _level_in_fields(b, p, e, msg_out)
    return ENTRY


cdef int _level_in_fields(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, Py_ssize_t* msg_out) noexcept nogil:
    """The level named among the first fields from p (the exact path's level_among_fields)
    and where the message starts; NONE_LEVEL and p when none is."""
    cdef Py_ssize_t q, end, rest = p, lend = 0
    cdef int fields = 0, level
    while p < e and fields < LEVEL_FIELDS:
        end = _field_end(b, p, e)
        if not _separator(b, p, end):
            fields += 1
            level = _level_field(b, p, e, &lend)
            if level >= 0:
                q = _skip_blanks(b, lend, e)
                end = _field_end(b, q, e)
                if _separator(b, q, end):
                    q = _skip_blanks(b, end, e)
                msg_out[0] = q
                return level
        p = _skip_blanks(b, end, e)
    msg_out[0] = rest
    return NONE_LEVEL


# -- the `syslog` grammar (lograd/formats/syslog.py says it in words and as the exact path) -----

cdef int SEVERITY_LEVEL[8]
SEVERITY_LEVEL[:] = [7, 7, 6, 5, 4, 3, 2, 1]  # emerg alert crit err warning notice info debug


cdef inline Py_ssize_t _token(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    """``([^ \\t]+) `` at p: where the token ends (its single space follows), or -1."""
    cdef Py_ssize_t q = _field_end(b, p, e)
    if q == p or q >= e or b[q] != 32:
        return -1
    return q


cdef Py_ssize_t _structured_data(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    """RFC 5424 structured data at p (``-`` or ``[...]`` groups): where it ends, or -1."""
    cdef Py_ssize_t q, group_end = -1
    if p < e and b[p] == 45:
        return p + 1
    while p < e and b[p] == 91:  # a group: [ (plain | "quoted" | \\any)* ]
        q = p + 1
        while q < e and b[q] != 93:
            if b[q] == 34:
                q += 1
                while q < e and b[q] != 34:
                    q += 2 if b[q] == 92 else 1
                if q >= e:
                    return group_end
            elif b[q] == 92:
                q += 1
                if q >= e:
                    return group_end
            q += 1
        if q >= e:
            return group_end
        p = group_end = q + 1
    return group_end


cdef int _syslog_head(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, int64_t reference_ms,
                      int64_t* ms_out, int* level_out, Py_ssize_t* msg_out, int64_t* spans) noexcept nogil:
    """Classify line [s, e) by the `syslog` grammar; for an entry also its time, level,
    message start and ``spans``: where its host and program start and end."""
    cdef Py_ssize_t p, q, end = 0, t
    cdef int severity = -1, value, n, klog = 0
    cdef bint pid, colon
    p = _undecided_or_blank(b, s, e)
    if p >= 0:
        return <int>p
    p = s
    if b[p] == 60:  # <PRI>
        q = p + 1
        value = 0
        while q < e and _digit(b[q]) and q - p <= 3:
            value = value * 10 + (b[q] - 48)
            q += 1
        n = <int>(q - p - 1)
        if n == 0 or q >= e or b[q] != 62 or value > 191 or (n > 1 and b[p + 1] == 48):
            return MALFORMED
        severity = value % 8
        p = q + 1
        q = p + 1 if p < e and 49 <= b[p] <= 57 else -1  # VERSION: [1-9]\\d? and a space
        if q > 0 and q < e and _digit(b[q]) and q + 1 < e and b[q + 1] == 32:
            q += 1
        if q > 0 and q < e and b[q] == 32:
            return _rfc5424(b, q + 1, e, reference_ms, severity, ms_out, level_out, msg_out, spans)
    if not _text_stamp(b, p, e, reference_ms, ms_out, &end, &klog, SYSLOG_SHAPES) or end >= e or b[end] != 32:
        return MALFORMED
    q = _token(b, end + 1, e)  # host
    if q < 0:
        return MALFORMED
    spans[0] = end + 1
    spans[1] = q
    p = q + 1
    q = p  # TAG: not blank, '[' or ':'
    while q < e and not _blank(b[q]) and b[q] != 91 and b[q] != 58:
        q += 1
    if q == p:
        return MALFORMED
    spans[2] = p
    spans[3] = q
    pid = False
    if q < e and b[q] == 91:
        t = q + 1
        while t < e and b[t] != 93:
            t += 1
        if t < e:
            pid = True
            q = t + 1
    colon = q < e and b[q] == 58
    if colon:
        q += 1
    if not (colon or pid) or (q < e and not _blank(b[q])):
        return MALFORMED
    if q < e:
        q += 1
    return _syslog_message(b, q, e, severity, level_out, msg_out)


cdef int _rfc5424(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, int64_t reference_ms, int severity,
                  int64_t* ms_out, int* level_out, Py_ssize_t* msg_out, int64_t* spans) noexcept nogil:
    cdef Py_ssize_t end = 0, q
    cdef int klog = 0, k
    if not _text_stamp(b, p, e, reference_ms, ms_out, &end, &klog, ISO_SHAPE) or end >= e or b[end] != 32:
        return MALFORMED
    p = end + 1
    for k in range(4):  # HOST APP PROCID MSGID
        q = _token(b, p, e)
        if q < 0:
            return MALFORMED
        if k < 2:
            spans[2 * k] = p
            spans[2 * k + 1] = q
        p = q + 1
    q = _structured_data(b, p, e)
    if q < 0 or (q < e and b[q] != 32):
        return MALFORMED
    return _syslog_message(b, q + 1 if q < e else q, e, severity, level_out, msg_out)


cdef inline int _syslog_message(const uint8_t* b, Py_ssize_t p, Py_ssize_t e, int severity,
                                int* level_out, Py_ssize_t* msg_out) noexcept nogil:
    if p + 3 <= e and b[p] == 0xEF and b[p + 1] == 0xBB and b[p + 2] == 0xBF:  # a BOM
        p += 3
    if severity < 0:
        level_out[0] = _level_in_fields(b, p, e, msg_out)
    else:
        level_out[0] = SEVERITY_LEVEL[severity]
        msg_out[0] = p
    return ENTRY


cdef int _rt_at(const uint8_t* b, Py_ssize_t i, Py_ssize_t e, int64_t* out, Py_ssize_t* number_out,
                int* places_out) noexcept nogil:
    """The response-time rule tried at ``i``, the start of a word of a message ending at
    ``e``: 1 a match (value in ``out``), 0 none here, -1 undecided (too big for an int64).
    On a match (1 or -1), where its number starts and its places in the outs."""
    cdef Py_ssize_t j = -1, k, int_end, frac_start, frac_end
    cdef uint8_t c = b[i], u
    cdef int places
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
        return 0
    while j < e and SPACE[b[j]]:
        j += 1
    int_end = _number(b, j, e, &frac_start, &frac_end)
    if int_end == j:
        return 0
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
        return 0
    number_out[0] = j
    places_out[0] = places
    return 1 if _fixed(b, j, int_end, frac_start, frac_end, places, out) else -1


cdef Py_ssize_t _keyword_before(const uint8_t* b, Py_ssize_t msg, Py_ssize_t d) noexcept nogil:
    """Where the response-time keyword (``in``, ``took``, ``response_time=``, ``latency=``,
    ``duration=``, or with ``:``) starts that ends just before the white space before
    ``d`` (a number's first digit) in a message starting at ``msg``, at the start of a
    word; -1 when there is none."""
    cdef Py_ssize_t j = d - 1, p
    while j >= msg and SPACE[b[j]]:
        j -= 1
    if j < msg:
        return -1
    if b[j] == 110:  # in
        p = j - 1
        if p < msg or b[p] != 105:
            return -1
    elif b[j] == 107:  # took
        p = j - 3
        if p < msg or not _word_at(b, p, j + 1, b"took", 4):
            return -1
    elif b[j] == 61 or b[j] == 58:
        if j - 13 >= msg and _word_at(b, j - 13, j, b"response_time", 13):
            p = j - 13
        elif j - 7 >= msg and _word_at(b, j - 7, j, b"latency", 7):
            p = j - 7
        elif j - 8 >= msg and _word_at(b, j - 8, j, b"duration", 8):
            p = j - 8
        else:
            return -1
    else:
        return -1
    if p > msg and WORD[b[p - 1]]:
        return -1
    return p


cdef inline int _number_after_keyword(const uint8_t* b, Py_ssize_t msg, Py_ssize_t d, Py_ssize_t e,
                                      int64_t* out, Py_ssize_t* number_out, int* places_out) noexcept nogil:
    """The response-time rule tried at the keyword before the number starting at ``d``, if any."""
    cdef Py_ssize_t p = _keyword_before(b, msg, d)
    return 0 if p < 0 else _rt_at(b, p, e, out, number_out, places_out)


cdef int _response_time(const uint8_t* b, Py_ssize_t msg, Py_ssize_t e, int64_t* out, Py_ssize_t* number_out,
                        int* places_out) noexcept nogil:
    """The first response-time match in [msg, e): 1 found (value in ``out``), 0 none,
    -1 undecided (too big for an int64); on a match, where its number starts and its places
    (as :func:`_rt_at`).

    A match is a keyword, white space, a number: each number's first digit (found eight
    bytes at a time) is looked at in order, and a keyword just before it tried as the
    regular expression would try it there. Keywords come in the order of the numbers after
    them, so the first that matches is the regular expression's first match."""
    cdef Py_ssize_t i = msg, d
    cdef uint64_t word, low7, digits, firsts, carry = 0
    cdef int r
    while i + 8 <= e:
        memcpy(&word, b + i, 8)
        low7 = word & 0x7F7F7F7F7F7F7F7FULL  # bytes 0x30-0x39, exactly (no borrow crosses a byte)
        digits = ((0x0101010101010101ULL * (127 + 0x3A) - low7) & ~word
                  & (low7 + 0x0101010101010101ULL * (127 - 0x2F))) & 0x8080808080808080ULL
        firsts = digits & ~((digits << 8) | carry)  # a digit after one is no number's first
        carry = digits >> 56
        while firsts:
            d = i + (__builtin_ctzll(firsts) >> 3)
            firsts &= firsts - 1
            r = _number_after_keyword(b, msg, d, e, out, number_out, places_out)
            if r:
                return r
        i += 8
    while i < e:
        if _digit(b[i]) and not (i > msg and _digit(b[i - 1])):
            r = _number_after_keyword(b, msg, i, e, out, number_out, places_out)
            if r:
                return r
        i += 1
    return 0


cdef int _signed_number(const uint8_t* b, Py_ssize_t p, Py_ssize_t q, bint units, bint token, int places,
                        int64_t* out) noexcept nogil:
    r"""The fixed value of ``-?\d+(\.\d+)?`` at ``p`` (with ``units``, then a ``%`` or letters),
    ending at ``q`` (with ``token``, at a token gap or ``q``): 1 found, 0 not a number, -1 too
    big for an int64."""
    cdef bint negative = p < q and b[p] == 45
    cdef Py_ssize_t int_start, int_end, frac_start, frac_end, j
    cdef int64_t value
    if negative:
        p += 1
    int_start = p
    int_end = _number(b, p, q, &frac_start, &frac_end)
    if int_end == int_start:
        return 0
    j = frac_end
    if units:
        if j < q and b[j] == 37:  # '%'
            j += 1
        else:
            while j < q and LETTER[b[j]]:
                j += 1
    if j != q and not (token and TOKEN_GAP[b[j]]):
        return 0
    if not _fixed(b, int_start, int_end, frac_start, frac_end, places, &value):
        return -1
    out[0] = -value if negative else value
    return 1


cdef int _metric(const uint8_t* b, Py_ssize_t i, Py_ssize_t msg, Py_ssize_t e,
                 Py_ssize_t* key_out, int64_t* value_out) noexcept nogil:
    """The key=number token around the ``=`` at ``i`` of message [msg, e): 1 found
    (key start and fixed value out), 0 none, -1 undecided (too big for an int64)."""
    cdef Py_ssize_t k = i
    cdef int found
    while k > msg and KEY[b[k - 1]]:
        k -= 1
    if k == i or not KEY_FIRST[b[k]] or (k > msg and not TOKEN_GAP[b[k - 1]]):
        return 0
    found = _signed_number(b, i + 1, e, True, True, 9, value_out)
    if found > 0:
        key_out[0] = k
    return found


# -- formats whose lines carry keys: `logfmt` and `json` (their modules say the rules in words and
# hold the exact paths). A line is decided here only when it is plainly an entry: every doubt
# (an escape, a byte over 0x7f in JSON, a nested value, a repeated JSON key, a malformed line)
# leaves it UNDECIDED for the exact path, which decides it as a whole.

DEF MAX_FIELDS = 64
DEF MAX_ALIASES = 32
DEF KIND_STRING = 0   # quoted: a JSON string, a logfmt quoted value (no escapes here)
DEF KIND_BARE = 1     # a logfmt value without quotes
DEF KIND_INT = 2      # JSON numbers
DEF KIND_FLOAT = 3
DEF KIND_NULL = 4     # JSON null
DEF KIND_OTHER = 5    # JSON true, false
DEF KIND_FLAG = 6     # a logfmt key without a value
DEF GROUP_TIME = 0
DEF GROUP_LEVEL = 1
DEF GROUP_MESSAGE = 2
DEF GROUP_RESPONSE = 3
DEF UNIT_DURATION = -1  # a logfmt response-time key holding a Go duration
DEF NO_RANK = 1 << 20
cdef int64_t EPOCH_END_MS = 253402300800000  # the year 10000
cdef int64_t EPOCH_NS = 100000000000000000, EPOCH_US = 100000000000000, EPOCH_MS = 100000000000
cdef int NUMERIC_LEVEL[6]
NUMERIC_LEVEL[:] = [0, 1, 2, 4, 5, 7]  # TRACE DEBUG INFO WARN ERROR FATAL

cdef struct KeyedField:
    Py_ssize_t key
    Py_ssize_t key_end
    Py_ssize_t value
    Py_ssize_t value_end
    int kind
    int alias  # its index in the grammar's alias table, or -1

cdef char* ALIAS_NAMES[2][MAX_ALIASES]
cdef int ALIAS_LENS[2][MAX_ALIASES]
cdef int ALIAS_GROUPS[2][MAX_ALIASES]
cdef int ALIAS_UNITS[2][MAX_ALIASES]  # places of a response time (json), or UNIT_DURATION
cdef int ALIAS_COUNT[2]
cdef uint32_t ALIAS_BY_FIRST[2][256]  # a bit per key that starts with the byte


cdef extern from *:
    int __builtin_ctz(unsigned int) nogil
_aliases_kept = [[], []]


def set_aliases(int grammar, aliases) -> None:
    """The keys a keyed grammar reads, each ``(name, group, unit)`` in order of precedence
    within its group (0 time, 1 level, 2 message, 3 response time; ``unit``: the decimal
    places of a response-time value in fixed ms — 9 for ms, 3 for ns — or -1 for a Go
    duration). Said once by the format's module, so its keys are written in one place."""
    cdef int g = grammar - GRAMMAR_LOGFMT, i
    if not 0 <= g < 2 or len(aliases) > MAX_ALIASES:
        raise ValueError("not a keyed grammar, or too many keys")
    _aliases_kept[g] = [name for name, _, _ in aliases]
    for i in range(256):
        ALIAS_BY_FIRST[g][i] = 0
    for i, (name, group, unit) in enumerate(aliases):
        ALIAS_NAMES[g][i] = _aliases_kept[g][i]
        ALIAS_LENS[g][i] = len(name)
        ALIAS_GROUPS[g][i] = group
        ALIAS_UNITS[g][i] = unit
        ALIAS_BY_FIRST[g][name[0]] |= 1u << i
    ALIAS_COUNT[g] = len(aliases)


cdef int _alias(int g, const uint8_t* b, Py_ssize_t k, Py_ssize_t ke) noexcept nogil:
    cdef int i, n = <int>(ke - k), j
    cdef uint32_t candidates = ALIAS_BY_FIRST[g][b[k]]  # the few keys with this first byte
    while candidates:
        i = __builtin_ctz(candidates)
        candidates &= candidates - 1
        if ALIAS_LENS[g][i] != n:
            continue
        for j in range(1, n):
            if <uint8_t>ALIAS_NAMES[g][i][j] != b[k + j]:
                break
        else:
            return i
    return -1


cdef inline bint _logfmt_stop(uint8_t c) noexcept nogil:
    return c == 32 or c == 9 or c == 34  # blank or '"'


cdef int _logfmt_fields(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, KeyedField* f) noexcept nogil:
    """The fields of a logfmt line, or -1 when the exact path must decide it."""
    cdef Py_ssize_t p = _skip_blanks(b, s, e)
    cdef int n = 0
    while p < e:
        if n == MAX_FIELDS:
            return -1
        f[n].key = p
        while p < e and not _logfmt_stop(b[p]) and b[p] != 61:
            p += 1
        if p == f[n].key:
            return -1
        f[n].key_end = p
        if p < e and b[p] == 61:
            p += 1
            if p < e and b[p] == 34:
                p += 1
                f[n].value = p
                while p < e and b[p] != 34:
                    if b[p] == 92:  # an escape: the exact path unquotes it
                        return -1
                    p += 1
                if p == e:
                    return -1
                f[n].value_end = p
                f[n].kind = KIND_STRING
                p += 1
            else:
                f[n].value = p
                while p < e and not _logfmt_stop(b[p]):
                    p += 1
                f[n].value_end = p
                f[n].kind = KIND_BARE
        else:
            f[n].value = f[n].value_end = p
            f[n].kind = KIND_FLAG
        if p < e and not _blank(b[p]):
            return -1
        p = _skip_blanks(b, p, e)
        n += 1
    return n


cdef inline Py_ssize_t _json_space(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    while p < e and (b[p] == 32 or b[p] == 9 or b[p] == 13):
        p += 1
    return p


cdef inline Py_ssize_t _json_string(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    """The closing quote of the string whose first byte is at ``p``; -1 for an escape, a
    control byte or a byte over 0x7f (the exact path decodes those), or no end."""
    cdef uint8_t c
    while p < e:
        c = b[p]
        if c == 34:
            return p
        if c == 92 or c < 32 or c > 126:
            return -1
        p += 1
    return -1


cdef int _json_fields(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, KeyedField* f) noexcept nogil:
    """The members of a one-line JSON object of plain values, or -1 when the exact path
    must decide the line."""
    cdef Py_ssize_t p = _skip_blanks(b, s, e), q
    cdef int n = 0, i
    if p == e or b[p] != 123:
        return -1
    p = _json_space(b, p + 1, e)
    if p < e and b[p] == 125:
        return -1
    while True:
        if n == MAX_FIELDS or p == e or b[p] != 34:
            return -1
        f[n].key = p + 1
        p = _json_string(b, p + 1, e)
        if p < 0:
            return -1
        f[n].key_end = p
        for i in range(n):  # a repeated key: msgspec keeps the last; the exact path decides
            if (f[i].key_end - f[i].key == p - f[n].key
                    and memcmp(b + f[i].key, b + f[n].key, p - f[n].key) == 0):
                return -1
        p = _json_space(b, p + 1, e)
        if p == e or b[p] != 58:
            return -1
        p = _json_space(b, p + 1, e)
        if p == e:
            return -1
        if b[p] == 34:
            f[n].value = p + 1
            p = _json_string(b, p + 1, e)
            if p < 0:
                return -1
            f[n].value_end = p
            f[n].kind = KIND_STRING
            p += 1
        elif b[p] == 45 or _digit(b[p]):  # -?(0|[1-9]\d*)(\.\d+)?, no exponent here
            f[n].value = p
            q = p + 1 if b[p] == 45 else p
            if q == e or not _digit(b[q]):
                return -1
            if b[q] == 48 and q + 1 < e and _digit(b[q + 1]):
                return -1
            while q < e and _digit(b[q]):
                q += 1
            f[n].kind = KIND_INT
            if q < e and b[q] == 46:
                q += 1
                if q == e or not _digit(b[q]):
                    return -1
                while q < e and _digit(b[q]):
                    q += 1
                f[n].kind = KIND_FLOAT
            if q < e and (b[q] == 101 or b[q] == 69):
                return -1
            f[n].value_end = p = q
        elif _word_at(b, p, e, b"null", 4):
            f[n].value = p
            f[n].value_end = p = p + 4
            f[n].kind = KIND_NULL
        elif _word_at(b, p, e, b"true", 4) or _word_at(b, p, e, b"false", 5):
            f[n].value = p
            f[n].value_end = p = p + (4 if b[p] == 116 else 5)
            f[n].kind = KIND_OTHER
        else:
            return -1  # a nested object or array: the exact path
        n += 1
        p = _json_space(b, p, e)
        if p == e:
            return -1
        if b[p] == 125:
            break
        if b[p] != 44:
            return -1
        p = _json_space(b, p + 1, e)
    if _json_space(b, p + 1, e) != e:
        return -1
    return n


cdef int _epoch(const uint8_t* b, Py_ssize_t p, Py_ssize_t q, int64_t* ms_out) noexcept nogil:
    r"""An epoch number ``\d+(\.\d+)?`` read by its magnitude (``timestamps.epoch_ms``):
    1 with its ms, 0 when it is not one (or too big to read here)."""
    cdef Py_ssize_t w = p, f
    cdef int64_t whole = 0, frac = 0, ms
    cdef int places = 0
    while w < q and _digit(b[w]):
        w += 1
    if w == p:
        return 0
    f = w
    if w < q:
        if b[w] != 46 or w + 1 == q:
            return 0
        f = w + 1
        while f < q and _digit(b[f]):
            if places < 3:
                frac = frac * 10 + (b[f] - 48)
                places += 1
            f += 1
        if f != q:
            return 0
    while p < w and b[p] == 48:
        p += 1
    if w - p > 18:
        return 0
    for f in range(p, w):
        whole = whole * 10 + (b[f] - 48)
    while places < 3:
        frac *= 10
        places += 1
    if whole >= EPOCH_NS:
        ms = whole // 1000000
    elif whole >= EPOCH_US:
        ms = whole // 1000
    elif whole >= EPOCH_MS:
        ms = whole
    else:
        ms = whole * 1000 + frac
    if ms >= EPOCH_END_MS:
        return 0
    ms_out[0] = ms
    return 1


cdef int _go_duration(const uint8_t* b, Py_ssize_t p, Py_ssize_t q, int64_t* out) noexcept nogil:
    """A Go duration (``1m2.5s``) filling [p, q) in fixed ms: 1 found, 0 not one, -1 too big."""
    cdef Py_ssize_t int_end, frac_start, frac_end, j
    cdef int64_t total = 0, part, factor
    cdef int places
    if p == q:
        return 0
    while p < q:
        int_end = _number(b, p, q, &frac_start, &frac_end)
        if int_end == p:
            return 0
        j = frac_end
        factor = 1
        if j + 1 < q and b[j] == 110 and b[j + 1] == 115:  # ns
            places = 3
            j += 2
        elif j + 1 < q and b[j] == 117 and b[j + 1] == 115:  # us
            places = 6
            j += 2
        elif j + 2 < q and b[j] == 0xC2 and b[j + 1] == 0xB5 and b[j + 2] == 115:  # µs
            places = 6
            j += 3
        elif j + 1 < q and b[j] == 109 and b[j + 1] == 115:  # ms
            places = 9
            j += 2
        elif j < q and (b[j] == 115 or b[j] == 109 or b[j] == 104):  # s, m, h
            places = 12
            factor = 1 if b[j] == 115 else (60 if b[j] == 109 else 3600)
            j += 1
        else:
            return 0
        if not _fixed(b, p, int_end, frac_start, frac_end, places, &part):
            return -1
        if part > (<int64_t>0x7FFFFFFFFFFFFFFF - total) // factor:
            return -1
        total += part * factor
        p = j
    out[0] = total
    return 1


cdef bint _metric_key(const uint8_t* b, Py_ssize_t k, Py_ssize_t ke) noexcept nogil:
    """A key a resource may be named by here: printable ASCII (the exact path decodes others)."""
    while k < ke:
        if b[k] < 32 or b[k] > 126:
            return False
        k += 1
    return True


cdef int _keyed_line(int grammar, const uint8_t* b, Py_ssize_t s, Py_ssize_t e, ScanState* st,
                     Line* ln, LineMetrics* mx) noexcept nogil:
    """Decide a logfmt or JSON line [s, e) and, for an entry, its time, level and where its
    message starts and ends (empty: none); for an entry inside the window, its response time
    and its resources (keys' and the message's) in ``mx``."""
    cdef KeyedField f[MAX_FIELDS]
    cdef int g = grammar - GRAMMAR_LOGFMT, n, i, a, found, level, valued = 0, distinct = 0, first = -1
    cdef int best[4]
    cdef int best_rank[4]
    cdef int first_of[MAX_ALIASES]
    cdef int64_t ms, value
    cdef Py_ssize_t msg = s, msg_end = s, i_eq, k, t, rt_number
    cdef int rt_places
    cdef KeyedField* x
    if e - s > MAX_LINE:
        return UNDECIDED
    if _skip_blanks(b, s, e) == e:
        return BLANK
    n = _logfmt_fields(b, s, e, f) if grammar == GRAMMAR_LOGFMT else _json_fields(b, s, e, f)
    if n < 0:
        return UNDECIDED
    for a in range(4):
        best[a] = -1
        best_rank[a] = NO_RANK
    for a in range(ALIAS_COUNT[g]):
        first_of[a] = -1
    for i in range(n):
        x = &f[i]
        if x.kind == KIND_FLAG:
            x.alias = -1
            continue
        if first < 0:
            first = i
        elif distinct == 0 and (x.key_end - x.key != f[first].key_end - f[first].key or memcmp(
                b + x.key, b + f[first].key, x.key_end - x.key) != 0):
            distinct = 1
        valued += 1
        a = _alias(g, b, x.key, x.key_end)
        x.alias = a
        if a < 0:
            continue
        if first_of[a] < 0:
            first_of[a] = i
        if a < best_rank[ALIAS_GROUPS[g][a]]:
            best_rank[ALIAS_GROUPS[g][a]] = a
            best[ALIAS_GROUPS[g][a]] = i
    if grammar == GRAMMAR_LOGFMT and (valued < 2 or not distinct):
        return UNDECIDED  # fewer than two pairs: not an entry, which the exact path says
    # the time
    if best[GROUP_TIME] < 0:
        return UNDECIDED
    x = &f[best[GROUP_TIME]]
    if x.kind == KIND_STRING or x.kind == KIND_BARE:
        if _iso_stamp(b, x.value, x.value_end, st.day_cache, &ms) != x.value_end:
            if grammar == GRAMMAR_JSON or not _epoch(b, x.value, x.value_end, &ms):
                return UNDECIDED
    elif x.kind == KIND_INT or x.kind == KIND_FLOAT:
        if not _epoch(b, x.value, x.value_end, &ms):
            return UNDECIDED
    else:
        return UNDECIDED
    # the level
    level = -1
    if best[GROUP_LEVEL] >= 0:
        x = &f[best[GROUP_LEVEL]]
        if x.kind == KIND_STRING or x.kind == KIND_BARE:
            k = x.value
            while k < x.value_end and LETTER[b[k]]:
                k += 1
            if k == x.value_end and k > x.value:
                level = _text_level(b, x.value, x.value_end)
        elif x.kind == KIND_INT and x.value_end - x.value == 2 and b[x.value + 1] == 48:
            if 49 <= b[x.value] <= 54:  # pino's and bunyan's 10 ... 60
                level = NUMERIC_LEVEL[b[x.value] - 49]
    if level < 0:
        if grammar == GRAMMAR_JSON:
            return UNDECIDED  # json: an unknown or missing level is malformed
        level = NONE_LEVEL
    # the message
    if best[GROUP_MESSAGE] >= 0:
        x = &f[best[GROUP_MESSAGE]]
        if x.kind == KIND_STRING or x.kind == KIND_BARE:
            msg = x.value
            msg_end = x.value_end
        elif x.kind != KIND_NULL:
            return UNDECIDED
    if not _entry_head(st, ln, ms, level, msg, msg_end):
        return ENTRY
    # the response time: a key's, else the message's rule
    found = 0
    if grammar == GRAMMAR_JSON:
        if best[GROUP_RESPONSE] >= 0:
            x = &f[best[GROUP_RESPONSE]]
            if x.kind == KIND_INT or x.kind == KIND_FLOAT:
                found = _signed_number(b, x.value, x.value_end, False, False,
                                       ALIAS_UNITS[g][best_rank[GROUP_RESPONSE]], &value)
                if found < 0 or value < 0:
                    return UNDECIDED
    else:
        for a in range(ALIAS_COUNT[g]):
            if ALIAS_GROUPS[g][a] != GROUP_RESPONSE or first_of[a] < 0:
                continue
            x = &f[first_of[a]]
            found = 0
            if ALIAS_UNITS[g][a] == UNIT_DURATION:
                found = _go_duration(b, x.value, x.value_end, &value)
            elif x.value < x.value_end and b[x.value] != 45:
                found = _signed_number(b, x.value, x.value_end, False, False, ALIAS_UNITS[g][a], &value)
            if found < 0:
                return UNDECIDED
            if found:
                break
    if not found:
        found = _response_time(b, msg, msg_end, &value, &rt_number, &rt_places)
        if found < 0:
            return UNDECIDED
    ln.has_rt = found
    ln.rt = value if found else 0
    # resources: numeric values of other keys, then the message's key=value tokens
    for i in range(n):
        x = &f[i]
        if x.alias >= 0 or x.kind == KIND_FLAG:
            continue
        if grammar == GRAMMAR_JSON:
            if x.kind != KIND_INT and x.kind != KIND_FLOAT:
                continue
            found = _signed_number(b, x.value, x.value_end, False, False, 9, &value)
        else:
            found = _signed_number(b, x.value, x.value_end, True, False, 9, &value)
        if found == 0:
            continue
        if found < 0 or not _metric_key(b, x.key, x.key_end) or not _add_metric(mx, x.key, x.key_end, value):
            mx.n = 0
            return UNDECIDED
    if not _message_metrics(b, msg, msg_end, mx):
        mx.n = 0
        return UNDECIDED
    ln.inside = 1
    return ENTRY


cdef inline bint _entry_head(ScanState* st, Line* ln, int64_t ms, int level, Py_ssize_t msg,
                             Py_ssize_t msg_end) noexcept nogil:
    """Keep an entry's time, level and message in ``ln``; whether its response time and
    resources are to be read (it lies inside the window, and not only heads are read)."""
    ln.ms = ms
    ln.level = level
    ln.msg = msg
    ln.msg_end = msg_end
    return not (st.heads_only or ms < st.low or ms > st.high)


cdef inline bint _add_metric(LineMetrics* mx, Py_ssize_t k, Py_ssize_t ke, int64_t value) noexcept nogil:
    """Keep one resource of a line; False when the line has more than LINE_METRICS."""
    if mx.n == LINE_METRICS:
        return False
    mx.key[mx.n] = k
    mx.key_end[mx.n] = ke
    mx.value[mx.n] = value
    mx.rid[mx.n] = -1
    mx.n += 1
    return True


cdef bint _message_metrics(const uint8_t* b, Py_ssize_t msg, Py_ssize_t e, LineMetrics* mx) noexcept nogil:
    """Add the ``key=value`` tokens of message [msg, e) to ``mx`` (found from their ``=``);
    False when the line is undecided (a value too big for an int64, too many resources)."""
    cdef Py_ssize_t i = msg, k
    cdef int64_t value
    cdef int found
    cdef const uint8_t* at
    while i < e:
        at = <const uint8_t*>memchr(b + i, 61, e - i)
        if at == NULL:
            break
        i = at - b
        found = _metric(b, i, msg, e, &k, &value)
        if found < 0 or (found and not _add_metric(mx, k, i, value)):
            return False
        i += 1
    return True


cdef Py_ssize_t _cri_content(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, int64_t* day_cache,
                              uint8_t* tag_out, int64_t* ms_out) noexcept nogil:
    """Where the content of a CRI line starts (``TIME STREAM TAG CONTENT``: an RFC 3339 time
    with ``T`` and a zone, ``stdout`` or ``stderr``, ``F`` or ``P``), its tag and time in
    ``tag_out`` and ``ms_out``; -1 when the line is none (container.py's ``_CRI`` and
    ``parse_timestamp``)."""
    cdef Py_ssize_t p = _iso_stamp(b, s, e, day_cache, ms_out)
    if p < 0 or b[s + 10] != 84:
        return -1
    if b[p - 1] != 90 and not (p - s >= 25 and (b[p - 6] == 43 or b[p - 6] == 45) and b[p - 3] == 58):
        return -1  # the zone is required, with its colon
    if p + 9 > e or b[p] != 32:
        return -1
    p += 1
    if not (_word_at(b, p, e, b"stdout ", 7) or _word_at(b, p, e, b"stderr ", 7)):
        return -1
    p += 7
    if b[p] != 70 and b[p] != 80:
        return -1
    tag_out[0] = b[p]
    p += 1
    if p == e:
        return p
    return p + 1 if b[p] == 32 else -1


cdef int _decide(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, ScanState* st, Line* ln,
                 LineMetrics* mx) noexcept nogil:
    """Decide line [s, e) (no newline) by ``st``'s grammar and wrapper into ``ln``: its kind;
    for an entry its time, level and message; for an entry inside the window (not with
    ``heads_only``) its response time and resources (``mx``). The kind is returned too.

    With WRAPPER_CRI the line is a container runtime's and the grammar reads its content; it
    is decided only when it is a whole CRI line (tag ``F``, not after a ``P``) whose content
    is an entry, or plain output: any other line is UNDECIDED, for the exact path that joins
    split lines."""
    cdef Py_ssize_t hs = s, msg = 0, number
    cdef uint8_t tag = 0
    cdef int64_t wrap_ms = 0, ms = 0
    cdef int level = 0, kind, places
    ln.inside = 0
    ln.has_rt = 0
    ln.body_pending = 0
    mx.n = 0
    if st.wrapper == WRAPPER_CRI:
        hs = -1 if e - s > MAX_LINE else _cri_content(b, s, e, st.wrap_cache, &tag, &wrap_ms)
        if hs < 0 or st.after_partial or tag == 80:  # not a whole CRI line: the exact path
            st.after_partial = hs >= 0 and tag == 80  # reads its record, split ones joined
            ln.kind = UNDECIDED
            return UNDECIDED
    if st.grammar == GRAMMAR_ACCESS:
        kind = _access_line(b, hs, e, st, ln)
        ln.kind = kind if kind == ENTRY or st.wrapper == WRAPPER_NONE else UNDECIDED
        return ln.kind
    if st.grammar == GRAMMAR_LOGFMT or st.grammar == GRAMMAR_JSON:
        kind = _keyed_line(st.grammar, b, hs, e, st, ln, mx)
        ln.kind = kind if kind == ENTRY or st.wrapper == WRAPPER_NONE else UNDECIDED
        return ln.kind
    if st.grammar == GRAMMAR_TEXT:
        kind = _text_head(b, hs, e, st.reference_ms, &ms, &level, &msg)
    elif st.grammar == GRAMMAR_SYSLOG:
        kind = _syslog_head(b, hs, e, st.reference_ms, &ms, &level, &msg, ln.spans)
    else:
        kind = _head(b, hs, e, st, &ms, &level, &msg)
    if st.wrapper != WRAPPER_NONE and kind != ENTRY:
        if (kind == MALFORMED or kind == BLANK) and st.grammar != GRAMMAR_SYSLOG:
            kind = ENTRY  # plain output: an entry at the wrapper's time, its level among
            ms = wrap_ms  # the first fields (container.py's entry_of)
            level = _level_in_fields(b, hs, e, &msg)
        else:
            kind = UNDECIDED
    ln.kind = kind
    if kind != ENTRY:
        return kind
    if not _entry_head(st, ln, ms, level, msg, e):
        return ENTRY
    if st.defer_body:
        ln.body_pending = 1
        return ENTRY
    return _message_body(b, ln, mx, &number, &places)


cdef inline int _undecided(Line* ln, LineMetrics* mx) noexcept nogil:
    """A line found undecided while its message was read: no resources kept."""
    mx.n = 0
    ln.kind = UNDECIDED
    return UNDECIDED


cdef inline bint _has_digit(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if _digit(p[i]):
            return True
    return False


cdef inline bint _fixed_at(const uint8_t* b, Py_ssize_t j, Py_ssize_t e, int places, int64_t* out) noexcept nogil:
    r"""The fixed value of the number at ``j`` (``\d+(\.\d+)?``, before ``e``) scaled by
    10**places; False when it may not fit an int64."""
    cdef Py_ssize_t frac_start, frac_end
    cdef Py_ssize_t int_end = _number(b, j, e, &frac_start, &frac_end)
    return _fixed(b, j, int_end, frac_start, frac_end, places, out)


cdef inline bint _fixed_shaped(const uint8_t* d, int64_t digits, int64_t fraction, int places,
                               int64_t* out) noexcept nogil:
    """:func:`_fixed` of a number whose extent is known (``digits`` before the point at ``d``,
    ``fraction`` after it), when it fits whatever its digits are; False when it may not (it
    may still, with leading zeros: :func:`_fixed_at` decides)."""
    cdef int64_t value = 0, k
    if digits + places > MAX_FIXED_DIGITS:
        return False
    for k in range(digits):
        value = value * 10 + (d[k] - 48)
    if fraction > places:
        fraction = places
    for k in range(fraction):
        value = value * 10 + (d[digits + 1 + k] - 48)
    out[0] = value * POWERS_OF_TEN[places - fraction]
    return True


cdef int _message_body(const uint8_t* b, Line* ln, LineMetrics* mx, Py_ssize_t* number_out,
                       int* places_out) noexcept nogil:
    """Read the response time and resources of an entry inside the window from its message;
    its kind: ENTRY, or UNDECIDED (a value too big, too many resources). Where the response
    time's number starts (-1: none) and its places in the outs."""
    cdef int64_t value = 0
    cdef int found = _response_time(b, ln.msg, ln.msg_end, &value, number_out, places_out)
    if found <= 0:
        number_out[0] = -1
    if found < 0 or not _message_metrics(b, ln.msg, ln.msg_end, mx):
        return _undecided(ln, mx)
    ln.inside = 1
    ln.has_rt = found
    ln.rt = value if found else 0
    return ENTRY


cdef void _start(ScanState* st, int grammar, int wrapper, int64_t reference_ms, int64_t low, int64_t high,
                 bint heads_only) noexcept nogil:
    cdef int i
    st.grammar = grammar
    st.wrapper = wrapper
    st.reference_ms = reference_ms
    st.low = low
    st.high = high
    st.heads_only = heads_only
    st.defer_body = False
    for i in range(STAMP_CACHE):
        st.day_cache[i] = st.wrap_cache[i] = 0
    st.level_word, st.level_mask, st.level_length, st.level_id = 1, 0, 0, 0  # matches nothing
    st.day_cache[0] = st.wrap_cache[0] = -1
    st.after_partial = False


def scan_heads(const uint8_t[::1] buf, const int64_t[::1] newlines, int grammar, int64_t reference_ms,
               int64_t[::1] starts, uint8_t[::1] kinds, int64_t[::1] stamps) -> None:
    """Each line's start, kind and, for an entry, time (``len(kinds)`` lines; ``newlines``:
    where the block's ``\\n`` bytes are): the newest-entry scan of ``--last`` and follow
    mode's time buckets, which read no response time or resource. ``grammar`` says how a
    line's head is read, ``reference_ms`` dates `text` stamps without a year."""
    cdef Py_ssize_t size = buf.shape[0], n = kinds.shape[0], n_nl = newlines.shape[0]
    cdef Py_ssize_t line, s = 0, nl, e
    cdef const uint8_t* b = &buf[0] if size else NULL
    cdef ScanState st
    cdef Line ln
    cdef LineMetrics mx
    _start(&st, grammar, WRAPPER_NONE, reference_ms, 0, 0, True)
    with nogil:
        for line in range(n):
            nl = newlines[line] if line < n_nl else size
            e = nl - 1 if nl > s and b[nl - 1] == 13 else nl
            starts[line] = s
            kinds[line] = _decide(b, s, e, &st, &ln, &mx)
            stamps[line] = ln.ms
            s = nl + 1


DEF MAX_HOST_KEY = 16  # hosts of up to 16 bytes are their own 128-bit key
cdef int64_t MS_THRESHOLD = 100000000000  # conn timestamps at or above: milliseconds (SPEC §1)
cdef int64_t MAX_MS = 253402300800000  # the year 10000: not writable in ISO 8601


cdef inline bint _gap(uint8_t c) noexcept nogil:
    return c == 32 or c == 9


cdef inline uint64_t _zero_bytes(uint64_t x) noexcept nogil:
    """A flag (0x80) in each byte of ``x`` that is zero, exactly (no borrow crosses bytes)."""
    return ~(((x & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | x | 0x7F7F7F7F7F7F7F7FULL)


cdef int _host(const uint8_t* b, Py_ssize_t* at, Py_ssize_t e, Py_ssize_t limit, uint64_t* k0,
               uint64_t* k1) noexcept nogil:
    """The host token at ``at[0]`` (advanced past it) of a line ending at ``e``: 1 a key, 0
    no token, -1 undecided (longer than 16 bytes, or holding a NUL, which the zero padding
    could not tell apart). Bytes up to ``limit`` (the block's end) may be read past ``e``."""
    cdef Py_ssize_t p = at[0], k
    cdef uint64_t lo = 0, hi = 0, w0, w1, m0, m1
    cdef bint odd = False
    if p + 17 <= limit:  # the token's end found in two words (the line's end counts as a gap)
        memcpy(&w0, b + p, 8)
        memcpy(&w1, b + p + 8, 8)
        m0 = _zero_bytes(w0 ^ 0x2020202020202020ULL) | _zero_bytes(w0 ^ 0x0909090909090909ULL)
        m1 = _zero_bytes(w1 ^ 0x2020202020202020ULL) | _zero_bytes(w1 ^ 0x0909090909090909ULL)
        if e - p < 8:
            m0 |= 0x80ULL << (8 * (e - p))
        elif e - p < 16:
            m1 |= 0x80ULL << (8 * (e - p - 8))
        if m0 or m1 or e - p == 16 or _gap(b[p + 16]):
            if m0:
                k = __builtin_ctzll(m0) >> 3
                lo = w0 & ((1ULL << (8 * k)) - 1) if k else 0
            elif m1:
                k = 8 + (__builtin_ctzll(m1) >> 3)
                lo = w0
                hi = w1 & ((1ULL << (8 * (k - 8))) - 1) if k > 8 else 0
            else:
                k = 16
                lo, hi = w0, w1
            at[0] = p + k
            if k == 0:
                return 0
            # a NUL among the token's bytes: the zero padding could not tell it apart
            if _zero_bytes(w0) & ((1ULL << (8 * k)) - 1 if k < 8 else 0xFFFFFFFFFFFFFFFFULL) or (
                    k > 8 and _zero_bytes(w1) & ((1ULL << (8 * (k - 8))) - 1 if k < 16 else 0xFFFFFFFFFFFFFFFFULL)):
                return -1
            k0[0] = lo
            k1[0] = hi
            return 1
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


cdef int _conn_line(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, Py_ssize_t limit, int64_t* ms_out,
                    uint64_t* keys) noexcept nogil:
    """Classify conn line [s, e) by ``(\\d+)[ \\t]+([^ \\t]+)[ \\t]+([^ \\t]+)[ \\t]*``."""
    cdef Py_ssize_t p = s
    cdef int64_t number = 0
    cdef uint64_t word, word2, more
    cdef int got, k
    if e - s > MAX_LINE:
        return UNDECIDED
    while p < e and _gap(b[p]):
        p += 1
    if p == e:
        return BLANK
    p = s
    if s + 8 <= e:  # eight digits in one word (epoch times have 10 or 13)
        memcpy(&word, b + s, 8)
        if (word & 0xF0F0F0F0F0F0F0F0ULL) == 0x3030303030303030ULL and (
                (word + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) == 0x3030303030303030ULL:
            word -= 0x3030303030303030ULL  # the first digit is the lowest byte: the most significant
            word = (word * 10 + (word >> 8)) & 0x00FF00FF00FF00FFULL
            word = (word * 100 + (word >> 16)) & 0x0000FFFF0000FFFFULL
            word = (word * 10000 + (word >> 32)) & 0xFFFFFFFFULL
            number = <int64_t>word
            p = s + 8
            if p + 8 <= limit:  # the digits after them in one more word (13 in epoch ms)
                memcpy(&word, b + p, 8)
                # a byte is a digit when both tests give 0x30; a carry out of a non-digit only
                # reaches bytes after it, past the first non-digit, which is all that counts
                word2 = ((word & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL) | (
                    ((word + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL)
                more = ~_zero_bytes(word2) & 0x8080808080808080ULL  # a flag on each non-digit
                if more:
                    k = __builtin_ctzll(more) >> 3  # the digits before the first non-digit
                    if k:
                        word = ((word - 0x3030303030303030ULL) & ((1ULL << (8 * k)) - 1)) << (8 * (8 - k))
                        word = (word * 10 + (word >> 8)) & 0x00FF00FF00FF00FFULL
                        word = (word * 100 + (word >> 16)) & 0x0000FFFF0000FFFFULL
                        word = (word * 10000 + (word >> 32)) & 0xFFFFFFFFULL
                        number = number * POWERS_OF_TEN[k] + <int64_t>word
                        p += k
    while p < e and _digit(b[p]):
        if p - s < 16:
            number = number * 10 + (b[p] - 48)
        p += 1
    if p == s or p - s > 16 or p == e or not _gap(b[p]):
        return MALFORMED
    while p < e and _gap(b[p]):
        p += 1
    got = _host(b, &p, e, limit, &keys[0], &keys[1])
    if got == 0 or p == e:
        return MALFORMED
    if got < 0:
        return UNDECIDED
    while p < e and _gap(b[p]):
        p += 1
    got = _host(b, &p, e, limit, &keys[2], &keys[3])
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


@cython.final
cdef class HostTable:
    """Counts per host key (two words; a host's first word is never 0), open addressing."""

    cdef uint64_t[::1] k0
    cdef uint64_t[::1] k1
    cdef int64_t[::1] n
    cdef Py_ssize_t used, mask

    def __init__(self, int bits=10):
        self._allocate(bits)

    cdef int _allocate(self, int bits) except -1:
        import numpy as np
        self.k0 = np.zeros(1 << bits, np.uint64)
        self.k1 = np.zeros(1 << bits, np.uint64)
        self.n = np.zeros(1 << bits, np.int64)
        self.used = 0
        self.mask = (1 << bits) - 1

    cdef inline int add(self, uint64_t a, uint64_t b, int64_t count) except -1:
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

    cdef int _grow(self) except -1:
        cdef uint64_t[::1] k0 = self.k0, k1 = self.k1
        cdef int64_t[::1] n = self.n
        cdef Py_ssize_t i, bits = 1
        while (1 << bits) <= self.mask:
            bits += 1
        self._allocate(bits + 1)
        for i in range(k0.shape[0]):
            if k0[i] != 0:
                self.add(k0[i], k1[i], n[i])
        return 0

    def items(self):
        """(first words, second words, counts) of the hosts counted, as numpy arrays."""
        import numpy as np
        k0, k1, n = np.asarray(self.k0), np.asarray(self.k1), np.asarray(self.n)
        held = k0 != 0
        return k0[held], k1[held], n[held]


def scan_conn(const uint8_t[::1] buf, const int64_t[::1] newlines, int64_t[::1] starts, int64_t[::1] ends,
              uint8_t[::1] kinds, int64_t[::1] stamps) -> None:
    """Each conn line's start, end, kind and time (``len(kinds)`` lines): the newest-entry scan
    of ``--last`` and follow mode's time buckets (:class:`ConnRuns` counts a chunk)."""
    cdef Py_ssize_t size = buf.shape[0], n = kinds.shape[0], n_nl = newlines.shape[0]
    cdef Py_ssize_t line, s = 0, nl, e
    cdef int64_t ms = 0
    cdef uint64_t keys[4]
    cdef const uint8_t* b = &buf[0] if size else NULL
    for line in range(n):
        nl = newlines[line] if line < n_nl else size
        e = nl - 1 if nl > s and b[nl - 1] == 13 else nl
        starts[line] = s
        ends[line] = e
        kinds[line] = _conn_line(b, s, e, size, &ms, keys)
        stamps[line] = ms
        s = nl + 1


# -- web access logs (lograd/formats/access.py says the grammar in words and holds the exact path) --

from libc.stdlib cimport malloc, realloc, free


cdef inline bint _same(const uint8_t* a, const uint8_t* b, Py_ssize_t n) noexcept nogil:
    """Whether [a, a + n) and [b, b + n) hold the same bytes (short strings: no call)."""
    cdef uint64_t x, y
    cdef Py_ssize_t i = 0
    if n < 8:
        for i in range(n):
            if a[i] != b[i]:
                return False
        return True
    while i + 8 < n:
        memcpy(&x, a + i, 8)
        memcpy(&y, b + i, 8)
        if x != y:
            return False
        i += 8
    memcpy(&x, a + n - 8, 8)  # the last eight, which may overlap the ones before
    memcpy(&y, b + n - 8, 8)
    return x == y


cdef inline uint64_t _hash_word(uint64_t h, uint64_t word, bint tail) noexcept nogil:
    """One step of :func:`_span_hash`: its state after ``word``; ``tail``: the string's last
    word, overlapping the one before (or its only one, shorter than eight bytes)."""
    return (h << 5) - h + word * (0xC2B2AE3D27D4EB4FULL if tail else 0x9E3779B97F4A7C15ULL)


cdef inline uint64_t _hash_end(uint64_t h) noexcept nogil:
    h ^= h >> 32
    h *= 0x9E3779B97F4A7C15ULL
    return h ^ (h >> 29)


cdef inline uint64_t _span_hash(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    """A 64-bit hash of [p, p + n) for :class:`SpanTable`, eight bytes a step (user agents are
    long), the last eight overlapping the ones before: each word's product is independent of
    the others, so the steps overlap in the CPU. :func:`_skeleton` makes the same."""
    cdef uint64_t h = 1469598103934665603ULL ^ <uint64_t>n, word
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        memcpy(&word, p + i, 8)
        h = _hash_word(h, word, False)
        i += 8
    if i < n:
        word = 0
        if n >= 8:
            memcpy(&word, p + n - 8, 8)
        else:  # byte by byte: a memcpy of a variable length is a call
            while i < n:
                word |= (<uint64_t>p[i]) << (8 * i)
                i += 1
        h = _hash_word(h, word, True)
    return _hash_end(h)


@cython.final
cdef class SpanTable:
    """Distinct byte strings, each given an id (0, 1, ... in order of first sight), exactly:
    open addressing on a 64-bit hash, every string's bytes kept in the table's own arena and
    compared on each hit. With ``keep_smallest``, each id also keeps the smallest (in byte
    order) of a second string given with it (a path's example target). Each id has ``columns``
    counters the scanner adds to as it reads (:meth:`counts`), so no row per line is needed."""

    cdef uint64_t* hashes
    cdef int64_t* slots  # slot -> id + 1 (0: empty)
    cdef int64_t* starts  # id -> where its bytes start in the arena
    cdef int64_t* lengths
    cdef int64_t* small_starts  # id -> its smallest second string
    cdef int64_t* small_lengths
    cdef uint8_t* arena
    cdef int64_t* counters  # id * columns + column
    cdef Py_ssize_t arena_used, arena_size, count, ids_size, mask, columns

    def __cinit__(self, int columns=1, int bits=10):
        self.columns = columns
        self.mask = (1 << bits) - 1
        self.hashes = <uint64_t*>malloc((self.mask + 1) * sizeof(uint64_t))
        self.slots = <int64_t*>malloc((self.mask + 1) * sizeof(int64_t))
        self.ids_size = 256
        self.starts = <int64_t*>malloc(self.ids_size * sizeof(int64_t))
        self.lengths = <int64_t*>malloc(self.ids_size * sizeof(int64_t))
        self.small_starts = <int64_t*>malloc(self.ids_size * sizeof(int64_t))
        self.small_lengths = <int64_t*>malloc(self.ids_size * sizeof(int64_t))
        self.arena_size = 1 << 16
        self.arena = <uint8_t*>malloc(self.arena_size)
        self.counters = <int64_t*>malloc(self.ids_size * columns * sizeof(int64_t) + 1)
        if not (self.hashes and self.slots and self.starts and self.lengths and self.small_starts
                and self.small_lengths and self.arena and self.counters):
            raise MemoryError()
        for i in range(self.mask + 1):
            self.slots[i] = 0
        self.arena_used = self.count = 0

    def __dealloc__(self):
        free(self.hashes)
        free(self.slots)
        free(self.starts)
        free(self.lengths)
        free(self.small_starts)
        free(self.small_lengths)
        free(self.arena)
        free(self.counters)

    def __len__(self):
        return self.count

    cdef int64_t _keep(self, const uint8_t* p, Py_ssize_t n) except -1:
        """Copy ``n`` bytes into the arena; where they start."""
        cdef Py_ssize_t size = self.arena_size
        cdef uint8_t* grown
        while self.arena_used + n > size:
            size *= 2
        if size != self.arena_size:
            grown = <uint8_t*>realloc(self.arena, size)
            if grown == NULL:
                raise MemoryError()
            self.arena, self.arena_size = grown, size
        if n:
            memcpy(self.arena + self.arena_used, p, n)
        self.arena_used += n
        return self.arena_used - n

    cdef inline int64_t intern(self, const uint8_t* p, Py_ssize_t n) except -1:
        """The id of the string [p, p + n), a new one when it was not seen before."""
        return self.intern_hashed(p, n, _span_hash(p, n))

    cdef int64_t intern_hashed(self, const uint8_t* p, Py_ssize_t n, uint64_t h) except -1:
        """:meth:`intern` with the string's ``_span_hash`` already made."""
        cdef Py_ssize_t i, slot
        cdef int64_t found
        slot = <Py_ssize_t>(h & <uint64_t>self.mask)
        while self.slots[slot]:
            found = self.slots[slot] - 1
            if self.hashes[slot] == h and self.lengths[found] == n and _same(self.arena + self.starts[found], p, n):
                return found
            slot = (slot + 1) & self.mask
        if self.count == self.ids_size:
            self._grow_ids()
        found = self.count
        self.starts[found] = self._keep(p, n)
        self.lengths[found] = n
        self.small_starts[found] = -1
        self.small_lengths[found] = 0
        for i in range(self.columns):
            self.counters[found * self.columns + i] = 0
        self.count += 1
        self.hashes[slot] = h
        self.slots[slot] = found + 1
        if 2 * self.count > self.mask:
            self._grow_slots()
        return found

    cdef void keep_smallest(self, int64_t id_, const uint8_t* p, Py_ssize_t n) except *:
        """Keep [p, p + n) as the id's second string when it is the smallest seen."""
        cdef int64_t s = self.small_starts[id_], m = self.small_lengths[id_]
        cdef int c
        if s >= 0:
            c = memcmp(self.arena + s, p, m if m < n else n)
            if c < 0 or (c == 0 and m <= n):
                return
        self.small_starts[id_] = self._keep(p, n)
        self.small_lengths[id_] = n

    cdef void _grow_ids(self) except *:
        cdef Py_ssize_t size = self.ids_size * 2
        self.starts = <int64_t*>realloc(self.starts, size * sizeof(int64_t))
        self.lengths = <int64_t*>realloc(self.lengths, size * sizeof(int64_t))
        self.small_starts = <int64_t*>realloc(self.small_starts, size * sizeof(int64_t))
        self.small_lengths = <int64_t*>realloc(self.small_lengths, size * sizeof(int64_t))
        self.counters = <int64_t*>realloc(self.counters, size * self.columns * sizeof(int64_t) + 1)
        if not (self.starts and self.lengths and self.small_starts and self.small_lengths and self.counters):
            raise MemoryError()
        self.ids_size = size

    cdef void _grow_slots(self) except *:
        cdef Py_ssize_t old = self.mask + 1, size = old * 2, i, slot
        cdef uint64_t* hashes = <uint64_t*>malloc(size * sizeof(uint64_t))
        cdef int64_t* slots = <int64_t*>malloc(size * sizeof(int64_t))
        if hashes == NULL or slots == NULL:
            raise MemoryError()
        for i in range(size):
            slots[i] = 0
        for i in range(old):
            if self.slots[i]:
                slot = <Py_ssize_t>(self.hashes[i] & <uint64_t>(size - 1))
                while slots[slot]:
                    slot = (slot + 1) & (size - 1)
                slots[slot] = self.slots[i]
                hashes[slot] = self.hashes[i]
        free(self.hashes)
        free(self.slots)
        self.hashes, self.slots, self.mask = hashes, slots, size - 1

    def counts(self) -> list:
        """Every id's counters: a list (by id) of lists of ``columns`` ints."""
        cdef Py_ssize_t i, j
        cdef list out = [], row
        for i in range(self.count):
            row = []
            for j in range(self.columns):
                row.append(self.counters[i * self.columns + j])
            out.append(row)
        return out

    def keys(self) -> list:
        """Every string, by id."""
        return [bytes(self.arena[self.starts[i]:self.starts[i] + self.lengths[i]]) for i in range(self.count)]

    def smallest(self) -> list:
        """Each id's smallest second string (None when it has none)."""
        return [None if self.small_starts[i] < 0 else
                bytes(self.arena[self.small_starts[i]:self.small_starts[i] + self.small_lengths[i]])
                for i in range(self.count)]


cdef uint8_t HEX[256]
for _i in range(256):
    HEX[_i] = 1 if (48 <= _i <= 57 or 65 <= _i <= 70 or 97 <= _i <= 102) else 0

DEF MAX_PATH = 8192
DEF MONTH_KEYS = b"JanFebMarAprMayJunJulAugSepOctNovDec"


cdef bint _id_segment(const uint8_t* b, Py_ssize_t p, Py_ssize_t q) noexcept nogil:
    """Whether [p, q) is an id segment: digits, a UUID, or 8+ hex digits with a digit."""
    cdef Py_ssize_t k, n = q - p
    cdef bint digit = False, digits = True
    if n == 0:
        return False
    for k in range(p, q):
        if not _digit(b[k]):
            digits = False
            break
    if digits:
        return True
    if n == 36 and b[p + 8] == 45 and b[p + 13] == 45 and b[p + 18] == 45 and b[p + 23] == 45:
        for k in range(p, q):
            if k - p != 8 and k - p != 13 and k - p != 18 and k - p != 23 and not HEX[b[k]]:
                return False
        return True
    if n < 8:
        return False
    for k in range(p, q):
        if not HEX[b[k]]:
            return False
        digit = digit or _digit(b[k])
    return digit


cdef Py_ssize_t _normalised(const uint8_t* b, Py_ssize_t p, Py_ssize_t q, uint8_t* out) noexcept nogil:
    """access.normalised_path of target [p, q) written to ``out`` (room for 4 (q - p) bytes: an
    id of one byte becomes four); its length. Each part is copied as it is read, and written
    over with ``{id}`` when it is an id."""
    cdef Py_ssize_t k = p, end = p, seg, n = 0, at
    while end < q and b[end] != 63 and b[end] != 35:  # the path ends at '?' or '#'
        end += 1
    while True:  # each part between slashes or dots: an id, or kept
        seg = k
        at = n
        while k < end and b[k] != 47 and b[k] != 46:
            out[n] = b[k]
            n += 1
            k += 1
        if _id_segment(b, seg, k):
            memcpy(out + at, b"{id}", 4)
            n = at + 4
        if k >= end:
            return n
        out[n] = b[k]  # the slash or dot itself
        n += 1
        k += 1


cdef Py_ssize_t _field(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    """The end of the run of non-space bytes (``\\S+``) at ``p``."""
    while p < e and not SPACE[b[p]]:
        p += 1
    return p


cdef Py_ssize_t _quoted_end(const uint8_t* b, Py_ssize_t p, Py_ssize_t e) noexcept nogil:
    """The closing quote of a quoted field whose first byte is at ``p``, or -1."""
    cdef const uint8_t* quote
    if p >= e:
        return -1
    quote = <const uint8_t*>memchr(b + p, 34, e - p)  # libc's memchr reads many bytes a step
    if quote == NULL:
        return -1
    if memchr(b + p, 92, quote - (b + p)) == NULL:  # no backslash before it: the common case
        return quote - b
    while p < e:
        if b[p] == 34:
            return p
        if b[p] == 92:
            if p + 1 >= e:
                return -1
            p += 2
            continue
        p += 1
    return -1


cdef int _access_time(const uint8_t* b, Py_ssize_t p, Py_ssize_t q, int64_t* day_cache, int64_t* ms_out) noexcept nogil:
    """``dd/Mon/yyyy:HH:MM:SS ±hhmm`` filling [p, q) in UTC ms: 1, or 0 when it is none.

    ``day_cache`` (STAMP_CACHE words) holds the last valid date (YYYYMMDD) and its day number,
    and the bytes of the last valid time but its seconds (three words) with that minute's
    epoch ms: lines share their minute, which then costs three comparisons."""
    cdef int64_t day, month = 0, year, hour, minute, second, zh, zm, date, offset
    cdef uint64_t head0, head1, tail
    cdef uint16_t middle
    cdef int k
    if q - p != 26:
        return 0
    memcpy(&head0, b + p, 8)
    memcpy(&head1, b + p + 8, 8)
    memcpy(&tail, b + p + 18, 8)  # SS ±hhmm: the seconds' two bytes masked off (little-endian)
    memcpy(&middle, b + p + 16, 2)
    tail = (tail & ~(<uint64_t>0xFFFF)) | middle
    if head0 == <uint64_t>day_cache[2] and head1 == <uint64_t>day_cache[3] and tail == <uint64_t>day_cache[4] \
            and day_cache[0] >= 0:  # a minute seen (no cache yet: day_cache[0] is -1)
        if not _digit(b[p + 18]) or not _digit(b[p + 19]):
            return 0
        second = _two(b, p + 18)
        if second > 59:
            return 0
        ms_out[0] = day_cache[5] + second * 1000
        return 1
    if b[p + 2] != 47 or b[p + 6] != 47 or b[p + 11] != 58 or b[p + 14] != 58 \
            or b[p + 17] != 58 or b[p + 20] != 32 or (b[p + 21] != 43 and b[p + 21] != 45):
        return 0
    for k in range(26):  # the digits: all but / / : : : space sign and the month
        if k == 2 or (3 <= k <= 6) or k == 11 or k == 14 or k == 17 or k == 20 or k == 21:
            continue
        if not _digit(b[p + k]):
            return 0
    for k in range(12):
        if b[p + 3] == MONTH_KEYS[3 * k] and b[p + 4] == MONTH_KEYS[3 * k + 1] and b[p + 5] == MONTH_KEYS[3 * k + 2]:
            month = k + 1
            break
    if month == 0:
        return 0
    day = _two(b, p)
    year = _two(b, p + 7) * 100 + _two(b, p + 9)
    hour, minute, second = _two(b, p + 12), _two(b, p + 15), _two(b, p + 18)
    zh, zm = _two(b, p + 22), _two(b, p + 24)
    if hour > 23 or minute > 59 or second > 59 or zh > 23 or zm > 59:
        return 0
    date = (year * 100 + month) * 100 + day
    if date != day_cache[0]:
        if day < 1 or day > _month_days(year, month):
            return 0
        day_cache[0] = date
        day_cache[1] = _days_from_civil(year, month, day)
    offset = (zh * 60 + zm) * 60
    day_cache[5] = (day_cache[1] * 86400 + hour * 3600 + minute * 60 - (offset if b[p + 21] == 43 else -offset)) * 1000
    day_cache[2], day_cache[3], day_cache[4] = <int64_t>head0, <int64_t>head1, <int64_t>tail
    ms_out[0] = day_cache[5] + second * 1000
    return 1


DEF ACCESS_CLASSES = 5  # status classes 1xx ... 5xx
DEF ACCESS_TARGET = MAX_PATH // 4  # a target this long or shorter normalises within MAX_PATH ({id}: 4 bytes for 1 or more)


cdef int _access_line(const uint8_t* b, Py_ssize_t s, Py_ssize_t e, ScanState* st, Line* ln) noexcept nogil:
    """Decide line [s, e) by the access grammar into ``ln`` (see :class:`AccessCounters` for
    what an entry's ``spans``, ``status`` and ``sent`` hold): an entry's time, level (ERROR for
    a 5xx, else INFO), response time and, inside the window, its request read. A line is
    decided only when it is plainly an entry in the default layout with at most one trailing
    field (a number or ``-``); any other line is UNDECIDED, for the exact path."""
    cdef Py_ssize_t p = s, q, f1, f2, f3, f4, ts, te, rq, rqe, ref = -1, refe = -1, ua = -1, uae = -1
    cdef Py_ssize_t k, t, tq, fs, fe, mp, me, tp, te2
    cdef int64_t ms = 0, code, sent, value = 0
    cdef int fields, found = 0
    if e - s > MAX_LINE:
        return UNDECIDED
    if _skip_blanks(b, s, e) == e:
        return BLANK
    # three or four fields, then " ["
    f1 = _field(b, p, e)
    if f1 == p or f1 >= e or b[f1] != 32:
        return UNDECIDED
    f2 = _field(b, f1 + 1, e)
    if f2 == f1 + 1 or f2 >= e or b[f2] != 32:
        return UNDECIDED
    f3 = _field(b, f2 + 1, e)
    if f3 == f2 + 1 or f3 + 1 >= e or b[f3] != 32:
        return UNDECIDED
    if b[f3 + 1] == 91:
        fields = 3
        ts = f3 + 2
    else:
        f4 = _field(b, f3 + 1, e)
        if f4 == f3 + 1 or f4 + 1 >= e or b[f4] != 32 or b[f4 + 1] != 91:
            return UNDECIDED
        fields = 4
        ts = f4 + 2
    te = ts
    while te < e and b[te] != 93:
        te += 1
    if te + 2 >= e or b[te + 1] != 32 or b[te + 2] != 34:
        return UNDECIDED
    if not _access_time(b, ts, te, st.day_cache, &ms):
        return UNDECIDED
    rq = te + 3
    rqe = _quoted_end(b, rq, e)
    if rqe < 0 or rqe + 5 > e or b[rqe + 1] != 32:
        return UNDECIDED
    q = rqe + 2  # the status
    if not (_digit(b[q]) and _digit(b[q + 1]) and _digit(b[q + 2])) or q + 3 >= e or b[q + 3] != 32:
        return UNDECIDED
    code = (b[q] - 48) * 100 + (b[q + 1] - 48) * 10 + (b[q + 2] - 48)
    if code < 100 or code > 599:
        return UNDECIDED
    q += 4  # the bytes
    if q >= e:
        return UNDECIDED
    sent = 0
    if b[q] == 45:
        k = q + 1
    else:
        k = q
        while k < e and _digit(b[k]):
            sent = sent * 10 + (b[k] - 48)
            k += 1
        if k == q or k - q > 18:
            return UNDECIDED
    if k + 1 < e and b[k] == 32 and b[k + 1] == 34:  # "referrer" "agent", when both are there
        refe = _quoted_end(b, k + 2, e)
        if refe >= 0 and refe + 2 < e and b[refe + 1] == 32 and b[refe + 2] == 34:
            uae = _quoted_end(b, refe + 3, e)
            if uae >= 0 and (uae + 1 == e or b[uae + 1] == 32):
                ref, ua = k + 2, refe + 3
                k = uae + 1
    # what follows: nothing, or one field that is '-' or a number
    if k < e:
        if b[k] != 32 or k + 1 == e:
            return UNDECIDED
        t = k + 1
        tq = _field(b, t, e)
        if tq != e or tq == t:
            return UNDECIDED
        if not (tq == t + 1 and b[t] == 45):
            k = t
            while k < tq and _digit(b[k]):
                k += 1
            if k == t:
                return UNDECIDED
            if k == tq:  # microseconds (Apache %D)
                if not _fixed(b, t, k, k, k, 6, &value):
                    return UNDECIDED
            else:
                if b[k] != 46 or k + 1 == tq:
                    return UNDECIDED
                fs = k + 1
                fe = fs
                while fe < tq and _digit(b[fe]):
                    fe += 1
                if fe != tq or not _fixed(b, t, k, fs, fe, 12, &value):
                    return UNDECIDED
            found = 1
    if not _entry_head(st, ln, ms, 5 if code >= 500 else 2, e, e):  # no message: paths say more
        return ENTRY
    # the request: METHOD TARGET HTTP/d[.d], else INVALID (a target too long to normalise: undecided)
    ln.spans[2] = ln.spans[4] = -1
    mp = rq
    me = mp
    if me < rqe and 65 <= b[me] <= 90:
        me += 1
        while me < rqe and (65 <= b[me] <= 90 or b[me] == 95 or b[me] == 45):
            me += 1
    if me > mp and me < rqe and b[me] == 32:
        tp = me + 1
        te2 = _field(b, tp, rqe)
        if te2 > tp and te2 + 6 <= rqe and b[te2] == 32 and _word_at(b, te2 + 1, rqe, b"HTTP/", 5) \
                and _digit(b[te2 + 6]) and (te2 + 7 == rqe or (te2 + 9 == rqe and b[te2 + 7] == 46
                                                               and _digit(b[te2 + 8]))):
            if te2 - tp > ACCESS_TARGET:
                return UNDECIDED
            ln.spans[2], ln.spans[3], ln.spans[4], ln.spans[5] = mp, me, tp, te2
    ln.spans[0], ln.spans[1] = (f1 + 1, f2) if fields == 4 else (s, f1)
    ln.spans[6], ln.spans[7], ln.spans[8], ln.spans[9] = ref, refe, ua, uae
    ln.status = code
    ln.sent = sent
    ln.inside = 1
    ln.has_rt = found
    ln.rt = value
    return ENTRY


# -- message templates (lograd/templates.py says the rules in words and is the exact path) -----

DEF TEMPLATE_BYTES = 1024  # templates.MESSAGE_BYTES
DEF QUOTED_SIZE = 2048  # a message's first TEMPLATE_BYTES with its quoted values marked: at most 1.5 times
DEF TEMPLATE_SIZE = 8192  # a template: each marked byte gives at most 3 bytes and a space
TEMPLATE_MESSAGE_BYTES = TEMPLATE_BYTES

cdef uint8_t EDGE[256]  # punctuation around a token's core
cdef uint8_t TRAILING[256]  # what a token's end may carry after an address
cdef uint8_t KEY_BODY[256]
cdef uint8_t PLAIN_STOP[256]  # what may make a token more than a word: digits, '@', NUL, ':'
for _i in range(256):
    PLAIN_STOP[_i] = _i in b"0123456789@:\x00"
    EDGE[_i] = _i in b"()[]{}<>\"',;:.!?"
    TRAILING[_i] = _i in b",;.!?"
    KEY_BODY[_i] = KEY[_i] or _i == 45  # a key's [A-Za-z0-9_.-]


cdef inline Py_ssize_t _put(uint8_t* out, Py_ssize_t o, const uint8_t* src, Py_ssize_t n) noexcept nogil:
    """Copy ``n`` bytes to ``out`` at ``o``, each quoted-value mark (NUL) written ``<*>``."""
    cdef Py_ssize_t i
    for i in range(n):
        if src[i] == 0:
            out[o] = 60
            out[o + 1] = 42
            out[o + 2] = 62
            o += 3
        else:
            out[o] = src[i]
            o += 1
    return o


cdef inline Py_ssize_t _mask(uint8_t* out, Py_ssize_t o) noexcept nogil:
    out[o] = 60
    out[o + 1] = 42
    out[o + 2] = 62
    return o + 3


cdef bint _ipv6(const uint8_t* t, Py_ssize_t n) noexcept nogil:
    """templates._IPV6 fullmatch: [?hex*:hex*:[hex:.]*]?(:digits)?"""
    cdef Py_ssize_t i = 0
    if i < n and t[i] == 91:
        i += 1
    while i < n and HEX[t[i]]:
        i += 1
    if i >= n or t[i] != 58:
        return False
    i += 1
    while i < n and HEX[t[i]]:
        i += 1
    if i >= n or t[i] != 58:
        return False
    i += 1
    while i < n and (HEX[t[i]] or t[i] == 58 or t[i] == 46):
        i += 1
    if i == n:
        return True
    if t[i] != 93:
        return False
    i += 1
    if i == n:
        return True
    if t[i] != 58 or i + 1 == n:
        return False
    i += 1
    while i < n and _digit(t[i]):
        i += 1
    return i == n


cdef bint _variable(const uint8_t* c, Py_ssize_t n) noexcept nogil:
    """templates._variable: a digit anywhere, a UUID, or an e-mail address."""
    cdef Py_ssize_t i, at = -1, dot = -1
    for i in range(n):
        if _digit(c[i]):
            return True
    if n == 36 and c[8] == 45 and c[13] == 45 and c[18] == 45 and c[23] == 45:
        for i in range(n):
            if i != 8 and i != 13 and i != 18 and i != 23 and not HEX[c[i]]:
                break
        else:
            return True
    for i in range(n):  # [^@]+@[^@]+\.[A-Za-z]{2,}
        if c[i] == 64:
            if at >= 0:
                return False
            at = i
    if at < 1:
        return False
    for i in range(n - 1, at, -1):
        if c[i] == 46:
            dot = i
            break
    if dot < at + 2 or n - dot - 1 < 2:
        return False
    for i in range(dot + 1, n):
        if not LETTER[c[i]]:
            return False
    return True


cdef Py_ssize_t _template_token(const uint8_t* t, Py_ssize_t n, uint8_t* out, Py_ssize_t o) noexcept nogil:
    """templates._token of the token [t, t + n) (which may hold quoted-value marks), written
    at ``o``; where the output ends."""
    cdef Py_ssize_t colons = 0, i
    cdef bint plain = n < 36
    cdef uint8_t c
    for i in range(n):  # a token with no digit, '@', NUL mark or two colons, shorter than a UUID: kept
        c = t[i]
        if PLAIN_STOP[c]:
            if c != 58:
                plain = False
                break
            colons += 1
        out[o + i] = c  # copied as it is checked: most tokens are words
    if plain and colons < 2:
        return o + n
    colons = 0
    for i in range(n):
        colons += t[i] == 58
    return _decided_token(t, n, out, o, colons, True)


cdef inline Py_ssize_t _copy(uint8_t* out, Py_ssize_t o, const uint8_t* src, Py_ssize_t n, bint marked) noexcept nogil:
    cdef Py_ssize_t i
    if marked:
        return _put(out, o, src, n)
    for i in range(n):  # a few bytes: a loop, not a call
        out[o + i] = src[i]
    return o + n


cdef Py_ssize_t _decided_token(const uint8_t* t, Py_ssize_t n, uint8_t* out, Py_ssize_t o, Py_ssize_t colons,
                               bint marked) noexcept nogil:
    """The rules for a token that may hold a value, ``colons`` of them in it (``marked``: it
    may hold quoted-value marks)."""
    cdef Py_ssize_t bare = n, i, start = 0, end = n, cn, k
    cdef const uint8_t* core
    cdef bint keyed = False
    if colons >= 2:  # the trailing ,;.!? hold no colon: the bare token has them all
        while bare > 0 and TRAILING[t[bare - 1]]:
            bare -= 1
        if _ipv6(t, bare):
            o = _mask(out, o)
            return _copy(out, o, t + bare, n - bare, marked)
    while start < end and EDGE[t[start]]:
        start += 1
    while end > start and EDGE[t[end - 1]]:
        end -= 1
    o = _copy(out, o, t, start, marked)
    core = t + start
    cn = end - start
    if cn:
        k = 0
        if KEY_FIRST[core[0]]:
            k = 1
            while k < cn and KEY_BODY[core[k]]:
                k += 1
            keyed = k + 1 < cn and (core[k] == 61 or core[k] == 58)
        if keyed and core[k] == 58:  # host:port is an address
            for i in range(k + 1, cn):
                if not _digit(core[i]):
                    break
            else:
                o = _mask(out, o)
                return _copy(out, o, t + end, n - end, marked)
        if keyed:
            o = _copy(out, o, core, k + 1, marked)
            if _variable(core + k + 1, cn - k - 1):
                o = _mask(out, o)
            else:
                o = _copy(out, o, core + k + 1, cn - k - 1, marked)
        elif _variable(core, cn):
            o = _mask(out, o)
        else:
            o = _copy(out, o, core, cn, marked)
    return _copy(out, o, t + end, n - end, marked)


DEF K_SPACE = 1
DEF K_QUOTE = 2
DEF K_COLON = 3
DEF K_VALUE = 4
cdef uint8_t TOKEN_CLASS[256]  # for the one-pass reading of a message without quotes
for _i in range(256):
    TOKEN_CLASS[_i] = (K_SPACE if _i in b" \t\n\r\x0b\x0c" else K_QUOTE if _i in b"\"'\x00" else
                       K_COLON if _i == 58 else K_VALUE if _i in b"0123456789@" else 0)


cdef Py_ssize_t _template(const uint8_t* b, Py_ssize_t p, Py_ssize_t q, uint8_t* quoted,
                          uint8_t* out) noexcept nogil:
    """templates.template_bytes of the message [p, q), written to ``out`` (TEMPLATE_SIZE
    bytes; ``quoted`` is QUOTED_SIZE bytes of room); its length.

    One pass copies word tokens as it reads them; a token that may hold a value (a digit,
    '@', two colons, UUID-long) is decided by the rules; a quote or NUL anywhere sends the
    whole message through :func:`_quoted_template`."""
    cdef Py_ssize_t n = q - p, i = 0, o = 0, t, start, colons
    cdef const uint8_t* text = b + p
    cdef uint8_t c, k
    cdef uint64_t word, below
    cdef int plain
    cdef bint value
    if n > TEMPLATE_BYTES:
        n = TEMPLATE_BYTES
    while True:
        while i < n and SPACE[text[i]]:
            i += 1
        if i == n:
            return o
        if o:
            out[o] = 32
            o += 1
        t = i
        start = o
        value = False
        colons = 0
        while i < n:
            if i + 8 <= n:  # the bytes up to the first below 'A' (space, digit, quote, ':', '@'...): as they are
                memcpy(&word, text + i, 8)
                memcpy(out + o, &word, 8)  # whole: what follows the first such byte is written over
                below = (word - 0x4141414141414141ULL) & ~word & 0x8080808080808080ULL
                if below == 0:
                    o += 8
                    i += 8
                    continue
                plain = __builtin_ctzll(below) >> 3  # the lowest flag is a true one (borrows run upwards)
                o += plain
                i += plain
            c = text[i]
            k = TOKEN_CLASS[c]
            if k:
                if k == K_SPACE:
                    break
                if k == K_QUOTE:
                    return _quoted_template(text, n, quoted, out)
                if k == K_COLON:
                    colons += 1
                else:
                    value = True
            out[o] = c
            o += 1
            i += 1
        if value or colons >= 2 or i - t >= 36:  # no mark here: a quote or NUL took the other way
            o = _decided_token(text + t, i - t, out, start, colons, False)


cdef Py_ssize_t _quoted_template(const uint8_t* text, Py_ssize_t n, uint8_t* quoted, uint8_t* out) noexcept nogil:
    """:func:`_template` of a message [text, text + n) that holds a quote or NUL: its quoted
    values marked first (a NUL each), then its tokens decided."""
    cdef Py_ssize_t qn = 0, i = 0, j, found, o = 0, t
    cdef uint8_t c, d
    while i < n:  # quoted values: "..." or '...' with backslash escapes, marked by a NUL
        c = text[i]
        if c == 0:
            quoted[qn] = 63
            qn += 1
            i += 1
            continue
        if c == 34 or c == 39:
            j = i + 1
            found = -1
            while j < n:
                d = text[j]
                if d == c:
                    found = j
                    break
                if d == 92:
                    if j + 1 < n:
                        j += 2
                        continue
                    break
                j += 1
            if found >= 0:
                quoted[qn] = c
                quoted[qn + 1] = 0
                quoted[qn + 2] = c
                qn += 3
                i = found + 1
                continue
        quoted[qn] = c
        qn += 1
        i += 1
    i = 0
    while True:  # tokens at white space, joined by one space
        while i < qn and SPACE[quoted[i]]:
            i += 1
        if i == qn:
            return o
        t = i
        while i < qn and not SPACE[quoted[i]]:
            i += 1
        if o:
            out[o] = 32
            o += 1
        o = _template_token(quoted + t, i - t, out, o)


def template_bytes(const uint8_t[::1] message) -> bytes:
    """templates.template_bytes by the scanner's code (the tests hold the two equal)."""
    cdef uint8_t quoted[QUOTED_SIZE]
    cdef uint8_t out[TEMPLATE_SIZE]
    cdef Py_ssize_t n = message.shape[0]
    cdef Py_ssize_t length = _template(&message[0] if n else <const uint8_t*>b"", 0, n, quoted, out)
    return bytes(out[:length])


# -- in-scan aggregation: a chunk's entries added up as they are read, no row per line ------------

DEF TALLY_GROUP_COLUMNS = 7  # per template and level group: entries inside the window, their first
                             # and last time, entries before it, the first one's offset, the minute
                             # being counted and its entries so far
TALLY_TEMPLATE_COLUMNS = TALLY_GROUP_COLUMNS
"""A tally's counters per template and level group (the first five: entries inside the window,
their first and last time, entries before it, the first one's file offset)."""
DEF RESOURCE_COLUMNS = 10  # per resource: values, least, greatest, sum (two words), the minute being
                           # counted, its values, greatest, sum (two words)
DEF LABEL_COLUMNS = 2  # per syslog host or program: entries inside the window, errors among them
DEF BUCKET_CACHE = 4096  # response times whose sketch bucket is remembered (direct-mapped)
DEF MAX_LEVELS = 16
DEF MAX_SKELETONS = 65536  # message skeletons a tally remembers before it starts again
DEF SKELETON_EMPTY = -1  # the skeleton's template is empty
DEF SKELETON_DIGITS = -2  # its template holds a digit: made each time
# what a tally remembers of a skeleton (its columns): the template (its id + 1, 0 not made yet,
# or SKELETON_EMPTY, SKELETON_DIGITS); whether its message's shape is known; where the response
# time's number starts (-1: no response time), its places and its digits before and after the
# point; its key=value tokens: where they start in shape_metrics and how many
DEF SK_TEMPLATE = 0
DEF SK_SHAPE = 1
DEF SK_RT = 2
DEF SK_PLACES = 3
DEF SK_METRICS = 4
DEF SK_METRIC_COUNT = 5
DEF SK_RT_DIGITS = 6
DEF SK_RT_FRACTION = 7
DEF SK_COLUMNS = 8
DEF SHAPE_METRIC = 6  # a shape's key=value token: key start, its '=', the resource's id (-1: key with digits),
                      # whether the value is negative, its digits before and after the point


cdef inline uint64_t _zeroed(uint64_t word) noexcept nogil:
    """``word`` with each ASCII digit made '0': '1'..'9' (0x31..0x39) lose their low nibble."""
    return word & ~((_digit_bytes(word) >> 7) * 0x0F)


cdef uint64_t _skeleton(const uint8_t* text, Py_ssize_t n, uint8_t* out) noexcept nogil:
    """``text`` [0, n) with every ASCII digit made '0', sixteen bytes a step (the last
    sixteen may overlap the ones before); a 64-bit hash of what it wrote, made from the same
    words (which words depends on ``n`` alone, so equal skeletons hash alike)."""
    cdef Py_ssize_t i = 0
    cdef uint64_t word, hi, h = 1469598103934665603ULL ^ <uint64_t>n
    if n < 8:
        word = 0
        for i in range(n):
            out[i] = 48 if _digit(text[i]) else text[i]
            word |= (<uint64_t>out[i]) << (8 * i)
        return _hash_end(_hash_word(h, word, True)) if n else _hash_end(h)
    if n < 16:  # two words, the second overlapping the first
        memcpy(&word, text, 8)
        memcpy(&hi, text + n - 8, 8)
        word, hi = _zeroed(word), _zeroed(hi)
        memcpy(out, &word, 8)
        memcpy(out + n - 8, &hi, 8)
        return _hash_end(_hash_word(_hash_word(h, word, False), hi, True))
    while True:
        if SIMD:
            _zero_digits16(text + i, out + i, &word, &hi)
        else:
            memcpy(&word, text + i, 8)
            memcpy(&hi, text + i + 8, 8)
            word, hi = _zeroed(word), _zeroed(hi)
            memcpy(out + i, &word, 8)
            memcpy(out + i + 8, &hi, 8)
        h = _hash_word(_hash_word(h, word, False), hi, (i & 15) != 0)
        if i + 16 == n:
            return _hash_end(h)
        i = i + 16 if i + 32 <= n else n - 16


cdef struct Vec:  # a growable array of int64 rows (width fixed by the user)
    int64_t* data
    Py_ssize_t n
    Py_ssize_t cap


cdef int _reserve(Vec* v, Py_ssize_t more) except -1:
    cdef Py_ssize_t cap = v.cap if v.cap else 1024
    cdef int64_t* grown
    if v.n + more <= v.cap:
        return 0
    while cap < v.n + more:
        cap *= 2
    grown = <int64_t*>realloc(v.data, cap * sizeof(int64_t))
    if grown == NULL:
        raise MemoryError()
    v.data = grown
    v.cap = cap
    return 0


cdef int _push2(Vec* v, int64_t a, int64_t b) except -1:
    """Append the row (a, b)."""
    _reserve(v, 2)
    v.data[v.n] = a
    v.data[v.n + 1] = b
    v.n += 2
    return 0


cdef int _push_exception(Vec* v, int kind, Py_ssize_t s, Py_ssize_t e, Py_ssize_t next_line) except -1:
    """Append a line the scanner leaves to the format's Python code: (kind, start, end, next line's start)."""
    _reserve(v, 4)
    cdef int64_t* row = v.data + v.n
    row[0], row[1], row[2], row[3] = kind, s, e, next_line
    v.n += 4
    return 0


cdef inline void _add_wide(int64_t* two, int64_t value) noexcept nogil:
    """Add ``value`` to the 128-bit sum ``two`` (high word signed, low word unsigned bits)."""
    cdef uint64_t low = <uint64_t>two[1] + <uint64_t>value
    two[0] += (-1 if value < 0 else 0) + (1 if low < <uint64_t>two[1] else 0)
    two[1] = <int64_t>low


cdef object _vec_array(Vec* v, int width):
    """A copy of a Vec's rows as an (n / width, width) int64 array."""
    import numpy as np
    out = np.empty(v.n, np.int64)
    cdef int64_t[::1] view = out
    if v.n:
        memcpy(&view[0], v.data, v.n * sizeof(int64_t))
    return out.reshape(-1, width)


cdef list _vec_rows(Vec* v, int width):
    """A copy of a Vec's rows as a list of tuples of ``width`` ints."""
    cdef Py_ssize_t i, k
    cdef list out = [], row
    for i in range(0, v.n, width):
        row = []
        for k in range(width):
            row.append(v.data[i + k])
        out.append(tuple(row))
    return out


cdef tuple _second_wire(Vec* v):
    """(second, entries) rows as :class:`lograd.seconds.SecondCounts`' wire form: ([hour,
    first offset, little-endian int64 counts], ...) where at least one second in eight of
    the span has entries (as ``SecondCounts.add_run`` keeps them in hours), else
    ([second, entries], ...) pairs."""
    cdef Py_ssize_t n = v.n // 2, i, span, busy = 0, at, end, a, z
    cdef int64_t low, high, s, hour, offset
    cdef int64_t* counts
    cdef list runs = [], loose = []
    if n == 0:
        return runs, loose
    low = high = v.data[0]
    for i in range(n):
        s = v.data[2 * i]
        if s < low:
            low = s
        if s > high:
            high = s
    if high - low > 4 * n + 4096:  # too spread out for an array: the pairs as they are
        for i in range(n):
            loose.append([v.data[2 * i], v.data[2 * i + 1]])
        return runs, loose
    span = high - low + 1
    counts = <int64_t*>calloc(span, sizeof(int64_t))
    if counts == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            counts[v.data[2 * i] - low] += v.data[2 * i + 1]
        for i in range(span):
            if counts[i]:
                busy += 1
        if busy * 8 < span:
            for i in range(span):
                if counts[i]:
                    loose.append([low + i, counts[i]])
            return runs, loose
        at = 0
        while at < span:
            hour = _floor_div(low + at, 3600)
            offset = low + at - hour * 3600
            end = min(span, at + 3600 - offset)
            a, z = at, end
            while a < z and counts[a] == 0:
                a += 1
            while z > a and counts[z - 1] == 0:
                z -= 1
            if a < z:
                runs.append([hour, offset + (a - at), _le_int64s(counts + a, z - a)])
            at = end
    finally:
        free(counts)
    return runs, loose


cdef list _coarse_wire(Vec* v):
    """(minute, coarse bucket, values) rows, a minute's together, as
    :class:`lograd.sketch.MinuteSketches`' wire form: ([minute, first bucket,
    little-endian int64 counts], ...), a minute more than once when it came back."""
    cdef Py_ssize_t n = v.n // 3, i = 0, j, k
    cdef int64_t minute, lo, hi, b
    cdef int64_t* counts
    cdef list out = []
    while i < n:
        minute = v.data[3 * i]
        lo = hi = v.data[3 * i + 1]
        j = i
        while j < n and v.data[3 * j] == minute:
            b = v.data[3 * j + 1]
            if b < lo:
                lo = b
            if b > hi:
                hi = b
            j += 1
        counts = <int64_t*>calloc(hi - lo + 1, sizeof(int64_t))
        if counts == NULL:
            raise MemoryError()
        for k in range(i, j):
            counts[v.data[3 * k + 1] - lo] += v.data[3 * k + 2]
        try:
            out.append([minute, lo, _le_int64s(counts, hi - lo + 1)])
        finally:
            free(counts)
        i = j
    return out


cdef bytes _le_int64s(const int64_t* values, Py_ssize_t n):
    """``n`` int64s as little-endian bytes (the partials' wire form, whatever this machine's order)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n * 8)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    cdef Py_ssize_t i, k
    cdef uint64_t x
    for i in range(n):
        x = <uint64_t>values[i]
        for k in range(8):
            o[i * 8 + k] = <uint8_t>(x >> (8 * k))
    return out


@cython.final
cdef class AccessCounters:
    """A chunk's access figures, counted as a :class:`Tally` decides access entries inside the
    window: status codes, bytes sent (exact, as two 64-bit words), status classes per minute
    (a run per minute), and the string tables' counters — methods [requests], clients
    [requests, 4xx, 5xx], agents and referrers [requests], normalised paths [requests, 5xx,
    timed, least time, greatest time] with each path's smallest target kept, and each path's
    response-time buckets (a table keyed by the path id and the bucket, -1 for a zero time).

    An entry's ``Line`` says where its parts are: ``spans`` [client, its end, method, its end,
    target, its end (-1: a request that is no METHOD TARGET HTTP/n), referrer, its end, agent,
    its end (-1: none)], and its ``status`` and ``sent`` bytes."""

    cdef readonly SpanTable methods, clients, agents, referrers, paths, path_buckets
    cdef int64_t status[600]
    cdef int64_t sent[2]
    cdef int64_t minute
    cdef int64_t minute_classes[ACCESS_CLASSES]
    cdef Vec class_rows  # (minute, 1xx, ..., 5xx)
    cdef int64_t invalid
    cdef uint8_t normal[MAX_PATH]

    def __cinit__(self):
        self.methods, self.agents, self.referrers = SpanTable(1), SpanTable(1), SpanTable(1)
        self.clients = SpanTable(3)
        self.paths = SpanTable(5)
        self.path_buckets = SpanTable(1)
        self.invalid = self.methods.intern(<const uint8_t*>b"INVALID", 7)
        self.minute = INT64_MIN

    def __dealloc__(self):
        free(self.class_rows.data)

    cdef int add(self, const uint8_t* b, Line* ln, int64_t minute, int64_t bucket) except -1:
        """Count one access entry inside the window, in ``minute``; ``bucket``: its response
        time's sketch bucket (-1: a zero time, -2: no time)."""
        cdef int64_t code = ln.status, method = self.invalid, path = -1
        cdef int64_t key[2]
        cdef int cls = <int>(code // 100) - 1
        cdef int64_t* row
        cdef Py_ssize_t n
        if minute != self.minute:
            self._close_minute()
            self.minute = minute
        self.minute_classes[cls] += 1
        self.status[code] += 1
        _add_wide(self.sent, ln.sent)
        if ln.spans[4] >= 0:
            method = self.methods.intern(b + ln.spans[2], ln.spans[3] - ln.spans[2])
            n = _normalised(b, ln.spans[4], ln.spans[5], self.normal)
            path = self.paths.intern(self.normal, n)
            self.paths.keep_smallest(path, b + ln.spans[4], ln.spans[5] - ln.spans[4])
        self.methods.counters[method] += 1
        row = self.clients.counters + self.clients.intern(b + ln.spans[0], ln.spans[1] - ln.spans[0]) * 3
        row[0] += 1
        if cls == 3:
            row[1] += 1
        elif cls == 4:
            row[2] += 1
        if ln.spans[8] >= 0:
            self.agents.counters[self.agents.intern(b + ln.spans[8], ln.spans[9] - ln.spans[8])] += 1
            self.referrers.counters[self.referrers.intern(b + ln.spans[6], ln.spans[7] - ln.spans[6])] += 1
        if path >= 0:
            row = self.paths.counters + path * 5
            row[0] += 1
            if cls == 4:
                row[1] += 1
            if ln.has_rt:
                if row[2] == 0 or ln.rt < row[3]:
                    row[3] = ln.rt
                if row[2] == 0 or ln.rt > row[4]:
                    row[4] = ln.rt
                row[2] += 1
                key[0], key[1] = path, bucket
                self.path_buckets.counters[self.path_buckets.intern(<const uint8_t*>key, 16)] += 1
        return 0

    cdef int _close_minute(self) except -1:
        cdef int c
        if self.minute == INT64_MIN:
            return 0
        _reserve(&self.class_rows, 1 + ACCESS_CLASSES)
        self.class_rows.data[self.class_rows.n] = self.minute
        for c in range(ACCESS_CLASSES):
            self.class_rows.data[self.class_rows.n + 1 + c] = self.minute_classes[c]
            self.minute_classes[c] = 0
        self.class_rows.n += 1 + ACCESS_CLASSES
        self.minute = INT64_MIN
        return 0

    def figures(self) -> dict:
        """Everything counted, as numbers and lists: ``status`` (600 counts by code),
        ``sent`` (the 128-bit sum's high and low words), ``classes`` ((minute, 1xx ... 5xx)
        runs), ``path_buckets`` ((path id, bucket, count) rows); the tables are attributes."""
        cdef Py_ssize_t i
        cdef list status = [], path_buckets = []
        cdef const int64_t* key
        self._close_minute()
        for i in range(600):
            status.append(self.status[i])
        for raw, row in zip(self.path_buckets.keys(), self.path_buckets.counts()):
            key = <const int64_t*><const char*>raw  # (path id, bucket) as the table holds them
            path_buckets.append((key[0], key[1], row[0]))
        return {"status": status, "sent": (self.sent[0], self.sent[1]),
                "classes": _vec_rows(&self.class_rows, 1 + ACCESS_CLASSES), "path_buckets": path_buckets}


@cython.final
cdef class Tally:
    """A chunk's entries added up as the scanner decides them (:meth:`scan`, block after block):
    what :class:`lograd.aggregate.Partial` holds, in C arrays, with no row per line.

    Counts, the first and last time, entries per level; per second and per minute, as runs
    (a row each time the second or minute changes: logs are mostly in order, so a chunk
    gives a row per second, not per line); the response times' exact 128-bit sum, extremes
    and sketch buckets, and each minute's coarse buckets; resources per key and minute;
    templates per level group (first, last, first offset, per minute); syslog hosts and
    programs. The lines the scanner cannot decide, and those that are no entries, are kept per
    block (:meth:`exceptions`) for the format's Python code, which reads them while the block
    is still there. :func:`lograd.fastpath.fold_tally` turns a tally into a partial's figures."""

    cdef ScanState st
    cdef readonly int64_t lines, blank, entries, in_window, errors, first_ms, last_ms
    cdef readonly int64_t rt_count, rt_low, rt_high, rt_zeros
    cdef readonly bint count_templates, count_labels
    cdef readonly int64_t first_entry  # this block's first entry (or undecided line short enough to be one): where it starts
    cdef int64_t rt_total[2]
    cdef int64_t level_counts[MAX_LEVELS]
    cdef uint8_t error_of[MAX_LEVELS]
    cdef int64_t group_of[MAX_LEVELS]
    cdef int groups
    # the response-time sketch: counts per bucket of BOUNDS, and each minute's coarse buckets
    cdef double* bounds
    cdef Py_ssize_t n_bounds
    cdef int64_t lowest_index, coarse_width, coarse_zero, coarse_span
    cdef double min_positive
    cdef int64_t* buckets
    cdef int64_t* coarse  # the current minute's counts per coarse bucket (coarse_span of them)
    cdef int64_t cache_rt[BUCKET_CACHE]
    cdef int64_t cache_bucket[BUCKET_CACHE]
    cdef Vec touched  # coarse buckets of the current minute with counts
    # runs
    cdef int64_t second, second_count, second_ms  # the second being counted, its entries, its first ms
    cdef Vec seconds  # (second, entries)
    cdef int64_t minute, minute_entries, minute_errors, minute_rt_n
    cdef int64_t minute_rt_sum[2]
    cdef Vec minutes  # (minute, entries, errors, response times, their sum high, low)
    cdef Vec coarse_rows  # (minute, coarse bucket, values)
    cdef Vec template_rows  # (template * groups + group, minute, entries)
    cdef Vec resource_rows  # (resource, minute, values, greatest, sum high, low)
    cdef Vec exception_rows  # this block's (kind, start, end, next line's start)
    cdef readonly SpanTable templates, resources, hosts, programs
    cdef SpanTable skeletons  # a message's digits made '0' -> its template and shape (SK_ columns; see _body)
    cdef Vec shape_metrics  # the skeletons' key=value tokens (SHAPE_METRIC columns)
    cdef int64_t line_skeleton  # the skeleton of the line being counted (-1: none made)
    # the job's filters (--level, --grep, --template): an entry that fails one is counted as
    # one outside the window
    cdef bint filtering
    cdef int level_least, level_end  # levels [least, end) pass; least -1: no --level
    cdef bytes literal  # --grep without special characters: found by memmem
    cdef object search  # any other --grep: its compiled pattern's search
    cdef bytes template_wanted  # --template
    cdef readonly AccessCounters access  # access entries' own figures (None: not access lines)

    def __cinit__(self, const uint8_t[::1] error_of, const int64_t[::1] group_of, int groups,
                  const double[::1] bounds, int64_t lowest_index, int64_t coarse_width, int64_t coarse_zero,
                  int64_t coarse_span, double min_positive, int grammar, int wrapper, int64_t reference_ms,
                  int64_t low, int64_t high, bint count_templates, bint count_labels):
        cdef Py_ssize_t i
        if error_of.shape[0] > MAX_LEVELS or group_of.shape[0] != error_of.shape[0]:
            raise ValueError("levels: at most 16, a group for each")
        _start(&self.st, grammar, wrapper, reference_ms, low, high, False)
        for i in range(MAX_LEVELS):
            self.level_counts[i] = 0
            self.error_of[i] = error_of[i] if i < error_of.shape[0] else 0
            self.group_of[i] = group_of[i] if i < group_of.shape[0] else 0
        self.groups = groups
        self.n_bounds = bounds.shape[0]
        self.bounds = <double*>malloc(self.n_bounds * sizeof(double))
        self.buckets = <int64_t*>malloc(self.n_bounds * sizeof(int64_t))
        self.coarse = <int64_t*>malloc(coarse_span * sizeof(int64_t))
        if self.bounds == NULL or self.buckets == NULL or self.coarse == NULL:
            raise MemoryError()
        for i in range(self.n_bounds):
            self.bounds[i] = bounds[i]
            self.buckets[i] = 0
        for i in range(coarse_span):
            self.coarse[i] = 0
        for i in range(BUCKET_CACHE):
            self.cache_rt[i] = -1
        self.lowest_index, self.coarse_width, self.coarse_zero = lowest_index, coarse_width, coarse_zero
        self.coarse_span, self.min_positive = coarse_span, min_positive
        self.count_templates, self.count_labels = count_templates, count_labels
        self.templates = SpanTable(groups * TALLY_GROUP_COLUMNS)
        self.skeletons = SpanTable(SK_COLUMNS, 10)
        self.line_skeleton = -1
        self.st.defer_body = count_templates and grammar in (GRAMMAR_APP, GRAMMAR_TEXT, GRAMMAR_SYSLOG)
        self.resources = SpanTable(RESOURCE_COLUMNS, 6)
        self.hosts = SpanTable(LABEL_COLUMNS, 6)
        self.programs = SpanTable(LABEL_COLUMNS, 6)
        self.rt_total[0] = self.rt_total[1] = 0
        self.second_ms = INT64_MAX - 1000  # no second yet: every time is another

    def __dealloc__(self):
        free(self.bounds)
        free(self.buckets)
        free(self.coarse)
        free(self.touched.data)
        free(self.seconds.data)
        free(self.minutes.data)
        free(self.coarse_rows.data)
        free(self.template_rows.data)
        free(self.resource_rows.data)
        free(self.exception_rows.data)
        free(self.shape_metrics.data)

    def filter(self, int level_least, int level_end, bytes literal, object search, bytes template) -> None:
        """Count only entries that pass the job's filters: a level id in [level_least,
        level_end) (``level_least`` -1: any), a message that holds ``literal`` or in which
        ``search`` finds something (None: any), a template equal to ``template`` (None: any)."""
        self.filtering = True
        self.level_least, self.level_end = level_least, level_end
        self.literal, self.search, self.template_wanted = literal, search, template

    cdef bint _passes(self, object view, const uint8_t* b, Line* ln, uint8_t* quoted, uint8_t* out,
                      Py_ssize_t* length) except -1:
        """Whether an entry passes the filters; its template's length in ``length`` when
        they needed it (else -1)."""
        cdef Py_ssize_t n
        if self.level_least >= 0 and not (self.level_least <= ln.level < self.level_end):
            return False
        if self.literal is not None:
            n = len(self.literal)
            if n and memmem(b + ln.msg, ln.msg_end - ln.msg, <const char*>self.literal, n) == NULL:
                return False
        if self.search is not None and self.search(view[ln.msg:ln.msg_end]) is None:
            return False
        if self.template_wanted is not None:
            length[0] = _template(b, ln.msg, ln.msg_end, quoted, out)
            n = len(self.template_wanted)
            if length[0] != n or (n and memcmp(out, <const char*>self.template_wanted, n) != 0):
                return False
        return True

    def count_access(self) -> AccessCounters:
        """Count access entries' own figures too (the grammar is GRAMMAR_ACCESS): into the
        counters returned, kept as :attr:`access`."""
        self.access = AccessCounters()
        return self.access

    @property
    def window(self) -> tuple:
        """The window (inclusive bounds) this tally counts entries inside."""
        return self.st.low, self.st.high

    cdef int64_t _bucket(self, int64_t rt) noexcept:
        """The sketch bucket (index into BOUNDS) of a response time, -1 for the zero bucket:
        ``bisect_left(BOUNDS, rt / 1e9)`` capped at the last, as sketch.bucket_of."""
        cdef Py_ssize_t slot = <Py_ssize_t>((<uint64_t>rt * 0x9E3779B97F4A7C15ULL) >> 52)
        cdef double x
        cdef Py_ssize_t lo = 0, hi, mid
        if self.cache_rt[slot] == rt:
            return self.cache_bucket[slot]
        x = (<double>rt) / 1e9  # what aggregate.fixed_ms gives, bit for bit
        if x < self.min_positive:
            lo = -1
        else:
            hi = self.n_bounds - 1
            while lo < hi:
                mid = (lo + hi) >> 1
                if self.bounds[mid] < x:
                    lo = mid + 1
                else:
                    hi = mid
        self.cache_rt[slot] = rt
        self.cache_bucket[slot] = lo
        return lo

    cdef int _close_minute(self) except -1:
        cdef Py_ssize_t i, c
        cdef int64_t* row
        if self.minute_entries == 0:
            return 0
        _reserve(&self.minutes, 6)
        row = self.minutes.data + self.minutes.n
        row[0], row[1], row[2], row[3] = self.minute, self.minute_entries, self.minute_errors, self.minute_rt_n
        row[4], row[5] = self.minute_rt_sum[0], self.minute_rt_sum[1]
        self.minutes.n += 6
        _reserve(&self.coarse_rows, 3 * self.touched.n)
        for i in range(self.touched.n):
            c = self.touched.data[i]
            row = self.coarse_rows.data + self.coarse_rows.n
            row[0], row[1], row[2] = self.minute, c + self.coarse_zero, self.coarse[c]
            self.coarse_rows.n += 3
            self.coarse[c] = 0
        self.touched.n = 0
        self.minute_entries = self.minute_errors = self.minute_rt_n = 0
        self.minute_rt_sum[0] = self.minute_rt_sum[1] = 0
        return 0

    cdef int _close_second(self) except -1:
        if self.second_count:
            _push2(&self.seconds, self.second, self.second_count)
            self.second_count = 0
        return 0

    cdef int _template(self, const uint8_t* b, Line* ln, int64_t offset, bint inside, int64_t minute,
                       uint8_t* quoted, uint8_t* out, Py_ssize_t length) except -1:
        """Count an entry under its template (``length``: its length in ``out`` when already
        made, else -1)."""
        cdef int64_t tid, g
        cdef int64_t* row
        if length >= 0:
            if not length:
                return 0
            tid = self.templates.intern(out, length)
        else:
            tid = self._template_id(b, ln.msg, ln.msg_end, quoted, out)
            if tid < 0:
                return 0
        g = self.group_of[ln.level]
        row = self.templates.counters + tid * self.templates.columns + g * TALLY_GROUP_COLUMNS
        if not inside:
            row[3] += 1
            return 0
        if row[0] == 0:
            row[1] = row[2] = ln.ms
            row[4] = offset
        elif ln.ms < row[1]:
            row[1] = ln.ms
        elif ln.ms > row[2]:
            row[2] = ln.ms
        row[0] += 1
        if row[6] and row[5] != minute:
            self._end_template_run(tid * self.groups + g, row)
        row[5] = minute
        row[6] += 1
        return 0

    cdef int64_t _template_id(self, const uint8_t* b, Py_ssize_t p, Py_ssize_t q, uint8_t* quoted,
                              uint8_t* out) except -2:
        """The id of the template of message [p, q); -1 when it is empty.

        A message's template depends on its digits only where it copies them (a key such as
        ``cpu1=``): masking, token and key decisions ask only whether a byte is a digit. So
        messages that differ only in their digits share their template when it holds none,
        and the tally remembers the template of each such *skeleton* (the message with every
        digit '0'): most lines then cost a copy and a look-up, not a template."""
        cdef Py_ssize_t length, i
        cdef int64_t* known
        cdef int64_t tid, sid = self.line_skeleton
        if sid < 0:
            sid = self._skeleton_of(b, p, q)
        known = self.skeletons.counters + sid * SK_COLUMNS + SK_TEMPLATE
        if known[0] > 0:
            return known[0] - 1
        if known[0] == SKELETON_EMPTY:
            return -1
        length = _template(b, p, q, quoted, out)
        if not length:
            known[0] = SKELETON_EMPTY
            return -1
        tid = self.templates.intern(out, length)
        if known[0] == 0:  # first sight: remembered unless the template holds a digit
            known[0] = tid + 1
            for i in range(length):
                if _digit(out[i]):
                    known[0] = SKELETON_DIGITS
                    break
        return tid

    cdef int64_t _skeleton_of(self, const uint8_t* b, Py_ssize_t p, Py_ssize_t q) except -1:
        """The skeleton id of message [p, q) (its first TEMPLATE_BYTES)."""
        cdef uint8_t skeleton[TEMPLATE_BYTES]
        cdef Py_ssize_t n = q - p if q - p < TEMPLATE_BYTES else TEMPLATE_BYTES
        cdef uint64_t h = _skeleton(b + p, n, skeleton)
        if self.skeletons.count >= MAX_SKELETONS:  # messages of endless variety: start again
            self.skeletons = SpanTable(SK_COLUMNS, 10)
            self.shape_metrics.n = 0
        return self.skeletons.intern_hashed(skeleton, n, h)

    cdef int _body(self, const uint8_t* b, Line* ln, LineMetrics* mx) except -1:
        """Read the response time and resources of an entry inside the window (``_decide``
        left them: ``body_pending``); its kind, ENTRY or UNDECIDED, as ``_message_body``.

        Where the response-time rule matches and which tokens are ``key=number`` depends on
        whether each byte is a digit, not on which digit: the rules' words, units and
        separators hold none, and a number's extent is its run of digits. So messages that
        share their skeleton share their *shape*, and the tally keeps it with the skeleton
        (SK_ columns): a line whose skeleton was seen costs the skeleton, a look-up and the
        numbers read where the shape says, not the searches; the skeleton is the one its
        template is then found by. Whether a number fits an int64 is still asked of each
        line's digits. Messages longer than TEMPLATE_BYTES are read as ``_decide`` reads them."""
        cdef Py_ssize_t p = ln.msg, q = ln.msg_end, number, i, frac_start, frac_end
        cdef int places
        cdef int64_t sid, value
        cdef int64_t* row
        cdef int64_t* token
        self.line_skeleton = -1
        if q - p > TEMPLATE_BYTES or q == p:
            return _message_body(b, ln, mx, &number, &places)
        sid = self._skeleton_of(b, p, q)
        self.line_skeleton = sid
        row = self.skeletons.counters + sid * SK_COLUMNS
        if not row[SK_SHAPE]:  # first sight: read as _decide would, and remember where
            if _message_body(b, ln, mx, &number, &places) != ENTRY:
                return UNDECIDED
            _reserve(&self.shape_metrics, SHAPE_METRIC * mx.n)
            row[SK_RT] = number - p if number >= 0 else -1
            row[SK_PLACES] = places
            if number >= 0:
                row[SK_RT_DIGITS] = _number(b, number, q, &frac_start, &frac_end) - number
                row[SK_RT_FRACTION] = frac_end - frac_start
            row[SK_METRICS] = self.shape_metrics.n
            row[SK_METRIC_COUNT] = mx.n
            for i in range(mx.n):
                token = self.shape_metrics.data + self.shape_metrics.n
                token[0] = mx.key[i] - p
                token[1] = mx.key_end[i] - p
                token[2] = -1 if _has_digit(b + mx.key[i], mx.key_end[i] - mx.key[i]) else \
                    self.resources.intern(b + mx.key[i], mx.key_end[i] - mx.key[i])
                mx.rid[i] = token[2]
                number = mx.key_end[i] + 1
                token[3] = b[number] == 45  # '-'
                number += token[3]
                token[4] = _number(b, number, q, &frac_start, &frac_end) - number
                token[5] = frac_end - frac_start
                self.shape_metrics.n += SHAPE_METRIC
            row[SK_SHAPE] = 1
            return ENTRY
        ln.has_rt = 0
        ln.rt = 0
        if row[SK_RT] >= 0:
            if not _fixed_shaped(b + p + row[SK_RT], row[SK_RT_DIGITS], row[SK_RT_FRACTION], <int>row[SK_PLACES],
                                 &ln.rt) and not _fixed_at(b, p + row[SK_RT], q, <int>row[SK_PLACES], &ln.rt):
                return _undecided(ln, mx)
            ln.has_rt = 1
        mx.n = <int>row[SK_METRIC_COUNT]
        token = self.shape_metrics.data + row[SK_METRICS]
        for i in range(mx.n):
            if _fixed_shaped(b + p + token[1] + 1 + token[3], token[4], token[5], 9, &value):
                value = -value if token[3] else value
            elif _signed_number(b, p + token[1] + 1, q, True, True, 9, &value) < 0:
                return _undecided(ln, mx)
            mx.key[i] = p + token[0]
            mx.key_end[i] = p + token[1]
            mx.value[i] = value
            mx.rid[i] = token[2]
            token += SHAPE_METRIC
        ln.inside = 1
        return ENTRY

    cdef int _end_template_run(self, int64_t key, int64_t* row) except -1:
        """Keep a template and group's run of one minute (key: template * groups + group)."""
        _reserve(&self.template_rows, 3)
        cdef int64_t* out = self.template_rows.data + self.template_rows.n
        out[0], out[1], out[2] = key, row[5], row[6]
        self.template_rows.n += 3
        row[6] = 0
        return 0

    cdef int _end_resource_run(self, int64_t rid, int64_t* row) except -1:
        """Keep a resource's run of one minute."""
        _reserve(&self.resource_rows, 6)
        cdef int64_t* out = self.resource_rows.data + self.resource_rows.n
        out[0], out[1], out[2], out[3], out[4], out[5] = rid, row[5], row[6], row[7], row[8], row[9]
        self.resource_rows.n += 6
        row[6] = 0
        return 0

    cdef int _resource(self, const uint8_t* b, Py_ssize_t k, Py_ssize_t ke, int64_t value,
                       int64_t minute, int64_t rid) except -1:
        """Count a resource's value (``rid``: its id, -1 when not known yet)."""
        if rid < 0:
            rid = self.resources.intern(b + k, ke - k)
        cdef int64_t* row = self.resources.counters + rid * RESOURCE_COLUMNS
        if row[0] == 0:
            row[1] = row[2] = value
            row[3] = row[4] = row[6] = 0
        elif value < row[1]:
            row[1] = value
        elif value > row[2]:
            row[2] = value
        row[0] += 1
        _add_wide(row + 3, value)
        if row[6] and row[5] != minute:
            self._end_resource_run(rid, row)
        if row[6] == 0:
            row[5] = minute
            row[7] = value
            row[8] = row[9] = 0
        elif value > row[7]:
            row[7] = value
        row[6] += 1
        _add_wide(row + 8, value)
        return 0

    cdef int _label(self, SpanTable table, const uint8_t* b, int64_t a, int64_t z, int error) except -1:
        cdef int64_t* row = table.counters + table.intern(b + a, z - a) * LABEL_COLUMNS
        row[0] += 1
        row[1] += error
        return 0

    def scan(self, data, int64_t base) -> int:
        """Add a block of whole lines (bytes-like, at file offset ``base``; its last line may
        lack a newline) to the tally; how many of its lines are exceptions (MALFORMED or
        UNDECIDED), for :meth:`exceptions`."""
        cdef const uint8_t[::1] buf = data
        cdef object view = memoryview(data).cast("B") if self.search is not None else None
        cdef Py_ssize_t size = buf.shape[0], s = 0, nl, e, j, c, length
        cdef const uint8_t* b = &buf[0] if size else NULL
        cdef const uint8_t* found
        cdef Line ln
        cdef LineMetrics mx
        cdef uint8_t quoted[QUOTED_SIZE]
        cdef uint8_t out[TEMPLATE_SIZE]
        cdef int kind, error
        cdef int64_t ms, second, minute, rt, bucket, coarse
        cdef int64_t low = self.st.low, high = self.st.high
        self.exception_rows.n = 0
        self.first_entry = -1
        while s < size:
            found = <const uint8_t*>memchr(b + s, 10, size - s)
            nl = found - b if found != NULL else size
            e = nl - 1 if nl > s and b[nl - 1] == 13 else nl
            self.lines += 1
            kind = _decide(b, s, e, &self.st, &ln, &mx)
            if ln.body_pending:
                kind = self._body(b, &ln, &mx)
            else:
                self.line_skeleton = -1
            if kind != ENTRY:
                if kind == BLANK:
                    self.blank += 1
                else:
                    if self.first_entry < 0 and kind == UNDECIDED and e - s <= MAX_LINE:
                        self.first_entry = s
                    _push_exception(&self.exception_rows, kind, s, e, nl + 1 if nl < size else size)
                s = nl + 1
                continue
            if self.first_entry < 0:
                self.first_entry = s
            ms = ln.ms
            self.entries += 1
            if self.entries == 1 or ms < self.first_ms:
                self.first_ms = ms
            if self.entries == 1 or ms > self.last_ms:
                self.last_ms = ms
            length = -1
            if self.filtering and (ln.inside or (self.count_templates and ms < low)) and not self._passes(
                    view, b, &ln, quoted, out, &length):
                s = nl + 1  # as an entry outside the window, and not one before it either
                continue
            if not ln.inside:
                if self.count_templates and ms < low and ln.msg_end > ln.msg:
                    self._template(b, &ln, 0, False, 0, quoted, out, length)
                s = nl + 1
                continue
            self.in_window += 1
            self.level_counts[ln.level] += 1
            error = self.error_of[ln.level]
            self.errors += error
            if not (self.second_ms <= ms < self.second_ms + 1000):  # another second: no division else
                second = _floor_div(ms, 1000)
                self._close_second()
                self.second = second
                self.second_ms = second * 1000
                minute = _floor_div(second, 60)
                if minute != self.minute:
                    self._close_minute()
                    self.minute = minute
            minute = self.minute
            bucket = -2
            self.second_count += 1
            self.minute_entries += 1
            self.minute_errors += error
            if ln.has_rt:
                rt = ln.rt
                if self.rt_count == 0 or rt < self.rt_low:
                    self.rt_low = rt
                if self.rt_count == 0 or rt > self.rt_high:
                    self.rt_high = rt
                self.rt_count += 1
                _add_wide(self.rt_total, rt)
                self.minute_rt_n += 1
                _add_wide(self.minute_rt_sum, rt)
                bucket = self._bucket(rt)
                if bucket < 0:
                    self.rt_zeros += 1
                    coarse = 0
                else:
                    self.buckets[bucket] += 1
                    coarse = _floor_div(bucket + self.lowest_index, self.coarse_width) - self.coarse_zero
                if self.coarse[coarse] == 0:
                    _reserve(&self.touched, 1)
                    self.touched.data[self.touched.n] = coarse
                    self.touched.n += 1
                self.coarse[coarse] += 1
            if self.access is not None:
                self.access.add(b, &ln, minute, bucket)
            for j in range(mx.n):
                self._resource(b, mx.key[j], mx.key_end[j], mx.value[j], minute, mx.rid[j])
            if self.count_templates and ln.msg_end > ln.msg:
                self._template(b, &ln, base + s, True, minute, quoted, out, length)
            if self.count_labels:
                self._label(self.hosts, b, ln.spans[0], ln.spans[1], error)
                self._label(self.programs, b, ln.spans[2], ln.spans[3], error)
            s = nl + 1
        return self.exception_rows.n // 4

    def close(self) -> None:
        """End the runs still open (call once, before reading the figures)."""
        cdef Py_ssize_t t, g
        cdef int64_t* row
        self._close_second()
        self._close_minute()
        for t in range(self.templates.count):
            for g in range(self.groups):
                row = self.templates.counters + t * self.templates.columns + g * TALLY_GROUP_COLUMNS
                if row[6]:
                    self._end_template_run(t * self.groups + g, row)
        for t in range(self.resources.count):
            row = self.resources.counters + t * RESOURCE_COLUMNS
            if row[6]:
                self._end_resource_run(t, row)

    def exceptions(self, int kind=-1, Py_ssize_t limit=-1) -> list:
        """The last block's exceptions, in order: (kind, start, end, start of the next line)
        tuples, offsets in the block; those of ``kind`` only (all with -1), the first
        ``limit`` of them (all with -1)."""
        if kind < 0 and limit < 0:
            return _vec_rows(&self.exception_rows, 4)
        cdef list out = []
        cdef Py_ssize_t i
        cdef int64_t* row
        for i in range(0, self.exception_rows.n, 4):
            if limit >= 0 and len(out) >= limit:
                break
            row = self.exception_rows.data + i
            if kind < 0 or row[0] == kind:
                out.append((row[0], row[1], row[2], row[3]))
        return out

    def exception_count(self, int kind, int64_t before) -> tuple:
        """(the last block's exceptions of ``kind``, how many of them start before offset
        ``before``)."""
        cdef Py_ssize_t i, n = 0, early = 0
        cdef int64_t* row
        for i in range(0, self.exception_rows.n, 4):
            row = self.exception_rows.data + i
            if row[0] == kind:
                n += 1
                if row[1] < before:
                    early += 1
        return n, early

    def figures(self) -> dict:
        """Everything counted, as numbers and lists, no numpy (after :meth:`close`):
        ``levels`` (entries per level id), ``buckets`` ((bucket - LOWEST_INDEX, values) of
        the used ones), ``rt_total`` (the 128-bit sum's words), ``second_runs`` and
        ``loose_seconds`` (SecondCounts' wire form), ``minutes`` (minute, entries, errors,
        response times, their sum's words), ``coarse_runs`` (MinuteSketches' wire form),
        ``template_minutes`` (template * groups + group, minute, entries) and
        ``resource_minutes`` (resource, minute, values, greatest, sum's words) rows."""
        cdef Py_ssize_t i
        cdef list levels = [], buckets = []
        for i in range(MAX_LEVELS):
            levels.append(self.level_counts[i])
        for i in range(self.n_bounds):
            if self.buckets[i]:
                buckets.append((i, self.buckets[i]))
        second_runs, loose_seconds = _second_wire(&self.seconds)
        return {
            "levels": levels, "buckets": buckets,
            "rt_total": (self.rt_total[0], self.rt_total[1]),
            "second_runs": second_runs, "loose_seconds": loose_seconds,
            "minutes": _vec_rows(&self.minutes, 6), "coarse_runs": _coarse_wire(&self.coarse_rows),
            "template_minutes": _vec_rows(&self.template_rows, 3),
            "resource_minutes": _vec_rows(&self.resource_rows, 6),
        }


cdef class ConnRuns:
    """A chunk's conn lines added up as :meth:`scan` reads them, no row per line: lines,
    blank lines, entries, their first and last time, the entries inside the window and
    those per minute (a run each time the minute changes), the hosts (into the
    HostTables given), and each block's exceptions (MALFORMED and UNDECIDED lines)."""

    cdef readonly int64_t lines, blank, entries, first_ms, last_ms, in_window, low, high
    cdef int64_t minute, minute_count, minute_ms
    cdef Vec minutes  # (minute, entries inside the window)
    cdef Vec exception_rows  # this block's (kind, start, end, next line's start)

    def __cinit__(self, int64_t low, int64_t high):
        self.low, self.high = low, high
        self.minute_ms = INT64_MAX - 60000  # no minute yet: every time is another

    def __dealloc__(self):
        free(self.minutes.data)
        free(self.exception_rows.data)

    def scan(self, data, HostTable sources, HostTable targets, list to_hosts, list from_hosts,
             const uint64_t[:, ::1] host_keys) -> int:
        """Add a block of whole conn lines (bytes-like) to the counts; the entries inside
        the window per source and target, and per peer of each host whose key is a row of
        ``host_keys`` (in ``to_hosts[i]`` and ``from_hosts[i]``; a key (0, 0) is no host's).
        How many of its lines are exceptions (:meth:`exceptions`)."""
        cdef const uint8_t[::1] buf = data
        cdef Py_ssize_t size = buf.shape[0], s = 0, nl, e, h, n_hosts = host_keys.shape[0]
        cdef const uint8_t* b = &buf[0] if size else NULL
        cdef const uint8_t* found
        cdef int64_t ms = 0, low = self.low, high = self.high
        cdef uint64_t keys[4]
        cdef int kind
        self.exception_rows.n = 0
        while s < size:
            found = <const uint8_t*>memchr(b + s, 10, size - s)
            nl = found - b if found != NULL else size
            e = nl - 1 if nl > s and b[nl - 1] == 13 else nl
            self.lines += 1
            kind = _conn_line(b, s, e, size, &ms, keys)
            if kind == ENTRY:
                self.entries += 1
                if self.entries == 1 or ms < self.first_ms:
                    self.first_ms = ms
                if self.entries == 1 or ms > self.last_ms:
                    self.last_ms = ms
                if low <= ms <= high:
                    self.in_window += 1
                    if not (self.minute_ms <= ms < self.minute_ms + 60000):
                        self._end_minute()
                        self.minute = _floor_div(ms, 60000)
                        self.minute_ms = self.minute * 60000
                    self.minute_count += 1
                    sources.add(keys[0], keys[1], 1)
                    targets.add(keys[2], keys[3], 1)
                    for h in range(n_hosts):
                        if keys[2] == host_keys[h, 0] and keys[3] == host_keys[h, 1]:
                            (<HostTable>to_hosts[h]).add(keys[0], keys[1], 1)
                        if keys[0] == host_keys[h, 0] and keys[1] == host_keys[h, 1]:
                            (<HostTable>from_hosts[h]).add(keys[2], keys[3], 1)
            elif kind == BLANK:
                self.blank += 1
            else:
                _push_exception(&self.exception_rows, kind, s, e, nl + 1 if nl < size else size)
            s = nl + 1
        return self.exception_rows.n // 4

    cdef int _end_minute(self) except -1:
        if self.minute_count:
            _push2(&self.minutes, self.minute, self.minute_count)
            self.minute_count = 0
        return 0

    def exceptions(self) -> list:
        """The last block's exceptions, in order: (kind, start, end, start of the next line)
        tuples, offsets in the block."""
        return _vec_rows(&self.exception_rows, 4)

    def minute_counts(self):
        """Entries inside the window per minute so far, as (minute, entries) rows (a minute
        may come more than once)."""
        self._end_minute()
        self.minute_ms = INT64_MAX - 60000
        return _vec_array(&self.minutes, 2)
