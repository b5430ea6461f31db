"""`python -m oracle.agent --config agent.toml`: runs a node agent."""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from oracle.agent.app import create_app
from oracle.agent.config import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oracle.agent", description=__doc__)
    parser.add_argument("--config", required=True, help="path to agent.toml")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("oracle.agent").info(
        "node %s (%s) on %s:%d, data in %s",
        settings.address,
        settings.kind.name.lower(),
        settings.host,
        settings.port,
        settings.data_dir,
    )
    web.run_app(create_app(settings), host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
