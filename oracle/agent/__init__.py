"""The node agent providers run: serves the challenge endpoints of its kind over HTTP and signs
every answer with the node key (`python -m oracle.agent --config agent.toml`). Imports only
`oracle.protocol`; a wireless node gets its radio as a dependency (`create_app(radio=...)`)."""

from oracle.agent.app import Radio, create_app
from oracle.agent.behaviour import Behaviour, Honest
from oracle.agent.config import ConfigError, Settings, load_settings

__all__ = [
    "Behaviour",
    "ConfigError",
    "Honest",
    "Radio",
    "Settings",
    "create_app",
    "load_settings",
]
