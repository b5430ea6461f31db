"""What both daemons (`plinth-oracle`, `plinth-agent`) share on the command line: `--version`,
a checked `--log-level`, a listening socket bound before anything starts (a busy port is one
clear line, not a traceback), and the serving loop."""

from __future__ import annotations

import argparse
import errno
import logging
import socket
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ListenError(OSError):
    """The API's address cannot be listened on; the message says why and what to change."""


def package_version() -> str:
    try:
        return version("plinth")
    except PackageNotFoundError:  # run from a checkout without `pip install -e .`
        return "unknown"


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=LOG_LEVELS,
        help="log verbosity (default INFO)",
    )


def add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"{parser.prog} {package_version()}")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def listen(host: str, port: int, what: str) -> socket.socket:
    """A socket bound to (host, port) and listening, or ListenError naming the config key."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        message = f"cannot listen on {host}:{port}: unknown host ({exc.strerror})"
        raise ListenError(message) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = {
            errno.EADDRINUSE: "the port is in use (another process listens there)",
            errno.EACCES: "permission denied (ports below 1024 need privileges)",
            errno.EADDRNOTAVAIL: "this machine has no such address",
        }.get(exc.errno, exc.strerror)
        raise ListenError(f"cannot listen on {host}:{port}: {reason}: change {what}") from None
    return sock


def serve(app: web.Application, sock: socket.socket) -> None:
    """Serves `app` on the bound `sock` until interrupted."""
    web.run_app(app, sock=sock, print=None)
