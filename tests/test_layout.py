"""The package layout's rules, checked on the imports themselves: each product imports alone,
the protocol imports no other product, and the oracle and the agent never import each other
(nor the simulation)."""

import json
import subprocess
import sys

import pytest

PRODUCTS = ("protocol", "service", "committee", "agent", "sim", "bench")
# product -> the other products it may load
ALLOWED = {
    "protocol": set(),
    "agent": {"protocol"},
    "service": {"protocol"},
    "committee": {"protocol", "service"},
    "sim": {"protocol", "agent", "service", "committee"},  # it wires hostile members too
    "bench": {"protocol", "service", "committee", "agent", "sim"},
}


def _loaded_products(module: str) -> set[str]:
    code = (
        f"import json, sys, importlib; importlib.import_module({module!r}); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('oracle.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {m.split(".")[1] for m in json.loads(out.stdout)}


@pytest.mark.parametrize("product", PRODUCTS)
def test_product_imports_only_what_its_layer_allows(product):
    modules = {
        "protocol": "oracle.protocol.wire",
        "service": "oracle.service.pipeline",
        "committee": "oracle.committee.member",
        "agent": "oracle.agent.app",
        "sim": "oracle.sim.committee",
        "bench": "oracle.bench.audits",
    }
    loaded = _loaded_products(modules[product]) & set(PRODUCTS)
    assert loaded - {product} <= ALLOWED[product], sorted(loaded - {product} - ALLOWED[product])


def test_agent_exports_no_cheaters():
    import oracle.agent

    assert not {"LazyStorage", "SkipWork", "SlowGpu", "Offline"} & set(oracle.agent.__all__)
