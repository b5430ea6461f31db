// Plinth explorer: a hash-routed single page over the oracle's API (same origin) and the chain
// (JSON-RPC, read by this page). Pages: network (#/), nodes (#/nodes), node (#/node/0x..),
// epochs (#/epochs), epoch (#/epoch/N), account (#/account/0x..).

import { isAddress, getAddress } from "ethers";

import { allNodes, api, text } from "./api.js";
import { ChainView, KINDS, SLASH_REASONS, STATUSES, anchor, distributorWith, walletSigner } from "./chain.js";
import { demandChart } from "./chart.js";
import {
  accountLink, amount, bps, chainValue, duration, epochLink, esc, exactField, nat, nodeLink, optNat, short,
  tokens, when,
} from "./format.js";
import { hexMap } from "./map.js";
import { foldProof, resultLeaf, resultsRoot } from "./proof.js";

const app = document.getElementById("app");
let deployment = null;
let chain = null;
let timer = null;
let navigation = 0; // the latest route(); a slower, older page never renders over it

class Stale extends Error {}

async function context() {
  if (!deployment) {
    const d = await api("/deployment");
    chain = await ChainView.open(d);
    deployment = d;
    const source = document.getElementById("source");
    const { rpc, own } = chain.source;
    source.innerHTML = `Chain ${esc(chain.source.chainId)} read through <code>${esc(rpc)}</code> from OracleHub
      <code>${esc(chain.hub.target)}</code> (${own ? "your settings" : "as this oracle's /deployment says"}; every other
      contract checked against it) · <a href="#/settings">change</a>`;
  }
  return { deployment, chain };
}

function render(token, html) {
  if (token !== navigation) throw new Stale();
  app.innerHTML = html;
}

function fail(token, error) {
  if (token !== navigation) return;
  render(token, `<section class="error" role="alert"><h2>Could not load this page</h2><p>${esc(error.message || error)}</p></section>`);
  document.body.dataset.ready = "error";
}

function done(token, page) {
  if (token !== navigation) return;
  document.body.dataset.ready = page;
}

function card(label, value, id) {
  return `<div class="card"><div class="label">${esc(label)}</div><div class="value" id="${esc(id)}">${value}</div></div>`;
}

// ------------------------------------------------------------------ network

/** /health, whose 503 body (unhealthy, with the problems) is an answer too. */
async function fetchHealth() {
  try {
    const response = await fetch("/health", { headers: { Accept: "application/json" } });
    const body = await response.json();
    return { status: String(body.status ?? response.status), problems: body.problems };
  } catch (error) {
    return { status: "unreachable", problems: [error.message] };
  }
}

async function networkPage(token) {
  const { deployment: d, chain: c } = await context();
  const [committee, now, currentEpoch, bonded, unbonding, totalEmitted, health, epochList, nodes, reports, emitted] =
    await Promise.all([
      c.committee(),
      c.now(),
      c.market.currentEpoch(),
      c.vault.totalBonded(),
      c.vault.totalUnbonding(),
      c.emissions.totalEmitted(),
      fetchHealth(),
      api("/epochs?limit=12"),
      c.nodeCounts(),
      c.reports(),
      c.emitted(),
    ]);
  const current = Number(currentEpoch);
  const endsAt = Number(await c.market.epochStart(current + 1));

  const counts = nodes.counts;
  const statuses = STATUSES.slice(1);
  const countRows = KINDS.map(
    (k) => `<tr data-kind="${k}"><th>${k}</th>${statuses
      .map((s) => `<td data-status="${s}">${counts.get(k).get(s) || 0}</td>`)
      .join("")}<td class="total">${[...counts.get(k).values()].reduce((a, b) => a + b, 0)}</td></tr>`,
  ).join("");

  const rows = await Promise.all(
    epochList.epochs.slice(0, 12).map(async (e) => {
      const onChain = reports.get(nat(e.epoch));
      const signers = onChain ? await c.signers(onChain).catch(() => null) : null;
      return { e, onChain, em: emitted.get(e.epoch), signers };
    }),
  );
  const table = rows
    .map(
      ({ e, onChain, em, signers }) => `<tr data-epoch="${e.epoch}">
      <td>${epochLink(e.epoch)}</td><td>${esc(e.state)}</td>
      <td class="num" data-field="demand">${em ? chainValue(amount(em.demand, "chain")) : "–"}</td>
      <td class="num" data-field="minted">${em ? chainValue(amount(em.minted, "chain")) : "–"}</td>
      <td class="num" data-field="rewards">${e.total_rewards ? amount(e.total_rewards) : "–"}</td>
      <td class="num" data-field="slashes">${optNat(e.slashes)}</td>
      <td data-field="signers">${signers ? chainValue(`${signers.signers.length} ${signers.scheme}`) : "–"}</td>
      <td data-field="tx">${onChain ? chainValue(`<code title="${esc(onChain.tx)}">${esc(short(onChain.tx))}</code>`) : "–"}</td>
    </tr>`,
    )
    .join("");
  const chartRows = rows
    .filter((r) => r.em)
    .map((r) => ({ epoch: r.e.epoch, demand: r.em.demand, minted: r.em.minted }))
    .reverse();
  const members = committee.members.map((m) => `<li>${accountLink(m)}</li>`).join("");

  render(token, `
    <h1>Network</h1>
    <div class="cards">
      ${card("chain", esc(d.chain_id), "chain-id")}
      ${card("current epoch", chainValue(`<span data-epoch="${current}">${current}</span>`), "current-epoch")}
      ${card("epoch ends in", `<span id="countdown" data-ends-at="${endsAt}" data-now="${now}">${duration(endsAt - now)}</span>`, "ends")}
      ${card("settled through", chainValue(committee.nextEpoch > 0 ? String(committee.nextEpoch - 1) : "none yet"), "settled")}
      ${card("bonded stake", chainValue(amount(bonded, "chain")), "bonded")}
      ${card("unbonding", chainValue(amount(unbonding, "chain")), "unbonding")}
      ${card("minted since genesis", chainValue(amount(totalEmitted, "chain")), "emitted")}
      ${card("oracle", `<span class="status-${esc(health.status)}">${esc(health.status)}</span>`, "health")}
    </div>
    ${Array.isArray(health.problems) && health.problems.length ? `<ul id="problems" class="bad">${health.problems.slice(0, 10).map((p) => `<li>${esc(typeof p === "string" ? p : p.problem ?? JSON.stringify(p))}${p.hint ? ` <span class="muted">${esc(p.hint)}</span>` : ""}</li>`).join("")}</ul>` : ""}
    <section>
      <h2>Committee</h2>
      <p id="committee" data-threshold="${committee.threshold}" data-size="${committee.members.length}">
        ${chainValue(`${committee.threshold} of ${committee.members.length}, ${esc(committee.scheme)}, version ${committee.version}`)}</p>
      <ul class="members">${members}</ul>
    </section>
    <section>
      <h2>Nodes by kind and status</h2>
      <table id="node-counts"><thead><tr><th></th>${statuses.map((s) => `<th>${s}</th>`).join("")}<th>total</th></tr></thead>
      <tbody>${countRows}</tbody></table>
      <p class="muted">From the registry on the chain${nodes.truncated ? `: the first ${nodes.read} of ${nodes.total} nodes` : ""}.</p>
    </section>
    <section>
      <h2>Demand and emissions</h2>
      <div id="chart">${demandChart(chartRows)}</div>
    </section>
    <section>
      <h2>Recent epochs</h2>
      <table id="epochs"><thead><tr><th>epoch</th><th>state</th><th title="what leases paid for service the oracle proved">proven demand</th><th>minted</th><th>rewards</th><th>slashes</th><th>signers</th><th>report tx</th></tr></thead>
      <tbody>${table}</tbody></table>
    </section>`);
  const countdown = document.getElementById("countdown");
  const started = Date.now();
  timer = setInterval(() => {
    const left = endsAt - now - (Date.now() - started) / 1000;
    countdown.textContent = left > 0 ? duration(left) : "ended (waiting for the next block)";
  }, 1000);
  done(token, "network");
}

// ------------------------------------------------------------------ nodes

async function nodesPage(token, query) {
  await context();
  const kind = query.get("kind");
  const nodes = await allNodes(kind ? `kind=${encodeURIComponent(kind)}` : "");
  const wireless = kind && kind !== "wireless" ? [] : nodes.filter((n) => n.kind === "wireless");
  const options = ["", ...KINDS]
    .map((k) => `<option value="${k}" ${k === (kind || "") ? "selected" : ""}>${k || "every kind"}</option>`)
    .join("");
  const rows = nodes
    .map(
      (n) => `<tr data-node="${esc(n.node)}">
      <td>${nodeLink(n.node)}</td><td>${accountLink(n.owner)}</td><td>${esc(n.kind)}</td>
      <td>${esc(n.status ?? "–")}</td><td>${epochLink(n.latest_epoch)}</td>
      <td class="reason reason-${esc(n.reason)}">${esc(n.reason)}</td>
      <td class="num">${bps(n.score_bps)}</td><td class="num">${bps(n.reputation_bps)}</td>
      <td class="num" data-field="reward">${amount(n.reward)}</td></tr>`,
    )
    .join("");
  render(token, `
    <h1>Nodes</h1>
    <form id="kind-filter"><label>Kind <select name="kind">${options}</select></label></form>
    <section>
      <h2>Wireless coverage</h2>
      <div id="map">${hexMap(wireless)}</div>
    </section>
    <section>
      <h2>${nodes.length} nodes</h2>
      <table id="nodes"><thead><tr><th>node</th><th>owner</th><th>kind</th><th>status</th><th>epoch</th><th>latest result</th><th>score</th><th>reputation</th><th>reward</th></tr></thead>
      <tbody>${rows}</tbody></table>
    </section>`);
  document.querySelector("#kind-filter select").addEventListener("change", (ev) => {
    location.hash = ev.target.value ? `#/nodes?kind=${ev.target.value}` : "#/nodes";
  });
  done(token, "nodes");
}

// ------------------------------------------------------------------ node

const HASH = /^0x[0-9a-fA-F]{64}$/;

/** A Merkle proof from the API: at most 64 hashes of 32 bytes. */
function isProof(list) {
  return Array.isArray(list) && list.length <= 64 && list.every((x) => typeof x === "string" && HASH.test(x));
}

/** One history entry's line checked in this browser: it must be this node's line, its leaf
 * folded with its proof must give the results root the hub logged on the chain for that epoch
 * (not the root the API states), and the API's row must say what the line says. */
async function checkLine(c, node, entry) {
  const { line, proof } = entry;
  if (typeof line !== "string" || line.length > 8192) return { ok: false, why: "the API sent no usable line" };
  if (!proof || !Number.isSafeInteger(proof.index) || proof.index < 0 || !isProof(proof.siblings)) {
    return { ok: false, why: "the API sent a malformed proof" };
  }
  let fields;
  try {
    fields = JSON.parse(line);
  } catch {
    return { ok: false, why: "the line is not JSON" };
  }
  if (fields.node !== node.toLowerCase()) return { ok: false, why: `the line is ${String(fields.node).slice(0, 42)}'s, not this node's` };
  const reports = await c.reports();
  const onChain = reports.get(entry.epoch);
  if (!onChain) return { ok: false, why: "no report on the chain for this epoch" };
  const folded = foldProof(resultLeaf(line), proof.index, proof.siblings);
  if (folded.toLowerCase() !== onChain.resultsRoot.toLowerCase()) {
    return { ok: false, why: `the proof folds to ${folded}; the chain has ${onChain.resultsRoot}`, root: onChain.resultsRoot };
  }
  const differs = [];
  if (fields.reason !== entry.reason) differs.push("reason");
  if (fields.score_bps !== entry.score_bps) differs.push("score");
  if (fields.reputation_bps !== entry.reputation_bps) differs.push("reputation");
  if (String(exactField(line, "reward")) !== String(entry.reward)) differs.push("reward");
  if (differs.length) {
    return { ok: false, why: `the line is on the chain, but the API's ${differs.join(", ")} differ from it`, root: onChain.resultsRoot };
  }
  return { ok: true, folded, root: onChain.resultsRoot, tx: onChain.tx, siblings: proof.siblings.length };
}

async function nodePage(token, address) {
  const { chain: c } = await context();
  if (!isAddress(address)) throw new Error(`not an address: ${address}`);
  const node = getAddress(address);
  const [info, history, slashes, now] = await Promise.all([
    c.node(node),
    api(`/nodes/${node}`).catch((e) => (e.status === 404 ? { epochs: [] } : Promise.reject(e))),
    c.slashesOf(node),
    c.now(),
  ]);
  if (!Array.isArray(history.epochs)) throw new Error("the oracle's API sent no epoch list for this node");
  const listed = new Set();
  for (const e of history.epochs) {
    if (listed.has(nat(e.epoch))) throw new Error(`the oracle's API lists epoch ${e.epoch} twice for this node`);
    listed.add(e.epoch);
  }
  const checks = await Promise.all(history.epochs.map((e) => (e.line === undefined ? null : checkLine(c, node, e))));
  const rows = history.epochs
    .map((e, i) => {
      const check = checks[i];
      const verdict = check
        ? `<span class="check ${check.ok ? "ok" : "bad"}" data-verified="${check.ok}" title="${esc(check.ok ? `leaf folds to ${check.folded} = the results root of tx ${check.tx}` : check.why)}">${check.ok ? "✓ on-chain root" : "✗ not verified"}</span>`
        : `<a href="/epochs/${e.epoch}/proofs/${esc(node)}">proof</a>`;
      return `<tr data-epoch="${e.epoch}">
        <td>${epochLink(e.epoch)}</td><td class="reason reason-${esc(e.reason)}">${esc(e.reason)}</td>
        <td class="num">${bps(e.score_bps)}</td><td class="num">${bps(e.reputation_bps)}</td>
        <td class="num" data-field="reward">${amount(e.reward)}</td>
        <td>${e.slash_reason ? esc(SLASH_REASONS[e.slash_reason] ?? e.slash_reason) : "–"}</td><td>${verdict}</td></tr>`;
    })
    .join("");
  const first = checks.findIndex((x) => x !== null);
  const latest = first < 0 ? null : history.epochs[first];
  const check = first < 0 ? null : checks[first];
  const lineBlock = latest
    ? `<section id="line"><h2>Results line, epoch ${latest.epoch}</h2>
        <pre class="line">${esc(String(latest.line).slice(0, 8192))}</pre>
        <p id="line-check" data-verified="${check.ok}" class="${check.ok ? "ok" : "bad"}">${
          check.ok
            ? `✓ Checked in this browser: keccak256("plinth-result-v1\\n" ‖ line) with its ${check.siblings} siblings folds to <code>${esc(check.root)}</code>, the results root the hub logged in <code>${esc(short(check.tx))}</code>, and the API's row says what the line says.`
            : `✗ ${esc(check.why)}`
        }</p></section>`
    : "";
  const entries = info.entries
    .map((e) => `<li>${amount(e.amount, "chain")} released ${esc(when(e.releaseAt))} ${e.releaseAt <= now ? "(matured)" : `(in ${duration(e.releaseAt - now)})`}</li>`)
    .join("");
  const slashRows = slashes
    .map(
      (s) => `<tr data-slash="${s.id}" data-status="${s.status}"><td>#${s.id}</td><td>${epochLink(s.epoch)}</td><td>${esc(s.reason)}</td>
      <td class="num">${amount(s.amount, "chain")}</td><td>${esc(s.status)}</td>
      <td>${s.status === "pending" ? (s.executableAt > now ? `dispute window open, ${duration(s.executableAt - now)} left` : "executable now") : "–"}</td></tr>`,
    )
    .join("");
  const hw = info.hardware;
  const claim = info.kind === "compute"
    ? `class ${hw.hwClass}, ${hw.gpuCount} GPU(s)`
    : info.kind === "storage"
      ? `${(Number(hw.capacityBytes) / 2 ** 30).toFixed(1)} GiB offered`
      : `cell ${BigInt(hw.h3Cell).toString(16)} at ${Number(hw.latE6) / 1e6}, ${Number(hw.lonE6) / 1e6}`;
  render(token, `
    <h1>Node <code>${esc(node)}</code></h1>
    <div class="cards">
      ${card("kind", chainValue(esc(info.kind)), "kind")}
      ${card("status", chainValue(`${esc(info.status)}${info.eligible ? " · eligible" : ""}`), "status")}
      ${card("owner", accountLink(info.owner), "owner")}
      ${card("bonded", chainValue(amount(info.bonded, "chain")), "bonded")}
      ${card("unbonding", chainValue(amount(info.unbonding, "chain")), "unbonding")}
      ${card("pending slashes", chainValue(amount(info.pending, "chain")), "pending")}
    </div>
    <p class="muted">Claimed hardware: ${esc(claim)} · faults ${info.faults} · endpoint <code>${esc(info.endpoint)}</code></p>
    ${entries ? `<section><h2>Unbonding</h2><ul id="unbonding-entries">${entries}</ul></section>` : ""}
    <section><h2>Slashes</h2>${slashRows ? `<table id="slashes"><thead><tr><th>id</th><th>epoch</th><th>reason</th><th>amount</th><th>status</th><th>dispute</th></tr></thead><tbody>${slashRows}</tbody></table>` : `<p class="muted" id="slashes-none">None.</p>`}</section>
    ${lineBlock}
    <section><h2>Per epoch</h2>
      <table id="history"><thead><tr><th>epoch</th><th>reason</th><th>score</th><th>reputation</th><th>reward</th><th>slash</th><th>proof</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="7" class="muted">No results from this oracle yet.</td></tr>`}</tbody></table></section>`);
  done(token, "node");
}

// ------------------------------------------------------------------ epochs

async function epochsPage(token) {
  await context();
  const body = await api("/epochs?limit=100");
  const rows = body.epochs
    .slice(0, 100)
    .map((e) => `<tr data-epoch="${nat(e.epoch)}"><td>${epochLink(e.epoch)}</td><td>${esc(e.state)}</td>
      <td class="num">${e.total_rewards ? amount(e.total_rewards) : "–"}</td><td class="num">${optNat(e.slashes)}</td>
      <td class="num">${optNat(e.failed_nodes)}</td></tr>`)
    .join("");
  render(token, `<h1>Epochs</h1><table id="epoch-list"><thead><tr><th>epoch</th><th>state</th><th>rewards</th><th>slashes</th><th>failed leased nodes</th></tr></thead><tbody>${rows}</tbody></table>`);
  done(token, "epochs");
}

async function epochPage(token, n) {
  const { chain: c } = await context();
  if (!/^\d{1,18}$/.test(n)) throw new Error(`not an epoch number: ${n}`);
  const epoch = Number(n);
  const [body, reports, emitted] = await Promise.all([api(`/epochs/${epoch}`), c.reports(), c.emitted()]);
  const onChain = reports.get(epoch);
  const em = emitted.get(epoch);
  const r = body.report;
  let lines = [];
  let computed = null;
  if (r) {
    const file = (await text(`/epochs/${epoch}/results`)).split("\n").filter(Boolean);
    lines = file.slice(1);
    computed = resultsRoot(lines);
  }
  // who signed, and the committee they were checked against (the one before the report's block)
  const committee = onChain ? await c.committee(onChain.block - 1) : null;
  const signers = onChain ? await c.signers(onChain, committee).catch(() => null) : null;
  const rootOk = onChain && computed && computed.toLowerCase() === onChain.resultsRoot.toLowerCase();
  const lineRows = lines
    .map((line) => {
      const x = JSON.parse(line);
      if (!isAddress(x.node)) throw new Error("a line of the results file names no node");
      return `<tr data-node="${esc(x.node)}"><td>${nodeLink(getAddress(x.node))}</td><td>${esc(x.kind)}</td>
        <td class="reason reason-${esc(x.reason)}">${esc(x.reason)}</td><td class="num">${bps(x.score_bps)}</td>
        <td class="num" data-field="reward">${amount(exactField(line, "reward") ?? 0n)}</td></tr>`;
    })
    .join("");
  const slashRows = (r?.slashes || [])
    .map((s) => `<li>${nodeLink(s.node)} ${esc(SLASH_REASONS[s.reason] ?? s.reason)}</li>`)
    .join("");
  const signerList = signers
    ? signers.signers
        .map((s) => `<li>${accountLink(s)} ${committee.members.includes(getAddress(s)) ? "" : '<span class="bad">(not a member of the committee then)</span>'}</li>`)
        .join("")
    : "";
  render(token, `
    <h1>Epoch ${epoch}</h1>
    <div class="cards">
      ${card("state", esc(body.state), "state")}
      ${card("proven demand", em ? chainValue(amount(em.demand, "chain")) : "–", "demand")}
      ${card("minted", em ? chainValue(amount(em.minted, "chain")) : "–", "minted")}
      ${card("budget", em ? chainValue(amount(em.budget, "chain")) : "–", "budget")}
      ${card("rewards", r ? amount(r.total_rewards) : "–", "rewards")}
      ${card("failed demand", r ? amount(r.failed_demand) : "–", "failed-demand")}
    </div>
    <dl>
      <dt>seed</dt><dd><code>${esc(body.seed)}</code></dd>
      ${r ? `<dt>digest</dt><dd><code>${esc(r.digest)}</code></dd><dt>rewards root</dt><dd><code>${esc(r.rewards_root)}</code></dd>
      <dt>results root</dt><dd><code id="results-root">${esc(r.results_root)}</code></dd>` : ""}
      ${onChain ? `<dt>report transaction</dt><dd>${chainValue(`<code id="report-tx">${esc(onChain.tx)}</code>`)} (block ${onChain.block})</dd>` : ""}
    </dl>
    ${r ? `<p id="root-check" data-verified="${Boolean(rootOk)}" class="${rootOk ? "ok" : "bad"}">${
      rootOk
        ? `✓ The ${lines.length} lines of the results file, hashed in this browser, give <code>${esc(onChain.resultsRoot)}</code>, the results root the hub logged on the chain.`
        : onChain ? `✗ The results file hashes to ${esc(computed)}; the chain has ${esc(onChain.resultsRoot)}.` : "Not on the chain yet."
    }</p>` : ""}
    ${signers ? `<section><h2>Signers (${signers.signers.length}, ${esc(signers.scheme)}; recovered from the report transaction)</h2><ul id="signers">${signerList}</ul></section>` : ""}
    <section><h2>Slashes requested</h2>${slashRows ? `<ul id="epoch-slashes">${slashRows}</ul>` : '<p class="muted">None.</p>'}</section>
    ${Array.isArray(r?.failed_nodes) && r.failed_nodes.length ? `<section><h2>Leased nodes that failed (their customers are refunded)</h2><ul>${r.failed_nodes.map((a) => `<li>${nodeLink(a)}</li>`).join("")}</ul></section>` : ""}
    <section><h2>Results</h2><table id="results"><thead><tr><th>node</th><th>kind</th><th>reason</th><th>score</th><th>reward</th></tr></thead><tbody>${lineRows}</tbody></table></section>`);
  done(token, "epoch");
}

// ------------------------------------------------------------------ account

async function accountPage(token, address) {
  const { deployment: d, chain: c } = await context();
  if (!isAddress(address)) throw new Error(`not an address: ${address}`);
  const account = getAddress(address);
  const [claim, onChain, nodes] = await Promise.all([
    api(`/claims/${account}`).catch((e) => (e.status === 404 ? null : Promise.reject(e))),
    c.account(account),
    allNodes(),
  ]);
  const owned = nodes.filter((n) => n.owner === account);
  if (claim) {
    nat(claim.epoch);
    if (!/^\d{1,78}$/.test(claim.amount)) throw new Error("the oracle's API sent a malformed amount");
    if (!isProof(claim.proof)) {
      throw new Error("the oracle's API sent a malformed proof");
    }
  }
  const claimable = claim ? BigInt(claim.amount) - onChain.claimed : 0n;
  render(token, `
    <h1>Account <code>${esc(account)}</code></h1>
    <div class="cards">
      ${card("balance", chainValue(amount(onChain.balance, "chain")), "balance")}
      ${card("claimed so far", chainValue(amount(onChain.claimed, "chain")), "claimed")}
      ${card("earned (cumulative)", claim ? amount(claim.amount) : amount(0), "earned")}
      ${card("claimable", amount(claimable > 0n ? claimable : 0n), "claimable")}
    </div>
    <section id="claim-box">
      ${claim ? `<p>Rewards through epoch ${epochLink(claim.epoch)}, with a ${claim.proof.length}-hash proof.</p>` : `<p class="muted">No rewards for this account in the oracle's latest report.</p>`}
      <button id="claim" ${claimable > 0n ? "" : "disabled"}>Claim ${esc(tokens(claimable > 0n ? claimable : 0n))}</button>
      <p id="claim-status" class="muted">${window.ethereum ? "Claims through your wallet (anyone may send a claim; the tokens go to this account)." : "No injected wallet found: install one to claim from this page, or use `ape run provider claim`."}</p>
    </section>
    <section><h2>Nodes owned (${owned.length})</h2><ul id="owned">${owned.map((n) => `<li>${nodeLink(n.node)} ${esc(n.kind)} · latest ${esc(n.reason)}</li>`).join("")}</ul></section>`);
  const button = document.getElementById("claim");
  const status = document.getElementById("claim-status");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      // The distributor is the hub's (read from the chain), and the claim is simulated before
      // the wallet is asked: a proof the chain refuses never reaches the wallet.
      status.textContent = `Checking the claim of ${tokens(claimable)} for ${account} with RewardsDistributor ${c.distributor.target} on chain ${c.source.chainId}…`;
      await c.distributor.claim.staticCall(claim.epoch, account, claim.amount, claim.proof);
      status.textContent = `Asking the wallet to send RewardsDistributor(${c.distributor.target}).claim(epoch ${claim.epoch}, ${account}, ${tokens(claim.amount)} cumulative) on chain ${c.source.chainId}…`;
      const signer = await walletSigner(d);
      const tx = await distributorWith(c, signer).claim(claim.epoch, account, claim.amount, claim.proof);
      status.textContent = `Sent ${tx.hash}, waiting for it to be mined…`;
      const receipt = await tx.wait();
      if (receipt.status !== 1) throw new Error(`the claim reverted (${tx.hash})`);
      status.dataset.tx = tx.hash;
      status.textContent = `Claimed in ${tx.hash}.`;
      await route();
      const after = document.getElementById("claim-status");
      if (after) {
        after.dataset.tx = tx.hash;
        after.textContent = `Claimed in ${tx.hash}.`;
      }
    } catch (error) {
      status.textContent = `Claim failed: ${error.shortMessage || error.message}`;
      status.className = "bad";
      button.disabled = false;
    }
  });
  done(token, "account");
}

// ------------------------------------------------------------------ settings

async function settingsPage(token) {
  const d = await api("/deployment");
  const { rpc, hub, own } = anchor(d);
  render(token, `
    <h1>Where this page reads the chain</h1>
    <p>By default the page reads the chain through the JSON-RPC URL and from the OracleHub this
    oracle's <code>/deployment</code> names. An operator could name its own RPC or contracts:
    set your own here (kept in this browser) to check its answers against a chain you trust.
    The other contracts are read from the hub on the chain, or must agree with it.</p>
    <form id="settings" autocomplete="off">
      <label>JSON-RPC URL <input name="rpc" size="60" value="${esc(own ? localStorage.getItem("plinth.rpc") || "" : "")}" placeholder="${esc(d.rpc_url || "https://…")}"></label><br>
      <label>OracleHub <input name="hub" size="46" value="${esc(own ? localStorage.getItem("plinth.hub") || "" : "")}" placeholder="${esc(d.contracts?.OracleHub || "0x…")}"></label><br>
      <button type="submit">Use these</button> <button type="button" id="reset">Use the oracle's</button>
    </form>
    <p class="muted">Now: <code>${esc(rpc || "none")}</code>, OracleHub <code>${esc(hub || "none")}</code> (${own ? "yours" : "the oracle's"}).</p>`);
  const form = document.getElementById("settings");
  const apply = () => {
    deployment = null;
    chain = null;
    location.hash = "#/";
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const newRpc = form.rpc.value.trim();
    const newHub = form.hub.value.trim();
    if (newRpc && !/^https?:\/\//.test(newRpc)) return alert("the RPC URL must be http(s)");
    if (newHub && !isAddress(newHub)) return alert("the OracleHub must be an address");
    for (const [key, value] of [["plinth.rpc", newRpc], ["plinth.hub", newHub]]) {
      if (value) localStorage.setItem(key, value);
      else localStorage.removeItem(key);
    }
    apply();
  });
  document.getElementById("reset").addEventListener("click", () => {
    localStorage.removeItem("plinth.rpc");
    localStorage.removeItem("plinth.hub");
    apply();
  });
  done(token, "settings");
}

// ------------------------------------------------------------------ routing

async function route() {
  clearInterval(timer);
  const token = ++navigation;
  document.body.dataset.ready = "";
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = hash.split("?");
  const query = new URLSearchParams(qs || "");
  const parts = path.split("/").filter(Boolean);
  try {
    if (parts.length === 0) await networkPage(token);
    else if (parts[0] === "nodes" && parts.length === 1) await nodesPage(token, query);
    else if (parts[0] === "node" && parts.length === 2) await nodePage(token, parts[1]);
    else if (parts[0] === "epochs" && parts.length === 1) await epochsPage(token);
    else if (parts[0] === "epoch" && parts.length === 2) await epochPage(token, parts[1]);
    else if (parts[0] === "account" && parts.length === 2) await accountPage(token, parts[1]);
    else if (parts[0] === "settings" && parts.length === 1) await settingsPage(token);
    else throw new Error(`no page ${hash}`);
  } catch (error) {
    if (!(error instanceof Stale)) fail(token, error);
  }
}

document.getElementById("search").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = ev.target.q.value.trim();
  if (/^\d+$/.test(q)) location.hash = `#/epoch/${q}`;
  else if (isAddress(q)) {
    // a node key or an account: the registry knows nodes
    const { chain: c } = await context();
    const status = await c.registry.statusOf(q).catch(() => 0n);
    location.hash = Number(status) ? `#/node/${getAddress(q)}` : `#/account/${getAddress(q)}`;
  }
});
window.addEventListener("hashchange", route);
route();
