"""The recheck, with a fake chain and a node that never answers (no HTTP, no anvil): Offline
takes silence at two moments of the epoch, and the second moment is owed even across a restart
and lands before the epoch ends on the chain's clock. (Found by an attacker's review of the
first version, which dropped the recheck on a restart and could recheck after the epoch.)"""

import asyncio
import os
import types
from dataclasses import replace

from eth_account import Account

from oracle.protocol.envelope import challenge_id
from oracle.protocol.hardware import NodeKind
from oracle.service import pipeline
from oracle.service.challenge import Limits, Outcome
from oracle.service.pipeline import OracleService, PipelineSettings
from oracle.service.store import Store

CHAIN, NODE = 31337, Account.create().address


class FakeChain:
    """Epoch e is [start + e * length, start + (e + 1) * length) on a clock the test moves."""

    chain_id = CHAIN
    deployment = types.SimpleNamespace(addresses={"OracleHub": "0x" + "11" * 20})

    def __init__(self, clock: list[float], start=0.0, length=60.0):
        self.clock, self.start, self.length = clock, start, length
        self.node = types.SimpleNamespace(
            node=NODE, eligible=True, kind=NodeKind.COMPUTE, endpoint="http://unused",
            hardware=types.SimpleNamespace(hw_class=0, gpu_count=1),
        )  # fmt: skip

    def epoch_seed(self, epoch):
        return b"\x07" * 32

    def nodes(self):
        return [self.node]

    def leases(self):
        return []

    def epoch_start(self, epoch):
        return self.start + self.length * epoch

    def timestamp(self):
        return self.clock[0]


def never_answers(clock: list[float], calls: list[float], seconds: float):
    """challenge_compute for a node that takes connections and never answers: each challenge
    (its tries included) costs `seconds` of the clock and ends in a timeout."""

    async def fake(session, endpoint, *, chain_id, node, epoch, epoch_seed, hw_class, gpu_count,
                   limits, params, member=""):  # fmt: skip
        calls.append(clock[0])
        clock[0] += seconds
        cid = challenge_id(chain_id, node, epoch, "compute", os.urandom(32))
        return Outcome(node, "compute", cid, False, "timeout", deadline_s=1.0)

    return fake


def test_a_restart_while_the_recheck_waits_still_rechecks(tmp_path, monkeypatch):
    clock, calls = [1.0], []
    monkeypatch.setattr(pipeline, "challenge_compute", never_answers(clock, calls, 1.0))
    settings = PipelineSettings(limits=Limits(attempts=1), recheck_after_s=3600.0)
    key = Account.create()

    async def first_life():
        service = OracleService(FakeChain(clock), Store(tmp_path / "o.sqlite"), key, settings)
        await service.challenge_current(5, None)  # the first sweep is done, the recheck waits
        assert service.store.epoch(5)["state"] == "scheduled"
        await service.close()  # the process dies
        service.store.close()

    async def second_life():
        service = OracleService(FakeChain(clock), Store(tmp_path / "o.sqlite"), key,
                                replace(settings, recheck_after_s=0.01))  # fmt: skip
        await service.challenge_epoch(5, None)
        return service.store.epoch(5)["state"], service.store.verdicts_of(5)

    asyncio.run(first_life())
    state, verdicts = asyncio.run(second_life())
    assert state == "challenged"
    assert len(calls) == 2 and len(verdicts) == 2  # two moments, across the restart


def test_the_recheck_ends_before_the_epoch_does(tmp_path, monkeypatch):
    """A third of a 60 s epoch after a first sweep that took 45 s would be after the epoch's
    end: the recheck comes early enough for its tries to end in the epoch."""
    clock, calls = [0.0], []
    monkeypatch.setattr(pipeline, "challenge_compute", never_answers(clock, calls, 45.0))
    real_sleep = asyncio.sleep

    async def sleep(seconds, *args, **kwargs):
        clock[0] += seconds
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    chain = FakeChain(clock, start=0.0, length=60.0)
    service = OracleService(chain, Store(tmp_path / "o.sqlite"), Account.create(),
                            PipelineSettings(limits=Limits(attempts=1, timeout_s=5.0)))  # fmt: skip
    asyncio.run(service.challenge_epoch(0, None))
    assert len(calls) == 2
    # rechecked at once, with the 5 s its one try may take still inside the epoch
    assert calls[1] <= chain.epoch_start(1) - 5.0, calls
