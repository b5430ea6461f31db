"""The explorer in a real browser: headless Chromium (Debian's `chromium`, never a downloaded
one) driven by Playwright for Python, against a running network (the demo's, through
scripts.demo.run's `explore` hook). Every page renders; the numbers it shows equal the API's
and the chain's; the map shows every wireless node; a results line is checked in the page
against the on-chain root (and a tampered one is refused); a claim goes through the page's
Claim button and an injected wallet. A screenshot of each page goes to docs/explorer/."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

from oracle.protocol.hardware import NodeKind

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("PLINTH_SCREENSHOTS", ROOT / "docs" / "explorer"))


def chromium_path() -> str | None:
    """The system Chromium (PLINTH_CHROMIUM, else `chromium` on PATH)."""
    return os.environ.get("PLINTH_CHROMIUM") or shutil.which("chromium")


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def _rpc(url: str, method: str, params: list):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        out = json.loads(r.read())
    assert "error" not in out, out
    return out["result"]


MARKUP = '<img src=x onerror="window.pwned=1">'

# An EIP-1193 wallet for the test, injected before the page loads: it answers the account and
# forwards everything else to the chain, where the account is impersonated (anvil), so the page's
# real claim path (ethers BrowserProvider, eth_sendTransaction) runs unchanged.
WALLET = """
window.ethereum = {
  isTestWallet: true,
  async request({ method, params }) {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [%(account)s];
    const response = await fetch(%(rpc)s, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params || [] }),
    });
    const out = await response.json();
    if (out.error) throw Object.assign(new Error(out.error.message), out.error);
    return out.result;
  },
  on() {}, removeListener() {},
};
"""


def check_explorer(network: dict) -> dict:
    """Runs every check; returns what it saw (for the caller's report). Raises AssertionError."""
    from playwright.sync_api import sync_playwright

    api = network["api_url"]
    suite = network["suite"]
    deployment = _get(f"{api}/deployment")
    rpc = deployment["rpc_url"]
    assert rpc, "/deployment publishes no rpc_url for the explorer"
    nodes = _get(f"{api}/nodes?limit=1000")["nodes"]
    epochs = _get(f"{api}/epochs?limit=12")["epochs"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen: dict = {"pages": [], "external": [], "errors": []}

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            page = context.new_page()
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on(  # a Content-Security-Policy violation is only a console message
                "console",
                lambda m: (
                    seen["errors"].append(m.text)
                    if m.type == "error" and "Content Security Policy" in m.text
                    else None
                ),
            )
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith((api, rpc)) or r.url.startswith("data:")
                    else seen["external"].append(r.url)
                ),
            )

            def visit(route: str, ready: str, shot: str | None, refused: str | None = None):
                """Loads the page afresh at `route`; `refused`: the page must show its error
                page, saying this."""
                page.goto(f"{api}/explorer/")
                page.evaluate("document.body.dataset.ready = 'navigating'")
                page.evaluate(f"location.hash = {json.dumps(route)}")
                # (a selector: the page's Content-Security-Policy forbids the eval a string
                # predicate of wait_for_function would need)
                page.wait_for_selector(
                    f'body[data-ready="{ready}"], body[data-ready="error"]', timeout=90_000
                )
                state = page.evaluate("document.body.dataset.ready")
                if refused is not None:
                    assert state == "error" and refused in page.inner_text("main"), (
                        route,
                        page.inner_text("main")[:300],
                    )
                    return
                if state == "error":
                    raise AssertionError(f"{route}: {page.inner_text('main')}")
                if shot:
                    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
                seen["pages"].append(route)

            def wei(selector: str) -> int:
                return int(page.get_attribute(selector, "data-wei"))

            # -------------------------------------------------------------- network
            visit("#/", "network", "network")
            current = suite.market.currentEpoch()
            assert int(page.get_attribute("#current-epoch [data-epoch]", "data-epoch")) == current
            assert wei("#bonded .amt") == suite.vault.totalBonded()
            assert wei("#emitted .amt") == suite.emissions.totalEmitted()
            committee = suite.hub.committee()
            assert int(page.get_attribute("#committee", "data-threshold")) == suite.hub.threshold()
            assert int(page.get_attribute("#committee", "data-size")) == len(committee)
            registry = suite.registry
            kinds = [registry.kindOf(registry.nodeAt(i)) for i in range(registry.nodeCount())]
            for kind in NodeKind:
                name = kind.name.lower()
                total = page.inner_text(f'#node-counts tr[data-kind="{name}"] td.total')
                assert int(total) == kinds.count(kind) > 0, name
            reported = [e for e in epochs if "total_rewards" in e]
            assert reported, epochs
            for e in reported:
                row = f'#epochs tr[data-epoch="{e["epoch"]}"]'
                # demand for proven service: what leases paid minus the failed nodes' share
                proven = max(suite.market.demandOf(e["epoch"]) - int(e["failed_demand"]), 0)
                assert wei(f'{row} [data-field="demand"] .amt') == proven
                assert wei(f'{row} [data-field="minted"] .amt') == int(e["total_rewards"])
                assert wei(f'{row} [data-field="rewards"] .amt') == int(e["total_rewards"])
                signed = page.inner_text(f'{row} [data-field="signers"]').split()
                assert int(signed[0]) >= suite.hub.threshold(), signed
            bars = page.locator("#chart rect.demand[data-wei]").count()
            assert bars == len(reported), (bars, len(reported))

            # -------------------------------------------------------------- nodes + map
            visit("#/nodes", "nodes", "nodes")
            assert page.locator("#nodes tbody tr").count() == len(nodes)
            wireless = {n["node"] for n in nodes if n["kind"] == "wireless"}
            on_map = set(
                page.eval_on_selector_all("#map a.hex", "els => els.map(e => e.dataset.node)")
            )
            assert wireless and on_map == wireless, on_map ^ wireless
            for n in nodes:
                if n["kind"] == "wireless":
                    info = suite.registry.getNode(n["node"])
                    cell = f"{info.hardware.h3Cell:x}"
                    assert (
                        page.get_attribute(f'#map a.hex[data-node="{n["node"]}"]', "data-cell")
                        == cell
                    )
            for n in nodes[:5]:
                assert wei(f'#nodes tr[data-node="{n["node"]}"] [data-field="reward"] .amt') == int(
                    n["reward"]
                )

            # -------------------------------------------------------------- node detail
            slashed = next(
                (n for n in network["nodes"] if suite.slashing.pendingSlashCount(n.address) > 0),
                None,
            )
            assert slashed is not None, "the demo left no pending slash to show"
            visit(f"#/node/{slashed.address}", "node", "node")
            assert page.get_attribute("#line-check", "data-verified") == "true", page.inner_text(
                "#line-check"
            )
            assert wei("#bonded .amt") == suite.vault.bondedOf(slashed.address)
            assert wei("#pending .amt") == suite.slashing.pendingSlashAmount(slashed.address)
            assert page.locator(
                '#slashes tr[data-status="pending"]'
            ).count() == suite.slashing.pendingSlashCount(slashed.address)
            assert "dispute window open" in page.inner_text("#slashes")
            history = _get(f"{api}/nodes/{slashed.address}")["epochs"]
            for h in history:
                assert wei(
                    f'#history tr[data-epoch="{h["epoch"]}"] [data-field="reward"] .amt'
                ) == int(h["reward"])
            proven = sum(1 for h in history if "line" in h)
            assert proven and page.locator('#history [data-verified="true"]').count() == proven

            # a line the API altered (a reward raised) no longer folds to the chain's root
            def tamper(route):
                body = route.fetch().json()
                for h in body["epochs"]:
                    if "line" in h:
                        line = json.loads(h["line"])
                        line["reward"] = int(line["reward"]) + 1
                        h["line"] = json.dumps(line, separators=(",", ":"), sort_keys=True)
                route.fulfill(json=body)

            def its_history(url: str) -> bool:
                return url.lower().endswith(f"/nodes/{slashed.address.lower()}")

            page.route(its_history, tamper)
            visit(f"#/node/{slashed.address}", "node", None)
            assert page.get_attribute("#line-check", "data-verified") == "false"
            assert page.locator('#history [data-verified="false"]').count() > 0
            page.unroute(its_history)

            # a hostile API: rows that differ from their (genuine) line, another node's line,
            # an epoch listed twice, markup where numbers belong, a deployment record naming
            # other contracts than the hub's; none is shown as verified or run as markup
            genuine = _get(f"{api}/nodes/{slashed.address}")
            other = next(n for n in network["nodes"] if n.address != slashed.address)
            other_history = _get(f"{api}/nodes/{other.address}")

            def serve(body):
                return lambda route: route.fulfill(json=body)

            def with_first(change):
                body = json.loads(json.dumps(genuine))
                change(body["epochs"])
                return body

            def raise_reward(es):
                es[0]["reward"] = str(int(es[0]["reward"]) + 10**18)

            def others_line(es):
                donor = next(e for e in other_history["epochs"] if "line" in e)
                es[0] |= {k: donor[k] for k in ("line", "proof", "epoch")}

            cases = [
                (raise_reward, None, "differ"),
                (others_line, None, "not this node's"),
                (lambda es: es.append(dict(es[0])), "twice", None),
                (
                    lambda es: es[0].update(epoch=f'1">{MARKUP}'),
                    "natural",
                    None,
                ),
            ]
            for change, refused, why in cases:
                page.route(its_history, serve(with_first(change)))
                visit(f"#/node/{slashed.address}", "node", None, refused=refused)
                if why is not None:
                    assert page.get_attribute("#line-check", "data-verified") == "false"
                    assert why in page.inner_text("#line-check"), page.inner_text("#line-check")
                page.unroute(its_history)
            hostile_epochs = {
                "epochs": [{"epoch": 1, "state": MARKUP, "slashes": MARKUP}],
                "next_before": None,
            }

            def epoch_list(url: str) -> bool:
                return "/epochs?" in url

            page.route(epoch_list, serve(hostile_epochs))
            visit("#/epochs", "epochs", None, refused="natural number")
            page.unroute(epoch_list)
            lying = json.loads(json.dumps(deployment))
            lying["contracts"]["RewardsDistributor"] = lying["contracts"]["PlinthToken"]

            def record(url: str) -> bool:
                return url.endswith("/deployment")

            page.route(record, serve(lying))
            visit("#/", "network", None, refused="disagrees with the contracts on the chain")
            page.unroute(record)
            assert page.evaluate("window.pwned") is None

            # -------------------------------------------------------------- epoch detail
            epoch = reported[0]["epoch"]
            visit(f"#/epoch/{epoch}", "epoch", "epoch")
            assert page.get_attribute("#root-check", "data-verified") == "true", page.inner_text(
                "#root-check"
            )
            signers = page.eval_on_selector_all("#signers a", "els => els.map(e => e.title)")
            members = {m.lower() for m in committee}
            assert len(signers) >= suite.hub.threshold() and {s.lower() for s in signers} <= members
            report = _get(f"{api}/epochs/{epoch}")["report"]
            proven = max(suite.market.demandOf(epoch) - int(report["failed_demand"]), 0)
            assert wei("#demand .amt") == proven
            assert wei("#rewards .amt") == int(report["total_rewards"])
            with urllib.request.urlopen(f"{api}/epochs/{epoch}/results", timeout=30) as r:
                lines = r.read().decode().splitlines()[1:]
            assert page.locator("#results tbody tr").count() == len(lines) > 0

            # -------------------------------------------------------------- account + claim
            account = network["providers"][0].address
            claim = _get(f"{api}/claims/{account}")
            claimed_before = suite.distributor.claimedOf(account)
            _rpc(rpc, "anvil_impersonateAccount", [account])
            page.add_init_script(WALLET % {"account": json.dumps(account), "rpc": json.dumps(rpc)})
            visit(f"#/account/{account}", "account", "account")
            assert wei("#claimable .amt") == int(claim["amount"]) - claimed_before > 0
            assert wei("#claimed .amt") == claimed_before
            page.click("#claim")
            page.wait_for_selector("#claim-status[data-tx]", timeout=90_000)
            page.wait_for_selector('body[data-ready="account"]')
            assert suite.distributor.claimedOf(account) == int(claim["amount"])
            assert wei("#claimed .amt") == int(claim["amount"])
            assert wei("#claimable .amt") == 0
            page.screenshot(path=str(SHOTS / "account-claimed.png"), full_page=True)
            seen["claimed"] = int(claim["amount"]) - claimed_before
        finally:
            browser.close()
    assert not seen["errors"], seen["errors"]
    assert not seen["external"], f"the page fetched from elsewhere: {seen['external']}"
    assert any(n.kind == NodeKind.WIRELESS for n in network["nodes"])
    return seen
