"""The node agent providers run: serves the challenge endpoints of its kind over HTTP and signs
every answer with the node key (`python -m oracle.agent --config agent.toml`)."""

from oracle.agent.app import create_app
from oracle.agent.behaviour import (
    Behaviour,
    Honest,
    LazyStorage,
    Offline,
    SkipWork,
    SlowGpu,
)
from oracle.agent.config import ConfigError, Settings, load_settings

__all__ = [
    "Behaviour",
    "ConfigError",
    "Honest",
    "LazyStorage",
    "Offline",
    "Settings",
    "SkipWork",
    "SlowGpu",
    "create_app",
    "load_settings",
]
