"""The node agent providers run: serves the challenge endpoints of its kind over HTTP and signs
every answer with the node key (`python -m oracle.agent --config agent.toml`). Imports only
`oracle.protocol`; a wireless node gets its radio as a dependency (`create_app(radio=...)`), a
storage node the source of its leases' terms (`create_app(leases=...)`, default the chain)."""

from oracle.agent.app import Radio, create_app
from oracle.agent.behaviour import Behaviour, Honest
from oracle.agent.config import ConfigError, Settings, load_settings
from oracle.agent.leases import ChainLeases, LeaseTerms, TableLeases

__all__ = [
    "Behaviour",
    "ChainLeases",
    "ConfigError",
    "Honest",
    "LeaseTerms",
    "Radio",
    "Settings",
    "TableLeases",
    "create_app",
    "load_settings",
]
