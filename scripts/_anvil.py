"""Ape's receipts on an anvil that mines on a timer. `anvil --block-time 1` (the README's
persistent chain: its clock must move when idle) answers `anvil_getAutomine` false, and Ape then
takes every transaction as unmined: it returns a receipt without a block, and a deploy fails
with "did not create a contract" although the contract is there a second later. On a node that
mines on its own, waiting for the receipt is right, as on an automining one; only a node that
does not mine at all (`anvil --no-mining`) keeps Ape's manual-mining behaviour. Installed once by
scripts._deploy, which every script imports. Not a script (the leading underscore)."""

from __future__ import annotations

import time

from ape_foundry.provider import FoundryProvider

_APE_AUTO_MINE = FoundryProvider.auto_mine
_MINES_ITSELF: dict[str, bool] = {}  # node URI -> whether its blocks come on their own


def mines_on_its_own(provider, wait_s: float = 2.5) -> bool:
    """Whether the node's block number moves within `wait_s` without a transaction."""
    start = provider.web3.eth.block_number
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if provider.web3.eth.block_number > start:
            return True
    return False


def _auto_mine(self) -> bool:
    if _APE_AUTO_MINE.fget(self):
        return True
    uri = str(self.uri)
    if uri not in _MINES_ITSELF:
        _MINES_ITSELF[uri] = mines_on_its_own(self)
    return _MINES_ITSELF[uri]


def install() -> None:
    """Makes FoundryProvider wait for receipts on a node that mines on a timer (idempotent)."""
    if FoundryProvider.auto_mine.fget is not _auto_mine:
        FoundryProvider.auto_mine = property(_auto_mine, _APE_AUTO_MINE.fset)


def forget() -> None:
    """Forgets what was learnt of each node (a test that switches a node's mining mode)."""
    _MINES_ITSELF.clear()
