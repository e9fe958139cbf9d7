# Who connected to HOST and to whom HOST connected in the last LAST seconds of a
# conn log, as an awk user would: run over the file twice (mawk -v host=H -v last=N
# -f conn_metrics.awk FILE FILE); the first pass finds the newest entry.
# Output: "key value" lines, "to NAME N", "from NAME N", "source NAME N", "target NAME N".

NF != 3 || $1 !~ /^[0-9]+$/ || length($1) > 16 { next }
{ ms = $1 >= 100000000000 ? $1 : $1 * 1000 }
NR == FNR { if (ms > newest) newest = ms; next }
ms >= newest - last * 1000 && ms <= newest {
    n++; sources[$2]++; targets[$3]++
    if ($3 == host) to[$2]++
    if ($2 == host) from[$3]++
}
END {
    printf "in_window %d\n", n
    for (h in to) printf "to %s %d\n", h, to[h]
    for (h in from) printf "from %s %d\n", h, from[h]
    for (h in sources) printf "source %s %d\n", h, sources[h]
    for (h in targets) printf "target %s %d\n", h, targets[h]
}
