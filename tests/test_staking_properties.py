"""Staking invariants, property-tested: a Hypothesis state machine drives the real StakingVault,
NodeRegistry, OracleHub and SlashingManager on anvil (stakes, unbonds, withdrawals, exits,
slashes from signed reports and their execution, time travel) for three nodes of two owners,
and a ghost model in Python predicts every outcome, reverts included. After every step:

- invariant_vault_balance_equals_sum_of_stakes: the vault holds exactly the bonded plus
  unbonding stake of its nodes, and its totals agree;
- invariant_ghost_matches_contracts: stake, queue (order included), status and faults of every
  node are what the model says;
- invariant_tokens_conserved: vault + owners + slashed (burned + treasury) == initial funding.

Small runs locally; set CI=1 for more examples and longer sequences."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ape import chain
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from plinth_testlib import (
    COMPUTE,
    STORAGE,
    WIRELESS,
    make_report,
    register,
    reverts,
    settle,
    submit,
)

from oracle.protocol.eip712 import SlashRequest
from scripts._deploy import TOKEN

CI = bool(os.environ.get("CI"))
SETTINGS = settings(
    max_examples=40 if CI else 15,
    stateful_step_count=30 if CI else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# NodeStatus
NONE, REGISTERED, ACTIVE, JAILED, EXITING, EXITED = range(6)
# SlashReason (StorageAuditFailed needs a lease and is covered by test_slashing_manager.py)
INVALID_COMPUTE, MISSED_DEADLINE, LOCATION_SPOOFED, OFFLINE = 1, 2, 4, 5
BPS = 10_000
FUNDING = (60_000 * TOKEN, 30_000 * TOKEN)  # provider, provider2


def web3_functions(contract):
    """The web3 `functions` of an ape contract instance (same address and ABI)."""
    abi = contract.contract_type.model_dump(mode="json", by_alias=True)["abi"]
    return chain.provider.web3.eth.contract(address=contract.address, abi=abi).functions


@dataclass
class Ghost:
    """The model of one node: what the contracts must hold."""

    address: str
    owner: object
    minimum: int
    status: int
    bonded: int = 0
    queue: list[list[int]] = field(default_factory=list)  # [amount, releaseAt], request order
    faults: int = 0
    jailed_until: int = 0

    @property
    def unbonding(self) -> int:
        return sum(amount for amount, _ in self.queue)

    @property
    def slashable(self) -> int:
        return self.bonded + self.unbonding


@dataclass
class Setup:
    """State built once, before the machine's snapshot: every example starts from it."""

    nodes: list[Ghost]
    owners: list
    balances: dict[str, int]
    treasury_start: int
    supply_start: int
    delay: int
    max_entries: int
    window: int
    burn_bps: int
    penalties: dict[int, int]
    faults_to_jail: int
    jail_duration: int
    w3: dict

    @classmethod
    def read(cls, suite, treasury, nodes: list[Ghost], owners: list) -> Setup:
        token, vault, slashing = suite.token, suite.vault, suite.slashing
        return cls(
            nodes=nodes,
            owners=owners,
            balances={o.address: token.balanceOf(o) for o in owners},
            treasury_start=token.balanceOf(treasury),
            supply_start=token.totalSupply(),
            delay=vault.unbondingDelay(),
            max_entries=vault.MAX_UNBONDING_ENTRIES(),
            window=slashing.disputeWindow(),
            burn_bps=slashing.burnShareBps(),
            penalties={reason: slashing.penaltyBps(reason) for reason in range(1, 6)},
            faults_to_jail=suite.registry.jailPolicy()[0],
            jail_duration=suite.registry.jailPolicy()[1],
            w3={
                name: web3_functions(getattr(suite, name))
                for name in ("token", "vault", "registry", "slashing")
            },
        )


class StakingMachine(RuleBasedStateMachine):
    def __init__(self, suite, oracles, outsider, treasury, setup: Setup):
        super().__init__()
        self.suite, self.oracles, self.outsider, self.treasury = suite, oracles, outsider, treasury
        self.setup = setup
        self.snapshot = chain.snapshot()
        self.nodes = [
            Ghost(g.address, g.owner, g.minimum, g.status, g.bonded, [list(e) for e in g.queue])
            for g in setup.nodes
        ]
        self.balances = dict(setup.balances)
        self.pending: dict[int, tuple[int, int, int]] = {}  # slash id -> (node, amount, at)
        self.burned = 0
        self.to_treasury = 0
        self.delay, self.max_entries, self.window = setup.delay, setup.max_entries, setup.window
        self.burn_bps, self.penalties = setup.burn_bps, setup.penalties
        self.faults_to_jail, self.jail_duration = setup.faults_to_jail, setup.jail_duration
        self.w3 = setup.w3
        self._view: dict | None = None

    def teardown(self):
        chain.restore(self.snapshot)

    # ------------------------------------------------------------ helpers
    def _at(self, seconds: int = 1, not_before: int = 0) -> int:
        """Makes the next transaction's block `seconds` after the head (or at `not_before`)."""
        t = max(chain.blocks.head.timestamp + seconds, not_before)
        chain.pending_timestamp = t
        return t

    def _mined_at(self, t: int) -> None:
        assert chain.blocks.head.timestamp == t, "the transaction was not mined at the set time"

    def _pending_for(self, i: int) -> bool:
        return any(node == i for node, _, _ in self.pending.values())

    # ------------------------------------------------------------ rules: stake
    @rule(i=st.integers(0, 2), amount=st.integers(0, 8_000 * TOKEN))
    def stake(self, i, amount):
        n, vault = self.nodes[i], self.suite.vault
        amount = min(amount, self.balances[n.owner.address])
        self._at()
        if amount == 0:
            with reverts(vault.ZeroAmount):
                vault.stake(n.address, amount, sender=n.owner)
        elif n.status in (EXITING, EXITED):
            with reverts(vault.CannotStake, node=n.address):
                vault.stake(n.address, amount, sender=n.owner)
        else:
            vault.stake(n.address, amount, sender=n.owner)
            n.bonded += amount
            self.balances[n.owner.address] -= amount

    @rule(i=st.integers(0, 2), pct=st.integers(0, 110), wait=st.sampled_from([1, 60, 150]))
    def request_unbond(self, i, pct, wait):
        """Unbonds pct% of the bonded stake (more than all of it above 100), `wait` seconds after
        the last block, so that entries mature at different times."""
        n, vault = self.nodes[i], self.suite.vault
        amount = n.bonded * min(pct, 100) // 100 + (pct > 100)
        t = self._at(wait)
        if amount == 0:
            with reverts(vault.ZeroAmount):
                vault.requestUnbond(n.address, amount, sender=n.owner)
        elif amount > n.bonded:
            with reverts(vault.InsufficientBonded, bonded=n.bonded, requested=amount):
                vault.requestUnbond(n.address, amount, sender=n.owner)
        elif n.status in (ACTIVE, JAILED) and n.bonded - amount < n.minimum:
            with reverts(vault.BelowMinimumStake, remaining=n.bonded - amount, minimum=n.minimum):
                vault.requestUnbond(n.address, amount, sender=n.owner)
        elif len(n.queue) >= self.max_entries:
            with reverts(vault.UnbondingQueueFull, node=n.address):
                vault.requestUnbond(n.address, amount, sender=n.owner)
        else:
            tx = vault.requestUnbond(n.address, amount, sender=n.owner)
            self._mined_at(t)
            [event] = tx.events.filter(vault.UnbondRequested)
            assert (event.amount, event.releaseAt) == (amount, t + self.delay)
            n.bonded -= amount
            n.queue.append([amount, t + self.delay])

    @rule(i=st.integers(0, 2), when=st.sampled_from(["now", "next-release", "last-release"]))
    def withdraw(self, i, when):
        """Withdraws now, or once the next (or the last) of the node's entries has matured."""
        n, vault = self.nodes[i], self.suite.vault
        head = chain.blocks.head.timestamp
        ahead = sorted(release_at for _, release_at in n.queue if release_at > head) or [0]
        t = self._at(
            not_before={"now": 0, "next-release": ahead[0], "last-release": ahead[-1]}[when]
        )
        hub = self.suite.hub
        settled_before, genesis, duration = hub.nextEpoch(), hub.genesis(), hub.epochDuration()

        def settled(release_at: int) -> bool:
            return (release_at - genesis) // duration < settled_before

        matured = sum(a for a, r in n.queue if r <= t and settled(r))
        waiting = any(r <= t and not settled(r) for _, r in n.queue)
        if self._pending_for(i):
            with reverts(vault.PendingSlash, node=n.address):
                vault.withdraw(n.address, sender=n.owner)
        elif matured == 0:
            error = vault.NotSettled if waiting else vault.NothingToWithdraw
            with reverts(error, node=n.address):
                vault.withdraw(n.address, sender=n.owner)
        else:
            tx = vault.withdraw(n.address, sender=n.owner)
            self._mined_at(t)
            [event] = tx.events.filter(vault.Withdrawn)
            assert (event.to, event.amount) == (n.owner.address, matured)
            n.queue = [e for e in n.queue if not (e[1] <= t and settled(e[1]))]
            self.balances[n.owner.address] += matured

    @rule()
    def settle_ended_epochs(self):
        """The committee settles every ended epoch with an empty report (withdrawals wait for
        the hub to settle the epoch an entry was released in)."""
        last = self.suite.hub.currentEpoch() - 1
        if last >= self.suite.hub.nextEpoch():
            settle(self.suite, self.oracles, last)

    # ------------------------------------------------------------ rules: registry
    @rule(
        i=st.integers(0, 2), action=st.sampled_from(["activate", "exit", "completeExit", "unjail"])
    )
    def registry_action(self, i, action):
        """The lifecycle calls that decide what the vault allows (minimum stake, exits)."""
        n, registry = self.nodes[i], self.suite.registry
        call = getattr(registry, action)
        t = self._at()
        expected, status = None, n.status
        if action == "activate":
            if status != REGISTERED:
                expected = (registry.WrongStatus, {"status": status})
            elif n.bonded < n.minimum:
                expected = (registry.InsufficientStake, {"bonded": n.bonded, "minimum": n.minimum})
            else:
                n.status = ACTIVE
        elif action == "exit":
            if status in (REGISTERED, ACTIVE, JAILED):
                n.status = EXITING
            else:
                expected = (registry.WrongStatus, {"status": status})
        elif action == "completeExit":
            if status != EXITING:
                expected = (registry.WrongStatus, {"status": status})
            elif n.slashable:
                expected = (registry.StakeRemaining, {"total": n.slashable})
            else:
                n.status = EXITED
        elif status != JAILED:
            expected = (registry.WrongStatus, {"status": status})
        elif t < n.jailed_until:
            expected = (registry.StillJailed, {"jailedUntil": n.jailed_until})
        elif n.bonded < n.minimum:
            expected = (registry.InsufficientStake, {"bonded": n.bonded, "minimum": n.minimum})
        else:
            n.status, n.faults = ACTIVE, 0

        if expected is None:
            call(n.address, sender=n.owner)
            self._mined_at(t)
        else:
            error, inputs = expected
            with reverts(error, node=n.address, **inputs):
                call(n.address, sender=n.owner)

    # ------------------------------------------------------------ rules: slashing
    @rule(
        slashes=st.lists(
            st.tuples(
                st.integers(0, 2),
                # Weighted towards the heavy penalties, which reach into the unbonding queue.
                st.sampled_from(
                    [INVALID_COMPUTE] * 3 + [LOCATION_SPOOFED] * 2 + [MISSED_DEADLINE, OFFLINE]
                ),
            ),
            min_size=1,
            max_size=2,
        )
    )
    def report_slashes(self, slashes):
        """The committee settles the next epoch with slashes against the chosen nodes."""
        hub, slashing = self.suite.hub, self.suite.slashing
        epoch = hub.nextEpoch()
        t = self._at(not_before=hub.epochStart(epoch + 1))
        report, _ = make_report(
            self.suite,
            epoch,
            slashes=tuple(SlashRequest(self.nodes[i].address, r) for i, r in slashes),
        )
        first = slashing.slashCount() + 1
        tx = submit(self.suite, report, self.oracles[:3], sender=self.oracles[0])
        self._mined_at(t)
        events = tx.events.filter(slashing.SlashQueued)
        assert len(events) == len(slashes)
        reserved = {i: sum(a for j, a, _ in self.pending.values() if j == i) for i in range(3)}
        for k, ((i, reason), event) in enumerate(zip(slashes, events, strict=True)):
            # sized on the stake the node's pending slashes leave (L-1)
            base = max(self.nodes[i].slashable - reserved[i], 0)
            amount = base * self.penalties[reason] // BPS
            reserved[i] += amount
            assert (event.slashId, event.node, event.amount, event.executableAt) == (
                first + k,
                self.nodes[i].address,
                amount,
                t + self.window,
            )
            self.pending[first + k] = (i, amount, t + self.window)

    @precondition(lambda self: self.pending)
    @rule(pick=st.integers(0, 2**16))
    def execute_slash(self, pick):
        """Executes one pending slash, at the end of its window if that is still ahead."""
        self._execute(sorted(self.pending)[pick % len(self.pending)])

    def _execute(self, slash_id: int) -> None:
        i, amount, executable_at = self.pending.pop(slash_id)
        n, vault = self.nodes[i], self.suite.vault
        t = self._at(not_before=executable_at)
        tx = self.suite.slashing.executeSlash(slash_id, sender=self.outsider)
        self._mined_at(t)

        # The model: bonded first, then the newest unbonding entries.
        from_bonded = min(amount, n.bonded)
        n.bonded -= from_bonded
        rest = amount - from_bonded
        while rest and n.queue:
            take = min(rest, n.queue[-1][0])
            rest -= take
            n.queue[-1][0] -= take
            if n.queue[-1][0] == 0:
                n.queue.pop()
        from_unbonding = amount - from_bonded - rest
        slashed = from_bonded + from_unbonding
        burned = slashed * self.burn_bps // BPS
        self.burned += burned
        self.to_treasury += slashed - burned
        n.faults = min(n.faults + 1, 255)
        if n.status == ACTIVE and n.faults >= self.faults_to_jail:
            n.status, n.jailed_until = JAILED, t + self.jail_duration

        [event] = tx.events.filter(vault.Slashed)
        assert (event.node, event.requested, event.fromBonded, event.fromUnbonding) == (
            n.address,
            amount,
            from_bonded,
            from_unbonding,
        )

    # ------------------------------------------------------------ rules: time
    @rule(
        seconds=st.sampled_from([1, 59, 60, 121, 299, 300, 301, 600, 3_600]), keeper=st.booleans()
    )
    def advance_time(self, seconds, keeper):
        """Time passes; with `keeper`, every slash whose window is over gets executed."""
        self._at(seconds)
        chain.mine()
        if keeper:
            now = chain.blocks.head.timestamp
            for slash_id in sorted(self.pending):
                if self.pending[slash_id][2] <= now:
                    self._execute(slash_id)

    # ------------------------------------------------------------ invariants
    def _chain(self) -> dict:
        """Everything the invariants compare, read once per block (the three invariants share
        it) in one JSON-RPC batch of plain web3 calls: ape's calls cost several round trips."""
        web3 = chain.provider.web3
        head = web3.eth.block_number
        if self._view is not None and self._view["block"] == head:
            return self._view
        token, vault, registry, slashing = (
            self.w3[k] for k in ("token", "vault", "registry", "slashing")
        )
        owners = [o.address for o in self.setup.owners]
        pending = sorted(self.pending)
        with web3.batch_requests() as batch:
            for n in self.nodes:
                batch.add(vault.bondedOf(n.address))
                batch.add(vault.unbondingOf(n.address))
                batch.add(vault.slashableOf(n.address))
                batch.add(vault.unbondingEntries(n.address))
                batch.add(registry.getNode(n.address))
                batch.add(slashing.pendingSlashCount(n.address))
            for address in (
                self.suite.vault.address,
                self.treasury.address,
                self.suite.slashing.address,
                *owners,
            ):
                batch.add(token.balanceOf(address))
            batch.add(vault.totalBonded())
            batch.add(vault.totalUnbonding())
            batch.add(token.totalSupply())
            for slash_id in pending:
                batch.add(slashing.getSlash(slash_id))
            results = iter(batch.execute())
        nodes = []
        for _ in self.nodes:
            bonded, unbonding, slashable, queue, node, count = (next(results) for _ in range(6))
            nodes.append(
                {
                    "bonded": bonded,
                    "unbonding": unbonding,
                    "slashable": slashable,
                    "queue": [list(e) for e in queue],
                    "status": node[2],
                    "faults": node[4],
                    "jailed_until": node[6],
                    "pending": count,
                }
            )
        vault_balance, treasury, slasher_balance = next(results), next(results), next(results)
        self._view = {
            "block": head,
            "nodes": nodes,
            "vault_balance": vault_balance,
            "treasury": treasury,
            "slasher_balance": slasher_balance,
            "owners": {address: next(results) for address in owners},
            "total_bonded": next(results),
            "total_unbonding": next(results),
            "supply": next(results),
            "slash_status": {slash_id: next(results)[2] for slash_id in pending},
        }
        assert next(results, None) is None
        return self._view

    @invariant()
    def invariant_vault_balance_equals_sum_of_stakes(self):
        c = self._chain()
        per_node = sum(n["bonded"] + n["unbonding"] for n in c["nodes"])
        assert c["vault_balance"] == per_node == c["total_bonded"] + c["total_unbonding"]
        for n in c["nodes"]:
            assert (
                n["slashable"]
                == n["bonded"] + n["unbonding"]
                == n["bonded"] + sum(amount for amount, _ in n["queue"])
            )

    @invariant()
    def invariant_ghost_matches_contracts(self):
        c = self._chain()
        for i, (ghost, n) in enumerate(zip(self.nodes, c["nodes"], strict=True)):
            assert (n["bonded"], n["unbonding"]) == (ghost.bonded, ghost.unbonding), i
            assert n["queue"] == ghost.queue, i  # amounts, release times and order
            assert (n["status"], n["faults"]) == (ghost.status, ghost.faults), i
            if ghost.status == JAILED:
                assert n["jailed_until"] == ghost.jailed_until, i
            assert n["pending"] == sum(1 for node, _, _ in self.pending.values() if node == i)
        assert c["total_bonded"] == sum(g.bonded for g in self.nodes)
        assert c["total_unbonding"] == sum(g.unbonding for g in self.nodes)
        assert all(status == 1 for status in c["slash_status"].values())  # still Pending

    @invariant()
    def invariant_tokens_conserved(self):
        c = self._chain()
        assert c["owners"] == self.balances
        burned = self.setup.supply_start - c["supply"]
        to_treasury = c["treasury"] - self.setup.treasury_start
        assert (burned, to_treasury) == (self.burned, self.to_treasury)
        assert c["slasher_balance"] == 0
        total = c["vault_balance"] + sum(c["owners"].values()) + burned + to_treasury
        assert total == sum(FUNDING)


def test_staking_invariants_hold_when_random_operations_run(
    suite, deployer, provider, provider2, treasury, oracles, outsider
):
    token, vault, registry = suite.token, suite.vault, suite.registry
    assert token.balanceOf(vault.address) == vault.totalBonded() == vault.totalUnbonding() == 0
    assert token.balanceOf(provider) == token.balanceOf(provider2) == 0
    # Nothing minted by reports (no rewards), so the supply only falls by burns.
    owners = [provider, provider2]
    for owner, amount in zip(owners, FUNDING, strict=True):
        token.transfer(owner, amount, sender=deployer)
        token.approve(vault.address, 2**256 - 1, sender=owner)
    # The heaviest penalties the code allows (25 %) so that slashes reach into the unbonding queue.
    suite.slashing.setPenalty(INVALID_COMPUTE, 2_500, sender=deployer)
    suite.slashing.setPenalty(LOCATION_SPOOFED, 2_500, sender=deployer)

    # Three nodes: active compute (provider); registered storage (provider2) with most of its
    # stake already unbonding in three entries 100 s apart, so they mature one by one; active
    # wireless (provider).
    nodes = []
    for owner, kind, status, amount, unbonds in (
        (provider, COMPUTE, ACTIVE, 12_000 * TOKEN, ()),
        (provider2, STORAGE, REGISTERED, 6_000 * TOKEN, (2_000, 1_500, 1_500)),
        (provider, WIRELESS, ACTIVE, 1_500 * TOKEN, ()),
    ):
        key = register(suite, owner, kind)
        ghost = Ghost(key.address, owner, registry.minStake(kind), status, bonded=amount)
        vault.stake(key.address, amount, sender=owner)
        if status == ACTIVE:
            registry.activate(key.address, sender=owner)
        for tokens in unbonds:
            chain.pending_timestamp = chain.blocks.head.timestamp + 100
            tx = vault.requestUnbond(key.address, tokens * TOKEN, sender=owner)
            ghost.bonded -= tokens * TOKEN
            ghost.queue.append(
                [tokens * TOKEN, tx.events.filter(vault.UnbondRequested)[0].releaseAt]
            )
        nodes.append(ghost)
    setup = Setup.read(suite, treasury, nodes, owners)

    run_state_machine_as_test(
        lambda: StakingMachine(suite, oracles, outsider, treasury, setup), settings=SETTINGS
    )
