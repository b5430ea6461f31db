"""`/metrics`: the oracle's counters and health gauges in the Prometheus (or, when the scraper
asks for it, OpenMetrics) exposition format, through prometheus_client. The pipeline counts
into a plain dict (`OracleService.metrics`); this collector names, documents and types what
it holds at scrape time. docs/ops/ has a Grafana dashboard and alert rules over these names."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from oracle.service.health import Health

PREFIX = "plinth_oracle"
# Counters of OracleService.metrics (exported as <PREFIX>_<name>_total).
COUNTERS = {
    "loop_errors": "Pipeline passes and epoch challenges that failed.",
    "reports_submitted": "Epoch reports this oracle sent to the hub.",
    "submit_errors": "Report transactions that failed to send or reverted.",
    "submit_replacements": "Report transactions replaced at a higher gas price.",
    "epochs_skipped": "Epochs passed over with OracleHub.skipEpochs after a long outage.",
    "rechecked_nodes": "Nodes challenged a second time in an epoch after a first silence.",
    "coverage_round_errors": "Proof-of-coverage rounds that failed.",
    "proposals_signed": "Committee proposals this member signed.",
    "proposals_signed_again": "Proposals of a report this member had already reviewed, signed.",
    "proposals_refused": "Committee proposals this member refused to sign.",
    "proposals_malformed": "Committee proposals that could not be parsed.",
    "bundles_refused": "Members' result bundles the leader refused.",
    "evidence_missing": "Evidence objects a proposal named that could not be fetched.",
    "rounds_skipped_behind": "Rounds not led because this member had not adopted the last report.",
    "rounds_without_quorum": "Rounds that ended without a threshold of bundles or signatures.",
    "rounds_overtaken": "Rounds this member stopped leading: the epoch settled as it gathered.",
    "rounds_waiting_earlier": "Rounds not led: an earlier epoch was still being settled.",
    "adopt_mismatch": "Settled reports that differed from this member's own build.",
}
# Gauges of OracleService.metrics.
GAUGES = {"round_seconds": ("last_round_seconds", "Duration of the last round this member led.")}


class OracleCollector(Collector):
    def __init__(
        self, counts: Mapping[str, float], health: Health, latest_epoch: Callable[[], int | None]
    ):
        self.counts, self.health, self.latest_epoch = counts, health, latest_epoch

    def collect(self) -> Iterator:
        counts = dict(self.counts)
        for name, text in COUNTERS.items():
            yield CounterMetricFamily(f"{PREFIX}_{name}", text, value=counts.get(name, 0.0))
        challenges = CounterMetricFamily(
            f"{PREFIX}_challenges",
            "Node challenges verified, by node kind and result.",
            labels=("kind", "result"),
        )
        for kind in ("compute", "storage", "wireless"):
            for result in ("passed", "failed"):
                challenges.add_metric(
                    (kind, result), counts.get(f"challenges_{kind}_{result}", 0.0)
                )
        yield challenges
        for name, (exported, text) in GAUGES.items():
            yield GaugeMetricFamily(f"{PREFIX}_{exported}", text, value=counts.get(name, 0.0))
        h = self.health
        state, _ = h.state()
        gauges = {
            "healthy": ("1 if /health says ok (or starting), else 0.", int(state != "unhealthy")),
            "consecutive_failed_passes": (
                "Pipeline passes that failed in a row.",
                h.consecutive_failures,
            ),
            "latest_epoch": (
                "The latest epoch this oracle has seen (-1: none).",
                _or(self.latest_epoch()),
            ),
            "current_epoch": (
                "The chain's current epoch (-1: not read yet).",
                _or(h.current_epoch),
            ),
            "hub_next_epoch": ("OracleHub.nextEpoch (-1: not read yet).", _or(h.next_epoch)),
            "unsettled_epochs": (
                "Ended epochs the hub has not settled (-1: not read yet).",
                _or(h.unsettled_epochs),
            ),
            "operator_balance_wei": (
                "The operator account's balance in wei (-1: not read yet).",
                _or(h.balance_wei),
            ),
            "last_pass_timestamp_seconds": (
                "Unix time of the last pipeline pass that completed (0: none).",
                h.last_ok_at or 0,
            ),
        }
        for name, (text, value) in gauges.items():
            yield GaugeMetricFamily(f"{PREFIX}_{name}", text, value=float(value))


def _or(value: int | None) -> int:
    return -1 if value is None else value


def registry_for(collector: OracleCollector) -> CollectorRegistry:
    """A registry of this oracle's metrics only (several oracles share a process in tests and
    the demo; the default global registry would mix them)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """(body, content type) in the format the scraper's Accept header asks for."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
