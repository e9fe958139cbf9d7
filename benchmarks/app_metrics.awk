# The app metrics of SPEC §3 the way an on-call engineer would get them with awk
# (lograd's peer in benchmarks/throughput.py; run with mawk).
#
# Entries: a real date, a real time with an optional fraction, a known level (any case);
# dates and times are checked once per distinct second.
# Response time: the first "in|took|response_time=|latency=|duration= N ms|s|us"
# with word boundaries emulated by a non-word byte. p95 is the nearest rank
# (sorted[ceil(0.95 n) - 1]) from a histogram of the values.
# Output: "key value" lines, then "minute YYYY-MM-DDTHH:MM requests errors".

function days(y, m, d) {  # days since 1970-01-01 in the civil calendar
    if (m <= 2) { y--; m += 12 }
    return 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d - 719469
}

function epoch_second(date, time,    y, mo, d, leap) {  # -1 unless a real date and time
    if (date !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/ || time !~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/)
        return -1
    y = substr(date, 1, 4) + 0; mo = substr(date, 6, 2) + 0; d = substr(date, 9, 2) + 0
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo] + (mo == 2 && leap) ||
        substr(time, 1, 2) > 23 || substr(time, 4, 2) > 59 || substr(time, 7, 2) > 59) return -1
    return days(y, mo, d) * 86400 + substr(time, 1, 2) * 3600 + substr(time, 4, 2) * 60 + substr(time, 7, 2)
}

BEGIN {
    split("TRACE DEBUG INFO NOTICE WARN WARNING", plain, " ")
    for (i in plain) level[plain[i]] = 0
    level["ERROR"] = 1; level["CRITICAL"] = 1; level["FATAL"] = 1
    split("31 28 31 30 31 30 31 31 30 31 30 31", month_days, " ")
}

/^[ \t]*$/ { next }

{
    stamp = $1 " " substr($2, 1, 8)
    if (!(stamp in second_of)) second_of[stamp] = epoch_second($1, $2)  # once per distinct second
    s = second_of[stamp]
    lvl = toupper($3)
    if (s < 0 || !(lvl in level) || (length($2) > 8 && substr($2, 9) !~ /^\.[0-9][0-9]?[0-9]?[0-9]?[0-9]?[0-9]?[0-9]?[0-9]?[0-9]?$/)) {
        bad++; next
    }
    n++
    minute = substr(stamp, 1, 10) "T" substr(stamp, 12, 5)
    requests[minute]++
    if (level[lvl]) { errors++; failed[minute]++ }
    if (n == 1 || s < first) first = s
    if (n == 1 || s > last) last = s
    if (match($0, /(^|[^A-Za-z0-9_])(in|took|response_time[=:]|latency[=:]|duration[=:])[ \t]*[0-9]+(\.[0-9]+)?[ \t]*(ms|s|us)([^A-Za-z0-9_]|$)/)) {
        found = substr($0, RSTART, RLENGTH)
        match(found, /[0-9]+(\.[0-9]+)?/)
        v = substr(found, RSTART, RLENGTH) + 0
        unit = substr(found, RSTART + RLENGTH)
        sub(/^[ \t]*/, "", unit)
        if (unit ~ /^us/) v /= 1000
        else if (unit !~ /^ms/) v *= 1000
        timed++; total += v; histogram[v]++
    }
}

END {
    printf "entries %d\nmalformed %d\nerrors %d\n", n, bad, errors
    printf "error_rate %.17g\n", n ? errors / n : 0
    if (timed) {
        k = 0
        for (v in histogram) values[++k] = v + 0
        for (i = 2; i <= k; i++) {  # insertion sort of the distinct values (a few hundred)
            x = values[i]; j = i - 1
            while (j > 0 && values[j] > x) { values[j + 1] = values[j]; j-- }
            values[j + 1] = x
        }
        rank = int(0.95 * timed); if (rank < 0.95 * timed) rank++
        seen = 0
        for (i = 1; i <= k; i++) { seen += histogram[values[i]]; if (seen >= rank) { p95 = values[i]; break } }
        printf "avg_response_time %.17g\np95 %.17g\n", total / timed, p95
    }
    if (n) printf "requests_per_second %.17g\n", n / (last - first + 1)
    for (m in requests) printf "minute %s %d %d\n", m, requests[m], failed[m] + 0
}
