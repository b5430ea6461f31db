"""The submit stage: the only code that sends a report to the chain.

For an epoch the hub has not settled, `Submitter.submit`:

1. signs the transaction (the next pending nonce, the network's gas price) and records its
   hash, nonce and gas price in the store *before* broadcasting it, so a crash after the
   broadcast still knows what is in flight;
2. broadcasts it and waits up to `receipt_timeout_s` for the receipt;
3. on a later pass, a transaction still pending (no receipt) is replaced: the same nonce, a
   gas price at least `bump_pct` % of the stuck one's (and above the network's current one),
   recorded before it is sent; whichever of the two is mined settles the epoch.

After an outage longer than the hub's MAX_EPOCH_GAP epochs (no report reached the hub), the
latest ended epoch cannot be reported until the hub's nextEpoch moves on: `skip_gap` calls
OracleHub.skipEpochs (anyone may; each call moves at most MAX_EPOCH_GAP epochs and mints
nothing for them) until it can, and logs what was skipped.

A report the hub already has is never sent again (another member's won the race, or the
transaction was mined while this oracle was down): the epoch is marked confirmed and, when this
oracle did not send it, the submission record takes the hash from the hub's ReportAccepted log.
`/epochs/{n}` serves the record (hash, nonce, status, attempts).

The epoch goes reported -> submitted -> confirmed (or back to reported if the transaction
reverted, so it can be sent again); a committee's report is stored only once the hub settled
it, so a committee leader's record exists before its report does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

from oracle.protocol.eip712 import pack_signatures, sign_report
from oracle.service.chain import Chain, ChainError, SignedTx
from oracle.service.report import EpochBuild
from oracle.service.store import Store

log = logging.getLogger("plinth.submit")


@dataclass(frozen=True)
class SubmitSettings:
    receipt_timeout_s: float = 60.0
    bump_pct: int = 125  # a replacement pays at least this share of the stuck gas price


class Submitter:
    def __init__(
        self,
        chain: Chain,
        store: Store,
        key,
        metrics: MutableMapping[str, float],
        settings: SubmitSettings = SubmitSettings(),
        cosigners: tuple = (),
    ):
        self.chain, self.store, self.key, self.metrics = chain, store, key, metrics
        self.settings, self.cosigners = settings, cosigners

    def submit(self, epoch: int, build: EpochBuild, post=None) -> bytes | None:
        """Sends (or replaces) the report's transaction unless the hub already settled
        `epoch`; returns the hash of the transaction that settled it, or None when there was
        nothing to send. `post` (oracle.committee.member.Post) carries the committee's ECDSA
        signatures or BLS aggregate; without it this operator signs with its own key and its
        local `cosigners`. Raises ChainError when the transaction failed or is still pending
        after the timeout (the next pass replaces it)."""
        if self._settled(epoch):
            return None
        previous = self.store.submission_for(epoch)
        nonce = price = None
        if previous is not None and previous["status"] == "sent" and previous["tx_hash"]:
            receipt = self.chain.receipt_now(bytes.fromhex(previous["tx_hash"][2:]))
            if receipt is not None:
                return self._mined(epoch, receipt)
            stuck = int(previous["gas_price"] or 0)
            nonce = previous["nonce"]
            price = max(
                -(-stuck * self.settings.bump_pct // 100), stuck + 1, self.chain.gas_price()
            )
            self.metrics["submit_replacements"] += 1
            log.info("epoch %d: replacing stuck %s (nonce %d)", epoch, previous["tx_hash"], nonce)
        fn, what = self._call(build, post)
        try:
            tx = self.chain.prepare(self.key, fn, what, nonce, price)
        except ChainError as exc:
            if self._settled(epoch):  # another member's report won the race
                log.info("epoch %d: settled by another member (%s)", epoch, exc)
                return None
            self._failed(epoch, "failed", str(exc))
            raise
        self._record(epoch, tx)
        try:
            self.chain.broadcast(tx)
            receipt = self.chain.receipt(tx.hash, self.settings.receipt_timeout_s)
        except ChainError:
            self.metrics["submit_errors"] += 1
            if self._settled(epoch):
                return None
            raise  # still "sent": the next pass looks for its receipt or replaces it
        return self._mined(epoch, receipt)

    def skip_gap(self, current: int, next_epoch: int, max_calls: int = 16) -> int:
        """The hub's nextEpoch once the latest ended epoch (`current` - 1) is reportable:
        `next_epoch` itself when it already is, else after OracleHub.skipEpochs calls (at most
        `max_calls` in this pass; the next pass goes on). Another oracle skipping first is no
        error (NothingToSkip: the hub's epoch is read again)."""
        gap = self.chain.max_epoch_gap()
        for _ in range(max_calls):
            if current - 1 - next_epoch <= gap:
                break
            log.warning(
                "the hub has settled nothing since epoch %d (%d epochs, more than its gap of "
                "%d): skipping epochs with OracleHub.skipEpochs; nothing is minted for them",
                next_epoch, current - next_epoch, gap,
            )  # fmt: skip
            try:
                new_next = self.chain.skip_epochs(self.key, self.settings.receipt_timeout_s)
            except ChainError as exc:
                if "NothingToSkip" not in str(exc):
                    raise
                new_next = self.chain.next_report_epoch()
            self.metrics["epochs_skipped"] += max(0, new_next - next_epoch)
            log.warning("epochs %d..%d skipped", next_epoch, new_next - 1)
            next_epoch = new_next
        return next_epoch

    def mark_confirmed(self, epoch: int) -> None:
        """The hub settled `epoch`: the submission record and the epoch say so."""
        sub = self.store.submission_for(epoch)
        if (sub is None or not sub["tx_hash"]) and self.store.epoch(epoch) is not None:
            accepted = self.chain.accepted_report(epoch)  # another member's transaction
            if accepted is not None:
                self.store.record_submission(epoch, "0x" + accepted[1].hex(), None, None)
        if self.store.submission_for(epoch) is not None:
            self.store.set_submission_status(epoch, "confirmed")
        row = self.store.epoch(epoch)
        state = row["state"] if row is not None else None
        if state == "reported":
            self.store.advance_epoch(epoch, "reported", "submitted")
            state = "submitted"
        if state == "submitted":
            self.store.advance_epoch(epoch, "submitted", "confirmed")

    # ------------------------------------------------------------------ internals
    def _settled(self, epoch: int) -> bool:
        if self.chain.report_digest(epoch) is None:
            return False
        self.mark_confirmed(epoch)
        return True

    def _call(self, build: EpochBuild, post) -> tuple[Callable, str]:
        if post is not None and post.scheme == "bls":
            fn = self.chain.report_call_bls(build.report, post.bitmap, post.sigma, post.apk2)
            return fn, "submitReportBlsWithHint"
        if post is not None:
            sigs = post.signatures
        else:
            hub = self.chain.deployment.addresses["OracleHub"]
            sigs = pack_signatures(
                sign_report(k.key, build.report, self.chain.chain_id, hub)
                for k in (self.key, *self.cosigners)
            )
        return self.chain.report_call(build.report, sigs), "submitReport"

    def _record(self, epoch: int, tx: SignedTx) -> None:
        self.store.record_submission(epoch, "0x" + tx.hash.hex(), tx.nonce, tx.gas_price)
        row = self.store.epoch(epoch)
        if row is not None and row["state"] == "reported":
            self.store.advance_epoch(epoch, "reported", "submitted")

    def _mined(self, epoch: int, receipt) -> bytes | None:
        tx = bytes(receipt["transactionHash"])
        if receipt["status"] != 1:
            if self._settled(epoch):  # the replacement or another member's report settled it
                return None
            self._failed(epoch, "reverted")
            return tx
        self.mark_confirmed(epoch)
        self.metrics["reports_submitted"] += 1
        log.info("epoch %d: report 0x%s, gas %d", epoch, tx.hex(), receipt["gasUsed"])
        return tx

    def _failed(self, epoch: int, status: str, error: str | None = None) -> None:
        if self.store.submission_for(epoch) is not None:
            self.store.set_submission_status(epoch, status, error)
        row = self.store.epoch(epoch)
        if row is not None and row["state"] == "submitted":
            self.store.advance_epoch(epoch, "submitted", "reported")
