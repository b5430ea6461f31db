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
from oracle.agent.radio import HttpRadio, RadioError
from oracle.daemon import (
    ListenError,
    add_common_options,
    add_version,
    configure_logging,
    listen,
    serve,
)
from oracle.protocol.hardware import NodeKind


def attach_radio(settings) -> HttpRadio | None:
    """A wireless agent's radio, its true position placed in the medium; None for the other
    kinds. RadioError (the agent does not start) when no medium answers."""
    if settings.kind != NodeKind.WIRELESS:
        return None
    radio = HttpRadio(settings.radio_url)
    try:
        radio.attach(
            settings.address, settings.lat, settings.lon, settings.tx_power_dbm,
            settings.antenna_gain_dbi,
        )  # fmt: skip
    except RadioError as exc:
        raise RadioError(
            f"{exc} (agent.radio_url): a wireless agent needs its radio; start one with "
            "`make radio` (plinth-radio)"
        ) from None
    return radio


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
        radio = attach_radio(settings)
        sock = listen(settings.host, settings.port, "agent.host/agent.port in the config")
    except (ConfigError, ListenError, RadioError) as exc:
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
    serve(create_app(settings, radio=radio), sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
