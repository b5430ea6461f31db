"""`plinth-oracle` (or `python -m oracle`):

run --config oracle.toml               the oracle service (pipeline + API)
register-bls-key --config oracle.toml  register this operator's BLS key (derived from its
                                       keystore key) with its proof of possession at the hub
"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from oracle.service.chain import ChainError
from oracle.service.config import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oracle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the oracle service (pipeline + API)")
    run.add_argument("--config", required=True, help="path to oracle.toml")
    run.add_argument("--log-level", default="INFO")
    reg = sub.add_parser("register-bls-key", help="register this operator's BLS key at the hub")
    reg.add_argument("--config", required=True, help="path to oracle.toml")
    reg.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    from oracle.app import create_app, register_bls_key

    try:
        settings = load_settings(args.config)
        if args.command == "register-bls-key":
            print(register_bls_key(settings))
            return 0
        app = create_app(settings)
    except (ConfigError, ChainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    web.run_app(app, host=settings.api_host, port=settings.api_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
