"""`plinth-agent` (or `python -m oracle.agent`): runs a node agent.

plinth-agent --config agent.toml
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap

from oracle.agent.app import create_app
from oracle.agent.config import AgentSection, ConfigError, load_settings
from oracle.daemon import (
    ListenError,
    add_common_options,
    add_version,
    configure_logging,
    listen,
    serve,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="plinth-agent",
        description=__doc__.split("\n\n")[0],
        epilog="agent.toml (every key explained in config/agent.example.toml):\n"
        + textwrap.fill(
            "[agent] " + ", ".join(AgentSection.model_fields),
            90,
            initial_indent="  ",
            subsequent_indent="    ",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version(parser)
    parser.add_argument("--config", required=True, help="path to agent.toml")
    add_common_options(parser)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        settings = load_settings(args.config)
        sock = listen(settings.host, settings.port, "agent.host/agent.port in the config")
    except (ConfigError, ListenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("oracle.agent").info(
        "node %s (%s) on %s:%d, data in %s",
        settings.address,
        settings.kind.name.lower(),
        settings.host,
        settings.port,
        settings.data_dir,
    )
    serve(create_app(settings), sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
