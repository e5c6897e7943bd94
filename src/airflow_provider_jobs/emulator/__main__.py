"""Command line: ``python -m airflow_provider_jobs.emulator`` / ``airflow-jobs-emulator``.

Serves both emulated APIs on one port until interrupted, after printing the base URL and a
ready-to-paste ``export AIRFLOW_CONN_...`` line for each connection.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from airflow_provider_jobs._version import __version__
from airflow_provider_jobs.emulator.refs import DEFAULT_APIFY_TOKEN, DEFAULT_TEMPLATES_TOKEN, connection_env


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the CLI."""
    parser = argparse.ArgumentParser(
        prog="airflow-jobs-emulator",
        description="Local in-memory emulator of the Apify API v2 and the Nullspace templates API v1.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8089, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="real seconds per emulated second; 0.1 runs timelines ten times faster (default: %(default)s)",
    )
    parser.add_argument(
        "--seed-demo",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="seed the demo actors (demo~hello, demo~slow, demo~fails, demo~times-out) and templates "
        "(demo-ready, demo-error, demo-slow) (default: on)",
    )
    parser.add_argument(
        "--apify-token",
        action="append",
        dest="apify_tokens",
        metavar="TOKEN",
        help=f"valid Apify token; repeat for more users (default: {DEFAULT_APIFY_TOKEN})",
    )
    parser.add_argument(
        "--templates-token",
        action="append",
        dest="template_tokens",
        metavar="TOKEN",
        help=f"valid templates API key; repeat for more callers (default: {DEFAULT_TEMPLATES_TOKEN})",
    )
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def banner(base_url: str, apify_token: str, templates_token: str) -> list[str]:
    """Return the lines printed at start-up: base URL and the connection exports."""
    lines = [f"airflow-jobs-emulator {__version__} serving the Apify and templates APIs on {base_url}"]
    lines += [
        f"export {name}={shlex.quote(value)}"
        for name, value in connection_env(base_url, apify_token, templates_token).items()
    ]
    lines.append(f"control API: {base_url}/_emulator/state   (Ctrl+C to stop)")
    return lines


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground; return the exit code."""
    args = build_parser().parse_args(argv)
    if args.time_scale <= 0:
        print("--time-scale must be positive", file=sys.stderr)
        return 2
    import uvicorn

    from airflow_provider_jobs.emulator.emulator import Emulator
    from airflow_provider_jobs.emulator.server import base_url_for, bind_socket, make_config

    emulator = Emulator(
        time_scale=args.time_scale,
        apify_tokens=args.apify_tokens or [DEFAULT_APIFY_TOKEN],
        template_tokens=args.template_tokens or [DEFAULT_TEMPLATES_TOKEN],
        seed_demo=args.seed_demo,
    )
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    base_url = base_url_for(args.host, sock.getsockname()[1])
    emulator.base_url = base_url
    for line in banner(base_url, emulator.apify_token, emulator.templates_token):
        print(line)
    sys.stdout.flush()
    server = uvicorn.Server(
        make_config(emulator, log_level=args.log_level, access_log=args.log_level in {"info", "debug"})
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: exit quietly with 0.
    signal.signal(signal.SIGTERM, _exit_quietly)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
