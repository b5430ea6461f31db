"""`plinth-oracle` (or `python -m oracle`): an oracle operator's service.

plinth-oracle run --config oracle.toml               the oracle (pipeline + API)
plinth-oracle register-bls-key --config oracle.toml  register this operator's BLS key
                                                     (derived from its keystore key) with
                                                     its proof of possession at the hub
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap

from oracle.daemon import (
    ListenError,
    add_common_options,
    add_version,
    configure_logging,
    listen,
    serve,
)
from oracle.service.chain import ChainError
from oracle.service.config import ConfigError, OracleConfig, load_settings

log = logging.getLogger("plinth.oracle")


def config_keys() -> str:
    """The config's tables and keys (oracle.service.config.OracleConfig), for --help."""
    lines = ["oracle.toml (every key explained in config/oracle.example.toml):"]
    for name, field in OracleConfig.model_fields.items():
        keys = ", ".join(field.annotation.model_fields)
        lines.append(
            textwrap.fill(f"[{name}] {keys}", 90, initial_indent="  ", subsequent_indent="    ")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="plinth-oracle",
        description=__doc__.split("\n\n")[0],
        epilog=config_keys(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("run", "run the oracle service (pipeline + API)"),
        ("register-bls-key", "register this operator's BLS key at the hub"),
    ):
        cmd = sub.add_parser(
            name,
            help=text,
            description=text,
            epilog=config_keys(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        cmd.add_argument("--config", required=True, help="path to oracle.toml")
        add_common_options(cmd)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    from oracle.app import create_app, register_bls_key

    try:
        settings = load_settings(args.config)
        if args.command == "register-bls-key":
            print(register_bls_key(settings))
            return 0
        sock = listen(settings.api_host, settings.api_port, "[api] host/port in the config")
        try:
            app = create_app(settings)
        except BaseException:
            sock.close()
            raise
    except (ConfigError, ChainError, ListenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("API on http://%s:%d", settings.api_host, settings.api_port)
    serve(app, sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
