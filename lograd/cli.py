"""The command lines (docopt-ng): usage texts and ``main`` functions.

``python -m lograd.cli coordinator|worker|generate ARGS`` runs one of them;
the ``bin/`` scripts are shims that call these functions.
"""
from __future__ import annotations

import os
import re
import sys
import uuid

from docopt import DocoptExit, docopt

from .config import DEFAULT_BIND, DEFAULT_COORDINATOR, DEFAULT_PORT, Settings, parse_seconds, parse_size
from .errors import (EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_NO_WORKERS, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, LogradError,
                     UsageError)

FORMAT_NAMES = ("app", "conn", "json", "logfmt", "syslog", "access", "cri", "docker", "text")
"""The formats ``--format`` takes (the registry's names; a test holds them together, and the
command line does not import the registry so that it starts fast)."""

COORDINATOR_USAGE = """\
lograd-coordinator: analyse log files with workers over ZeroMQ.

Usage:
  lograd-coordinator [options] [--host NAME]... <path>...
  lograd-coordinator [options] [--host NAME]... --on-workers GLOB... [<path>...]
  lograd-coordinator (-h | --help)

<path> is a file, a directory (its regular files, not recursive) or a quoted glob,
read where the coordinator sees it: every worker must see it at the same path.

Options:
  --local N              Start N workers on this machine [default: 0].
  --workers N            Wait until N workers have joined before dispatching
                         (default: the --local count, or 1).
  --port PORT            Base port; the coordinator listens on PORT..PORT+3
                         [default: @PORT@].
  --bind ADDR            Interface to listen on [default: @BIND@].
  --chunk-size SIZE      Bytes per chunk: plain, or with KiB MiB GiB KB MB GB
                         (default: about four chunks per worker, 64KiB-64MiB,
                         the last ones cut in four).
  --format FMT           Input format: auto, app, conn, json, logfmt, syslog,
                         access, cri, docker or text (below);
                         auto decides per file from its first 64 KiB
                         [default: auto].
  --from TIME            Only entries at or after TIME (ISO 8601, no zone
                         meaning UTC, or Unix seconds).
  --to TIME              Only entries at or before TIME.
  --last SECONDS         Only the last SECONDS up to the newest entry (with
                         --follow: up to now).
  --log-format LAYOUT    Access logs written by an nginx log_format string, e.g.
                         '$remote_addr - $remote_user [$time_local] "$request"
                         $status $body_bytes_sent $request_time': the format
                         is then access (README, Access logs, lists the
                         variables read).
  --on-workers GLOB      Each worker's own files: every worker started with
                         --serve lists the files of its host that match the
                         quoted GLOB, and only that host's workers read them
                         (reported as HOST:PATH, per host in "hosts");
                         HOST:GLOB asks one host. Repeatable.
  --host NAME            conn logs: who connected to NAME, and to whom NAME
                         connected; give it again for each host to ask about.
  --level LEVEL          Only entries of LEVEL or a more severe one (ERROR:
                         ERROR, CRITICAL and FATAL).
  --grep REGEX           Only entries whose message matches REGEX (Python's
                         re, searched anywhere in the message).
  --template TEXT        Only entries of one message template, as the report
                         writes it: 'Timeout after <*> ms calling <*>'.
  --no-templates         Do not count message templates (a little faster).
  --json                 Print the report as one JSON object (with --follow,
                         one per line).
  --html FILE            Also write the report as a self-contained HTML page
                         of charts (with --follow, rewritten at each report).
  --follow               Keep running: analyse lines as they are appended to
                         the files (and files that appear), report each
                         period (--every), until Ctrl-C.
  --every SECONDS        Report period with --follow [default: 10].
  --state FILE           With --follow: save offsets and figures here at every
                         report, and continue from them when restarted.
  --metrics-port PORT    With --follow: serve the current figures for
                         Prometheus on http://BIND:PORT/metrics.
  --join-timeout SECONDS  How long to wait for workers [default: @JOIN_TIMEOUT@].
  --heartbeat SECONDS    Heartbeat interval, both ways [default: @HEARTBEAT@].
  --liveness N           Heartbeats missed before a worker is dead [default: @LIVENESS@].
  --max-attempts N       Attempts at a chunk before it is reported failed
                         [default: @MAX_ATTEMPTS@].
  --curve DIR            Encrypt with CurveZMQ and admit only workers whose
                         public key is in DIR (made by lograd-keys).
  -h --help              Show this text.

Formats (README, Formats, says what each gives):
  app    2024-01-24 10:15:32.123 INFO Request processed in 127ms
  conn   1565647204351 Aadvik Matina
  json   {"ts": "2024-01-24T10:15:32.123Z", "level": "info", "msg": "done", "latency_ms": 12.5}
         (also pino, bunyan, zap, ECS, Serilog: nested keys, numeric levels, epochs)
  logfmt time=2024-01-24T10:15:32.123Z level=error msg="upstream timed out" duration=1.5s
  syslog <34>1 2024-01-24T10:15:32.123Z web01 sshd 4242 ID47 - Failed password for root
         (RFC 5424 and 3164, with or without <PRI>: /var/log/syslog, auth.log)
  access 203.0.113.7 - - [24/Jan/2024:10:15:32 +0000] "GET /api/users/42 HTTP/1.1" 200 512 "-" "curl/8.5" 0.127
         (nginx and Apache: common, combined, with a request time, vhost first)
  cri    2024-01-24T10:15:32.123456789Z stdout F <inner line>
  docker {"log":"<inner line>\\n","stream":"stdout","time":"2024-01-24T10:15:32.1Z"}
         (Kubernetes and Docker container logs; the inner lines are detected and read
         as their own format: cri+json, docker+text...)
  text   2015-10-18 18:01:47,978 INFO [main] o.a.h.m.MRAppMaster: Created MRAppMaster
         (log4j, logback, Python logging, syslog, Spark, klog, Apache and nginx error
         logs; stack traces are continuation lines of the entry above them)

Exit status: 0 success; 1 report printed but some input could not be read or
some chunks failed; 2 usage error; 3 no worker joined in time.
"""

WORKER_USAGE = """\
lograd-worker: summarise chunks of log files for a lograd coordinator.

Usage:
  lograd-worker <id> [--serve DIR]... [--root DIR]... [options]
  lograd-worker (-h | --help)

<id> names this worker in reports (alice, bob, ...).

Options:
  --coordinator URL      The coordinator's base address: tcp://HOST:PORT, or
                         HOST:PORT [default: @COORDINATOR@].
  --serve DIR            Serve this host's own files under DIR (repeatable): a
                         coordinator's --on-workers asks which match, and their
                         chunks come to the workers of this host. Only files
                         inside the --serve and --root directories are opened.
  --hostname NAME        This host's name in reports (HOST:PATH, hosts)
                         (by default this machine's name).
  --root DIR             Read only files inside DIR (repeatable; symlinks are
                         followed before the check); other chunks are refused.
  --curve DIR            Encrypt with CurveZMQ: this worker's key pair from DIR
                         (DIR/<id>.key_secret, else DIR/worker.key_secret) and
                         the coordinator's public key DIR/coordinator.key.
  --capacity N           Chunks held at once [default: @CAPACITY@].
  --heartbeat SECONDS    Heartbeat interval [default: @HEARTBEAT@].
  --liveness N           Coordinator beats missed before it counts as gone
                         [default: @LIVENESS@].
  --give-up SECONDS      Exit after this long without a coordinator
                         [default: @GIVE_UP@].
  --quiet                Say nothing about joining coordinators.
  --verbose              Also say each chunk done: where, size, milliseconds.
  --instance ID          Join this coordinator instance at once, before its first
                         heartbeat (a coordinator's --local workers are started so).
  -h --help              Show this text.

Ctrl-C or SIGTERM: the chunk in hand is finished, the rest handed back.
"""


def _with_defaults(usage: str) -> str:
    """A usage text with its @NAME@ defaults filled from config (written there once)."""
    d = Settings()
    values = {"PORT": DEFAULT_PORT, "BIND": DEFAULT_BIND, "COORDINATOR": DEFAULT_COORDINATOR,
              "HEARTBEAT": f"{d.heartbeat_interval:g}", "LIVENESS": d.liveness, "MAX_ATTEMPTS": d.max_attempts,
              "JOIN_TIMEOUT": f"{d.join_timeout:g}", "GIVE_UP": f"{d.give_up:g}", "CAPACITY": d.worker_capacity}
    for name, value in values.items():
        usage = usage.replace(f"@{name}@", str(value))
    return usage


COORDINATOR_USAGE = _with_defaults(COORDINATOR_USAGE)
WORKER_USAGE = _with_defaults(WORKER_USAGE)

GENERATE_USAGE = """\
lograd-generate: write a synthetic log (deterministic per seed).

Usage:
  lograd-generate [options] <path>
  lograd-generate (-h | --help)

Options:
  --size SIZE        About this many bytes: plain, or with KiB MiB GiB KB MB GB
                     [default: 10MB].
  --lines N          Exactly N lines instead of --size.
  --format FMT       app, conn, json, text (log4j lines, error entries with stack
                     traces), logfmt, syslog (RFC 5424) or cri (Kubernetes lines
                     around text) [default: app].
  --profile NAME     app, json and text: normal, error_spike or malformed
                     [default: normal].
  --hosts N          conn: distinct hosts, a few very busy and a long tail
                     [default: 1000].
  --rate N           Entries per second of log time [default: 50].
  --start TIME       Time of the first entry [default: 2024-01-24T10:00:00].
  --seed N           Random seed [default: 1].
  --follow           Append to <path> in real time instead: --rate lines a second,
                     stamped with the time they are written, until Ctrl-C.
  --duration S       With --follow: stop after S seconds.
  -h --help          Show this text.
"""


KEYS_USAGE = """\
lograd-keys: make CurveZMQ key pairs for lograd (--curve DIR).

Usage:
  lograd-keys <dir> [<name>...]
  lograd-keys (-h | --help)

Makes DIR/NAME.key (public) and DIR/NAME.key_secret (secret, mode 600) for each
NAME, by default "coordinator" and "worker"; an existing secret key is kept.
A coordinator with --curve DIR admits every DIR/*.key; copy a worker's NAME.key
into the coordinator's DIR, and the coordinator's coordinator.key into the
worker's.

Options:
  -h --help    Show this text.
"""


def _parse(usage: str, argv: list[str] | None) -> dict:
    try:
        return docopt(usage, argv=argv, default_help=True)
    except DocoptExit as exc:
        raise UsageError(str(exc).strip()) from None


def _int(args: dict, key: str, low: int = 0) -> int:
    try:
        value = int(args[key])
    except (TypeError, ValueError):
        raise UsageError(f"{key} takes a whole number, not {args[key]!r}") from None
    if value < low:
        raise UsageError(f"{key} must be at least {low}")
    return value


def _value(parse, args: dict, key: str):
    try:
        return parse(args[key])
    except ValueError as exc:
        raise UsageError(f"{key}: {exc}") from None


def _settings(args: dict, **extra) -> Settings:
    return Settings(heartbeat_interval=_value(parse_seconds, args, "--heartbeat"),
                    liveness=_int(args, "--liveness", 1), **extra)


def _usage_exit(exc: UsageError, usage: str) -> int:
    block = "Usage:" + usage.split("Usage:", 1)[1].split("\n\n", 1)[0]
    sys.stderr.write(f"{exc}\n\n{block}\n(--help for all options)\n")
    return exc.status


def coordinator_main(argv: list[str] | None = None) -> int:
    """``lograd-coordinator``: returns the exit status of SPEC §4."""
    from .filters import EntryFilter
    from .timestamps import parse_time_arg
    try:
        args = _parse(COORDINATOR_USAGE, argv)
        local = _int(args, "--local")
        wanted = _int(args, "--workers", 1) if args["--workers"] else 1
        port = _int(args, "--port", 1)
        if port + 3 > 65535:
            raise UsageError("--port must leave room for PORT+3 below 65536")
        chunk = _value(parse_size, args, "--chunk-size") if args["--chunk-size"] else None
        fmt = args["--format"]
        wrapper, plus, inner = fmt.partition("+")
        if fmt not in ("auto", *FORMAT_NAMES) and not (
                plus and wrapper in ("cri", "docker") and inner in FORMAT_NAMES and inner not in ("conn", "cri", "docker")):
            raise UsageError(f"--format {fmt!r}: choose auto, {', '.join(FORMAT_NAMES)}, "
                             f"or cri+FORMAT / docker+FORMAT")
        if args["--log-format"]:
            from .formats.access import layout_pattern
            if fmt not in ("auto", "access"):
                raise UsageError(f"--log-format reads access logs: it goes with --format access, not {fmt}")
            try:
                layout_pattern(args["--log-format"])
            except (ValueError, re.error) as exc:
                raise UsageError(f"--log-format: {exc}") from None
            from .formats import LAYOUT_PREFIX
            fmt = LAYOUT_PREFIX + args["--log-format"]
        window = None
        if args["--from"] or args["--to"]:
            window = tuple(_value(parse_time_arg, args, k) if args[k] else None for k in ("--from", "--to"))
        last = _value(parse_seconds, args, "--last") if args["--last"] else None
        try:
            filters = EntryFilter.from_options(args["--level"], args["--grep"], args["--template"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if last is not None and window is not None:
            raise UsageError("--last and --from/--to are two kinds of window: give one")
        settings = _settings(args, join_timeout=_value(parse_seconds, args, "--join-timeout"),
                             max_attempts=_int(args, "--max-attempts", 1))
        every = _value(parse_seconds, args, "--every")
        metrics_port = _int(args, "--metrics-port", 1) if args["--metrics-port"] else None
        if not args["--follow"]:
            for key in ("--state", "--metrics-port"):
                if args[key]:
                    raise UsageError(f"{key} goes with --follow")
        elif metrics_port is not None and metrics_port > 65535:
            raise UsageError("--metrics-port must be below 65536")
    except UsageError as exc:
        return _usage_exit(exc, COORDINATOR_USAGE)
    started = None
    instance = uuid.uuid4().hex  # the first job's: --local workers join it at once
    try:
        if local and not args["--curve"]:  # forked once this process has imported (_coordinate)
            from .jobs.local import LocalWorkers
            started = LocalWorkers()  # a worker whose start Ctrl-C cut short sees its parent gone and exits
        return _coordinate(args, port, settings, local, wanted, chunk, window, fmt, last, filters, every,
                           metrics_port, started, instance)
    except KeyboardInterrupt:  # at any moment: while importing and planning too
        print("lograd-coordinator: interrupted; workers stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if started is not None:
            started.stop()


def _coordinate(args: dict, port: int, settings, local: int, wanted: int, chunk, window, fmt: str, last,
                filters, every: float, metrics_port: int | None, started, instance: str) -> int:
    """The coordinator's job once its command line is read (``started``: where to start the
    --local workers, or None; ``instance``: the first job's instance, which they join)."""
    if started is not None:
        if _workers_need_numpy(args, fmt):
            import numpy  # noqa: F401  (once, here, for the workers too)
        _few_collections()
        try:
            _fork_workers(started, local, args["--bind"], port, settings, instance)
        except OSError as exc:  # the system refused a process (EAGAIN, ENOMEM): none to work
            print(f"lograd-coordinator: cannot start --local workers: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_NO_WORKERS
    # the coordinator's own modules are imported while its workers start
    from .coordinator import Coordinator
    from .outputs.report import human, json_bytes
    _few_collections()
    try:
        coordinator = Coordinator(port=port, bind=args["--bind"], settings=settings, local_workers=local,
                                  workers_wanted=wanted, chunk_size=chunk, window=window, fmt=fmt,
                                  progress=not args["--follow"], hosts=args["--host"], last=last,
                                  curve_dir=args["--curve"], filters=filters,
                                  templates=not args["--no-templates"], on_workers=args["--on-workers"],
                                  started=started, instance=instance)
    except LogradError as exc:
        print(f"lograd-coordinator: {exc}", file=sys.stderr)
        return exc.status
    try:
        if args["--follow"]:
            return _follow(coordinator, args, every, metrics_port)
        report, status = coordinator.run(args["<path>"])
    except LogradError as exc:
        print(f"lograd-coordinator: {exc}", file=sys.stderr)
        return exc.status
    except OSError as exc:  # the coordinator's own sockets or files
        print(f"lograd-coordinator: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args["--html"]:
        from .outputs.html import write_html
        try:
            write_html(args["--html"], report)
        except OSError as exc:
            print(f"lograd-coordinator: cannot write {args['--html']}: {exc.strerror}", file=sys.stderr)
            status = max(status, 1)
    try:
        if args["--json"]:
            sys.stdout.flush()  # (what the text layer holds goes first)
            sys.stdout.buffer.write(json_bytes(report))
            sys.stdout.buffer.write(b"\n")
        else:
            sys.stdout.write(human(report))
    except BrokenPipeError:
        pass  # the reader went away (| head): nothing more to say
    _quiet_stdout()
    return status


def _follow(coordinator, args: dict, every: float, metrics_port: int | None) -> int:
    """``lograd-coordinator --follow``: reports until Ctrl-C, SIGTERM or SIGHUP, then a final one."""
    import signal
    from .outputs.display import report_sink

    def on_signal(signum, frame):
        coordinator.stop()  # only a flag: the loop finishes the round and reports

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    with report_sink(sys.stdout, as_json=args["--json"], metrics_port=metrics_port,
                     bind=args["--bind"], on_closed=coordinator.stop, html_path=args["--html"]) as emit:
        status = coordinator.follow(args["<path>"], every, emit, args["--state"],
                                    outputs=[args["--html"]] if args["--html"] else [])
    _quiet_stdout()
    return status


def _workers_need_numpy(args: dict, asked: str) -> bool:
    """Whether the --local workers of the command line's job will import numpy: a batch job
    over files not on the workers, by the formats its files are read in (detected as the
    job's plan will: inputs.detect keeps what it found). --follow, --last (their time
    buckets and scans use it), --on-workers, standard input, or more files than a few:
    taken as yes (as before the workers could start without it)."""
    from .formats import get
    from .inputs import expand, format_for
    from .stdin import NAME as STDIN
    paths = args["<path>"]
    if args["--follow"] or args["--last"] or args["--on-workers"] or STDIN in paths:
        return True
    files, _ = expand(paths)
    if len(files) > _FEW_FILES:
        return True
    try:
        return any(get(format_for(f.path, asked, lambda message: None)).workers_need_numpy for f in files)
    except KeyError:  # a format the plan refuses, with its message
        return True


_FEW_FILES = 16
"""Files whose formats are detected before the --local workers start (the plan needs them anyway)."""


def _fork_workers(started, count: int, bind: str, port: int, settings: Settings, instance: str) -> None:
    """Start the --local workers as forks of this process, once it has imported what they
    need too (the formats, the scanner, the worker), before any socket or thread: they join
    while the job is planned, each without a start of its own (LocalWorkers.fork)."""
    from . import fastpath, reader, worker  # noqa: F401  (imported for the workers)
    from .formats import formats
    from .jobs.local import local_address
    formats()
    started.fork(count, local_address(bind, port), settings, instance)


def _few_collections() -> None:
    """Let the cyclic garbage collector leave the coordinator's imported objects alone: they
    are frozen (never scanned again). Collections come rarely anyway (launch.run sets the
    threshold); the collector still runs, in --follow too."""
    import gc
    gc.freeze()


def _quiet_stdout() -> None:
    """Point stdout at /dev/null when its reader has gone, so exiting does not fail on it."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def worker_main(argv: list[str] | None = None) -> int:
    """``lograd-worker``: serves coordinators until stopped."""
    from .net.protocol import coordinator_address
    from .worker import Worker, serve
    try:
        args = _parse(WORKER_USAGE, argv)
        settings = _settings(args, give_up=_value(parse_seconds, args, "--give-up"))
        capacity = _int(args, "--capacity", 1)
        try:
            url = coordinator_address(args["--coordinator"] or DEFAULT_COORDINATOR)
        except ValueError as exc:
            raise UsageError(f"--coordinator: {exc}") from None
        for option in ("--root", "--serve"):
            for directory in args[option]:
                if not os.path.isdir(directory):
                    raise UsageError(f"{option} {directory!r} is not a directory")
        from .sysstats import this_host
        hostname = args["--hostname"] or this_host()
        if not hostname or ":" in hostname or len(hostname) > 255:
            raise UsageError(f"--hostname {hostname!r}: a host name, without ':'")
    except UsageError as exc:
        return _usage_exit(exc, WORKER_USAGE)
    from .net.security import client_curve
    try:
        curve = client_curve(args["--curve"], args["<id>"]) if args["--curve"] else None
    except LogradError as exc:
        print(f"lograd-worker: {exc}", file=sys.stderr)
        return exc.status
    return serve(Worker(args["<id>"], url, settings, capacity, quiet=args["--quiet"],
                        verbose=args["--verbose"], curve=curve, roots=args["--root"], served=args["--serve"],
                        hostname=hostname, instance=args["--instance"]))


def keys_main(argv: list[str] | None = None) -> int:
    """``lograd-keys``: makes key pairs."""
    from .net.security import COORDINATOR, WORKER, make_keys
    try:
        args = _parse(KEYS_USAGE, argv)
    except UsageError as exc:
        return _usage_exit(exc, KEYS_USAGE)
    names = args["<name>"] or [COORDINATOR, WORKER]
    for name in names:
        if not name or "/" in name or name.startswith("."):
            return _usage_exit(UsageError(f"{name!r} cannot name a key file"), KEYS_USAGE)
    try:
        made = make_keys(args["<dir>"], names)
    except OSError as exc:
        print(f"lograd-keys: cannot write in {args['<dir>']}: {exc.strerror}", file=sys.stderr)
        return EXIT_PARTIAL
    for name in names:
        public = os.path.join(args["<dir>"], f"{name}.key")
        state = "made" if public in made else "kept (it was there)"
        print(f"{public} and {name}.key_secret: {state}")
    return EXIT_OK


def generate_main(argv: list[str] | None = None) -> int:
    """``lograd-generate``: writes one log file."""
    from .generate import FORMATS, PROFILES, generate_test_logs
    try:
        args = _parse(GENERATE_USAGE, argv)
        size = _value(parse_size, args, "--size")
        lines = _int(args, "--lines", 1) if args["--lines"] else None
        if args["--profile"] not in PROFILES:
            raise UsageError(f"--profile: choose one of {', '.join(PROFILES)}")
        if args["--format"] not in FORMATS:
            raise UsageError(f"--format: choose one of {', '.join(FORMATS)}")
        hosts = _int(args, "--hosts", 2)
        rate = _value(parse_seconds, args, "--rate")
        seed = _int(args, "--seed")
        from .timestamps import parse_time_arg
        _value(parse_time_arg, args, "--start")
        duration = _value(parse_seconds, args, "--duration") if args["--duration"] else None
        if duration is not None and not args["--follow"]:
            raise UsageError("--duration goes with --follow")
    except UsageError as exc:
        return _usage_exit(exc, GENERATE_USAGE)
    if args["--follow"]:
        from .generate import append_live
        try:
            count = append_live(args["<path>"], rate, args["--profile"], seed, args["--format"], hosts, duration)
        except OSError as exc:
            print(f"lograd-generate: cannot write {args['<path>']}: {exc.strerror}", file=sys.stderr)
            return EXIT_PARTIAL
        print(f"lograd-generate: appended {count:,} lines to {args['<path>']}", file=sys.stderr)
        return EXIT_OK
    try:
        written = generate_test_logs(size / 1e6, args["<path>"], args["--profile"], seed, lines,
                                     rate, args["--start"], args["--format"], hosts)
    except OSError as exc:
        print(f"lograd-generate: cannot write {args['<path>']}: {exc.strerror}", file=sys.stderr)
        return EXIT_PARTIAL
    print(f"lograd-generate: wrote {written:,} bytes to {args['<path>']}", file=sys.stderr)
    return EXIT_OK


COMMANDS = {"coordinator": coordinator_main, "worker": worker_main, "generate": generate_main,
            "keys": keys_main}


def main(argv: list[str] | None = None) -> int:
    """``python -m lograd.cli COMMAND ARGS``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m lograd.cli {'|'.join(COMMANDS)} [ARGS...]", file=sys.stderr)
        return EXIT_USAGE
    return run_command(argv[0], argv[1:])


def run_command(name: str, argv: list[str] | None = None) -> int:
    """Command ``name``'s exit status; a reader of its output that went away (``| head``)
    ends it quietly, as it ends other commands, rather than with a traceback."""
    try:
        status = COMMANDS[name](argv)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
