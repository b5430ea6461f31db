"""Customer wallet: `ape run market <command> ... --network ... --account ALIAS`.

  nodes    eligible nodes with kind, region and price per epoch
  open     open a lease on a node in your region, escrowing price x epochs (storage: --data FILE,
           uploaded to the node once the lease is open)
  upload   hand a storage lease's data to its node (signed by you: the node checks it against
           the lease's data root and size)
  extend   extend an open lease at its price
  close    close a lease: settles ended epochs and refunds every epoch not started
  settle   pay the provider for every epoch the oracle hub settled and the node passed, and
           refund the customer for those it failed (anyone may call)
  status   your leases: node, epochs, paid through, escrow left, demand

Leases run for whole epochs starting at the next epoch. Amounts are whole tokens with decimals."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import click
from ape import chain
from ape.cli import ConnectedProviderCommand, account_option

from oracle.protocol.eip712 import (
    data_receipt_signer,
    data_request_message,
    lease_data_message,
)
from oracle.protocol.envelope import EnvelopeError, SignedResponse, challenge_id, verify_response
from oracle.protocol.hardware import NodeKind, NodeStatus
from oracle.protocol.merkle import CHUNK_SIZE, ChunkTree
from scripts._cli import (
    ADDRESS,
    AMOUNT,
    ZERO_ADDRESS,
    ensure_allowance,
    event_args,
    fail,
    fields,
    fmt_amount,
    fmt_size,
    fmt_time,
    kind_name,
    require_balance,
    require_not_paused,
    same,
    send,
    short,
    status_name,
    suite_or_fail,
    table,
    wrap_config_errors,
)
from scripts._deploy import KINDS

ZERO32 = b"\x00" * 32


@click.group()
def cli():
    """Customer wallet: find nodes, lease capacity in a region, get unused escrow back."""


def _hardware(kind: int, hw) -> str:
    if kind == NodeKind.COMPUTE:
        model = bytes(hw.gpuModel).rstrip(b"\x00").decode("ascii", "replace")
        return f"{hw.gpuCount} x {model}"
    if kind == NodeKind.STORAGE:
        return fmt_size(hw.capacityBytes)
    return f"H3 {hw.h3Cell:x}"


def _why_not_eligible(suite, node: str, n) -> str:
    if n.status != NodeStatus.ACTIVE:
        return f"it is {status_name(n.status)}, not Active"
    bonded, minimum = suite.vault.bondedOf(node), suite.registry.minStake(n.kind)
    return f"its stake ({fmt_amount(bonded)}) is below the minimum of {fmt_amount(minimum)}"


# ---------------------------------------------------------------------------- nodes


@cli.command(cls=ConnectedProviderCommand)
@click.option("--kind", type=click.Choice(KINDS, case_sensitive=False), help="only this kind")
@click.option("--region", type=click.IntRange(1, 65535), help="only this region")
@click.option(
    "--all", "show_all", is_flag=True, help="also nodes that are not eligible or unpriced"
)
@wrap_config_errors
def nodes(kind, region, show_all):
    """List the nodes a lease can be opened on (eligible and priced)."""
    suite = suite_or_fail()
    reg, market = suite.registry, suite.market
    count = reg.nodeCount()
    rows = []
    for i in range(count):
        node = reg.nodeAt(i)
        n = reg.getNode(node)
        if kind is not None and kind_name(n.kind) != kind.lower():
            continue
        if region is not None and n.region != region:
            continue
        eligible = reg.isEligible(node)
        price = market.priceOf(node)
        if not show_all and not (eligible and price):
            continue
        row = [
            node,
            kind_name(n.kind),
            n.region,
            fmt_amount(price) if price else "-",
            _hardware(n.kind, n.hardware),
        ]
        if show_all:
            row.append(status_name(n.status) + ("" if eligible else " (not eligible)"))
        rows.append(row)
    if not rows:
        what = "nodes" if show_all else "eligible, priced nodes"
        click.echo(f"No {what} match ({count} registered in all).")
        return
    headers = ["node", "kind", "region", "price/epoch", "hardware"] + (
        ["status"] if show_all else []
    )
    click.echo(table(headers, rows, right=(2, 3)))
    epoch = market.currentEpoch()
    click.echo(
        f"\nEpoch {epoch} now; a lease opened now starts with epoch {epoch + 1} "
        f"({fmt_time(market.epochStart(epoch + 1))}), epochs of "
        f"{market.epochDuration()}s."
    )


# ---------------------------------------------------------------------------- open


@cli.command(name="open", cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@click.option(
    "--region",
    type=click.IntRange(1, 65535),
    required=True,
    help="the region you require; the node must be in it",
)
@click.option("--epochs", type=click.IntRange(min=1), required=True, help="lease length in epochs")
@click.option(
    "--max-price",
    type=AMOUNT,
    help="refuse if the node's price per epoch is higher [default: the price shown now]",
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(exists=True, dir_okay=False),
    help="storage leases: the file to store (its data root and size go on-chain)",
)
@wrap_config_errors
def open_lease(account, node, region, epochs, max_price, data_file):
    """Open a lease on NODE for EPOCHS epochs from the next epoch, escrowing the whole price."""
    suite = suite_or_fail()
    reg, market = suite.registry, suite.market
    n = reg.getNode(node)
    if same(n.owner, ZERO_ADDRESS):
        fail(f"no node is registered under {node}")
    if not reg.isEligible(node):
        fail(f"node {node} is not eligible for leases: {_why_not_eligible(suite, node, n)}")
    price = market.priceOf(node)
    if price == 0:
        fail(f"node {node} has no price set: its provider does not offer it")
    if max_price is not None and price > max_price:
        fail(
            f"node {node} costs {fmt_amount(price)} per epoch, above your --max-price of "
            f"{fmt_amount(max_price)}"
        )
    if n.region != region:
        fail(
            f"node {node} is in region {n.region}, not region {region}: pick a node in your "
            f"region (ape run market nodes --region {region})"
        )
    max_epochs = market.MAX_LEASE_EPOCHS()
    if epochs > max_epochs:
        fail(f"at most {max_epochs:,} epochs per lease")

    root, size = ZERO32, 0
    if n.kind == NodeKind.STORAGE:
        if not data_file:
            fail(f"node {node} is a storage node: give the data to store with --data FILE")
        data = Path(data_file).read_bytes()
        if not data:
            fail(f"{data_file} is empty")
        capacity = n.hardware.capacityBytes
        if len(data) > capacity:
            fail(
                f"{data_file} is {fmt_size(len(data))} ({len(data):,} bytes), above the node's "
                f"capacity of {fmt_size(capacity)}"
            )
        tree = ChunkTree.from_data(data)
        root, size = tree.root, len(data)
        click.echo(
            f"Data {data_file}: {size:,} bytes in {tree.n_chunks:,} chunks of {CHUNK_SIZE} "
            f"bytes\n  data root 0x{root.hex()}"
        )
    elif data_file:
        fail(f"node {node} is a {kind_name(n.kind)} node: --data is for storage leases only")

    cost = price * epochs
    require_not_paused(market, "marketplace")
    require_balance(suite, account, cost, f"a lease of {epochs} epochs at {fmt_amount(price)}")
    ensure_allowance(suite, account, market, cost, "marketplace")
    receipt = send(
        f"open a lease on {short(node)} for {epochs} epochs ({fmt_amount(cost)})",
        market.openLease,
        node,
        region,
        epochs,
        price if max_price is None else max_price,
        root,
        size,
        sender=account,
    )
    ev = event_args(market, "LeaseOpened", receipt)
    lease_id = ev["leaseId"] if ev else market.leaseCount()
    lease = market.getLease(lease_id)
    click.echo(
        f"Lease {lease_id}: epochs {lease.startEpoch} to {lease.endEpoch - 1} on "
        f"{kind_name(n.kind)} node {node} (region {region}), "
        f"{fmt_amount(lease.pricePerEpoch)} per epoch, {fmt_amount(cost)} in escrow; "
        f"starts {fmt_time(market.epochStart(lease.startEpoch))}."
    )
    if n.kind == NodeKind.STORAGE:
        _upload(suite, account, lease_id, lease, data, n.endpoint)


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("lease_id", type=click.IntRange(min=1))
@click.argument("data_file", type=click.Path(exists=True, dir_okay=False))
@wrap_config_errors
def upload(account, lease_id, data_file):
    """Hand DATA_FILE, the data of your storage lease LEASE_ID, to the lease's node (again: a
    node that lost it, or an upload that failed when the lease was opened)."""
    suite = suite_or_fail()
    lease = _customer_lease(suite, lease_id, account)
    if lease.dataSize == 0:
        fail(f"lease {lease_id} is not a storage lease: it holds no data")
    data = Path(data_file).read_bytes()
    n = suite.registry.getNode(lease.node)
    _upload(suite, account, lease_id, lease, data, n.endpoint)


def _upload(suite, account, lease_id: int, lease, data: bytes, endpoint: str) -> None:
    """Signs the LeaseData with `account` (the lease's customer) and POSTs the data to the
    node's endpoint; fails with the node's answer."""
    tree = ChunkTree.from_data(data)
    if (tree.root, len(data)) != (bytes(lease.dataRoot), lease.dataSize):
        fail(
            f"this file is not lease {lease_id}'s data: root 0x{tree.root.hex()}, {len(data):,} "
            f"bytes; the lease holds 0x{bytes(lease.dataRoot).hex()}, {lease.dataSize:,} bytes"
        )
    message = lease_data_message(lease_id, lease.node, tree.root, len(data), chain.chain_id,
                                 suite.market.address)  # fmt: skip
    signature = account.sign_message(message)
    if signature is None:
        fail("the upload was not signed")
    body = {"lease_id": lease_id, "data": "0x" + data.hex(),
            "signature": "0x" + signature.encode_rsv().hex()}  # fmt: skip
    url = endpoint.rstrip("/") + "/storage/data"
    click.echo(f"-> upload {len(data):,} bytes to {url} ...")
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as err:
        why = err.read()[:300].decode(errors="replace")
        fail(f"the node refused the upload (HTTP {err.code}): {why}")
    except (urllib.error.URLError, OSError, ValueError) as err:
        fail(f"cannot reach the node at {url}: {err} (upload later: ape run market upload "
             f"{lease_id} FILE)")  # fmt: skip
    cid = challenge_id(chain.chain_id, lease.node, 0, "storage-data", lease_id.to_bytes(32, "big"))
    try:  # the node's signed receipt: it holds exactly this data
        receipt = verify_response(SignedResponse.from_wire(answer), chain.chain_id, cid, lease.node)
    except EnvelopeError as err:
        fail(f"the node's answer is not its signed receipt: {err}")
    if receipt.get("root") != "0x" + tree.root.hex():
        fail(f"the node's receipt names another data root: {receipt.get('root')}")
    click.echo(
        f"Stored by node {lease.node} (its signed receipt: {receipt['n_chunks']} chunks, data "
        f"root 0x{tree.root.hex()}); storage proofs are checked against that root."
    )
    confirm_receipt(suite, account, lease_id, lease, receipt.get("receipt"))


REQUEST_VALID_S = 300  # a retrieval request is good for this long


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("lease_id", type=click.IntRange(min=1))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="where to write the data (refused if it exists, unless --force)",
)
@click.option("--force", is_flag=True, help="overwrite --out")
@wrap_config_errors
def retrieve(account, lease_id, out_file, force):
    """Fetch the data of your storage lease LEASE_ID back from its node, and check it against
    the lease's data root on the chain before writing it to --out."""
    out = Path(out_file)
    if out.exists() and not force:
        raise click.BadParameter(f"{out} exists (add --force to overwrite)", param_hint="--out")
    suite = suite_or_fail()
    lease = _customer_lease(suite, lease_id, account)
    if lease.dataSize == 0:
        fail(f"lease {lease_id} is not a storage lease: it holds no data")
    endpoint = suite.registry.getNode(lease.node).endpoint
    expires = int(time.time()) + REQUEST_VALID_S  # the node checks it against its own clock
    message = data_request_message(lease_id, lease.node, expires, chain.chain_id,
                                   suite.market.address)  # fmt: skip
    signature = account.sign_message(message)
    if signature is None:
        fail("the request was not signed")
    body = {"lease_id": lease_id, "expires": expires,
            "signature": "0x" + signature.encode_rsv().hex()}  # fmt: skip
    url = endpoint.rstrip("/") + "/storage/fetch"
    click.echo(f"-> fetch lease {lease_id}'s {lease.dataSize:,} bytes from {url} ...")
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            data = resp.read(lease.dataSize + 1)
    except urllib.error.HTTPError as err:
        why = err.read()[:300].decode(errors="replace")
        fail(f"the node refused (HTTP {err.code}): {why}")
    except (urllib.error.URLError, OSError) as err:
        fail(f"cannot reach the node at {url}: {err}")
    root = ChunkTree.from_data(data).root if data else b""
    if len(data) != lease.dataSize or root != bytes(lease.dataRoot):
        fail(
            f"the node sent {len(data):,} bytes that are not lease {lease_id}'s data (root "
            f"0x{root.hex()}, the lease's 0x{bytes(lease.dataRoot).hex()}): nothing written. "
            "A node that lost data fails its storage audits and is slashed."
        )
    out.write_bytes(data)
    click.echo(
        f"Wrote {len(data):,} bytes to {out}: they are lease {lease_id}'s data (root "
        f"0x{root.hex()}, checked against the chain)."
    )


def confirm_receipt(suite, account, lease_id: int, lease, receipt_hex) -> None:
    """Records the node's DataReceipt on the chain (Marketplace.confirmData): from then on the
    node cannot say it never had the data (a refused audit is a storage failure)."""
    if suite.market.dataConfirmed(lease_id):
        click.echo(f"Lease {lease_id}'s data receipt is already recorded.")
        return
    try:
        signature = bytes.fromhex(str(receipt_hex)[2:])
    except ValueError:
        signature = b""
    signer = data_receipt_signer(
        signature, lease_id, lease.node, bytes(lease.dataRoot), lease.dataSize, chain.chain_id,
        suite.market.address,
    )  # fmt: skip
    if signer is None or not same(signer, lease.node):
        fail(f"the node's answer carries no valid DataReceipt for lease {lease_id} (signer "
             f"{signer}): the upload is kept, but the receipt cannot be recorded")  # fmt: skip
    suite.market.confirmData(lease_id, signature, sender=account)
    click.echo(
        f"Receipt recorded on-chain (Marketplace.confirmData): node {lease.node} holds lease "
        f"{lease_id}'s data; refusing an audit of it now counts as a storage failure."
    )


# ---------------------------------------------------------------------------- lease helpers


def _lease(suite, lease_id: int):
    lease = suite.market.getLease(lease_id)
    if same(lease.customer, ZERO_ADDRESS):
        fail(f"there is no lease {lease_id} (leases so far: {suite.market.leaseCount()})")
    return lease


def _customer_lease(suite, lease_id: int, account):
    lease = _lease(suite, lease_id)
    if not same(lease.customer, account.address):
        fail(f"lease {lease_id} is not yours: it belongs to {lease.customer}")
    if lease.closed:
        fail(f"lease {lease_id} is closed")
    return lease


def _due(lease, current: int, settled: int) -> tuple[int, int]:
    """(epochs settle would settle now, through epoch): those ended by `current` and settled
    by the oracle hub (its nextEpoch is `settled`)."""
    up_to = min(lease.endEpoch, current, settled)
    return max(up_to - lease.paidThrough, 0), up_to


def _refunded(market, lease, up_to: int) -> list[int]:
    """The epochs in [paidThrough, up_to) the hub recorded the lease's node failed."""
    return [e for e in range(lease.paidThrough, up_to) if market.failedIn(lease.node, e)]


# ---------------------------------------------------------------------------- extend / close


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("lease_id", type=click.IntRange(min=1))
@click.argument("epochs", type=click.IntRange(min=1))
@wrap_config_errors
def extend(account, lease_id, epochs):
    """Extend lease LEASE_ID by EPOCHS epochs at its price."""
    suite = suite_or_fail()
    market = suite.market
    lease = _customer_lease(suite, lease_id, account)
    current = market.currentEpoch()
    if lease.endEpoch <= current:
        fail(f"lease {lease_id} ended with epoch {lease.endEpoch - 1}: open a new one instead")
    if not suite.registry.isEligible(lease.node):
        fail(f"node {lease.node} no longer takes leases (not eligible): open one elsewhere")
    price = market.priceOf(lease.node)
    if price != lease.pricePerEpoch:
        fail(
            f"the provider now asks {fmt_amount(price)} per epoch, not the lease's "
            f"{fmt_amount(lease.pricePerEpoch)}: open a new lease at the new price"
        )
    max_epochs = market.MAX_LEASE_EPOCHS()
    if lease.endEpoch + epochs - lease.startEpoch > max_epochs:
        fail(f"a lease may span at most {max_epochs:,} epochs")
    cost = lease.pricePerEpoch * epochs
    require_not_paused(market, "marketplace")
    require_balance(suite, account, cost, f"extending by {epochs} epochs")
    ensure_allowance(suite, account, market, cost, "marketplace")
    send(
        f"extend lease {lease_id} by {epochs} epochs ({fmt_amount(cost)})",
        market.extendLease,
        lease_id,
        epochs,
        sender=account,
    )
    lease = market.getLease(lease_id)
    click.echo(
        f"Lease {lease_id} now runs through epoch {lease.endEpoch - 1}; escrow left "
        f"{fmt_amount(market.escrowOf(lease_id))}."
    )


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("lease_id", type=click.IntRange(min=1))
@wrap_config_errors
def close(account, lease_id):
    """Close lease LEASE_ID: settle ended epochs, refund every epoch not started."""
    suite = suite_or_fail()
    market = suite.market
    lease = _customer_lease(suite, lease_id, account)
    current = market.currentEpoch()
    refund_epochs = max(lease.endEpoch - (current + 1), 0)
    running = lease.startEpoch <= current < lease.endEpoch
    click.echo(
        f"Closing lease {lease_id} in epoch {current}: {refund_epochs} unstarted epoch(s) "
        f"to refund ({fmt_amount(refund_epochs * lease.pricePerEpoch)})"
        + (f"; epoch {current} has started and stays paid to the provider." if running else ".")
    )
    if market.paused():
        click.echo(
            "The marketplace is paused: every epoch from the pause's on is refunded as well."
        )
    receipt = send(f"close lease {lease_id}", market.closeLease, lease_id, sender=account)
    settled = event_args(market, "LeaseSettled", receipt)
    ended = event_args(market, "LeaseTerminated", receipt)
    refund = ended["refund"] if ended else 0
    failed = event_args(market, "LeaseRefunded", receipt)
    if settled:
        click.echo(
            f"Settled through epoch {settled['paidThrough'] - 1}: "
            f"{fmt_amount(settled['toProvider'])} to the provider, "
            f"{fmt_amount(settled['fee'])} protocol fee."
        )
    if failed:
        click.echo(
            f"Refunded {fmt_amount(failed['refund'])} for {failed['epochs']} epoch(s) the node "
            "failed (as the oracle hub recorded)."
        )
    click.echo(f"Lease {lease_id} closed; refunded {fmt_amount(refund)} to {account.address}.")
    left = market.escrowOf(lease_id)
    if left:
        click.echo(
            f"{fmt_amount(left)} stays in escrow for the epoch(s) already started or not yet "
            f"reported by the oracle hub; each is paid to the provider (or refunded to you, if "
            f"the node failed it) once its report lands (ape run market settle {lease_id})."
        )


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("lease_id", type=click.IntRange(min=1))
@wrap_config_errors
def settle(account, lease_id):
    """Settle LEASE_ID: pay the provider for every epoch the oracle hub has settled and the node
    passed, refund the customer for those it failed (anyone may call)."""
    suite = suite_or_fail()
    market = suite.market
    lease = _lease(suite, lease_id)
    current = market.currentEpoch()
    settled = suite.hub.nextEpoch()
    epochs, up_to = _due(lease, current, settled)
    if epochs == 0:
        if lease.paidThrough >= lease.endEpoch:
            click.echo(
                f"Lease {lease_id} is fully paid (through epoch {lease.endEpoch - 1}): "
                "nothing to send."
            )
        elif lease.paidThrough < current:
            click.echo(
                f"Nothing to settle yet: epoch {lease.paidThrough} has ended but the oracle hub "
                f"has not settled it (its report is pending: the hub has settled epochs before "
                f"{settled}). Nothing sent."
            )
        else:
            nxt = lease.paidThrough
            click.echo(
                f"Nothing to settle yet: epoch {nxt} is the next to pay; it ends "
                f"{fmt_time(market.epochStart(nxt + 1))}. Nothing sent."
            )
        return
    failed = _refunded(market, lease, up_to)
    if failed:
        click.echo(
            f"The node failed epoch(s) {', '.join(map(str, failed))}: "
            f"{fmt_amount(len(failed) * lease.pricePerEpoch)} goes back to the customer."
        )
    require_not_paused(market, "marketplace")
    receipt = send(
        f"settle lease {lease_id} ({epochs} epoch(s))", market.settle, lease_id, sender=account
    )
    ev = event_args(market, "LeaseSettled", receipt)
    if ev:
        click.echo(
            f"Paid through epoch {ev['paidThrough'] - 1}: {fmt_amount(ev['toProvider'])} to "
            f"the provider, {fmt_amount(ev['fee'])} protocol fee."
        )
    refunded = event_args(market, "LeaseRefunded", receipt)
    if refunded:
        click.echo(
            f"Refunded {fmt_amount(refunded['refund'])} to the customer for "
            f"{refunded['epochs']} failed epoch(s)."
        )


# ---------------------------------------------------------------------------- status


def _span(lease, sep: str) -> str:
    """The epochs a lease covers ('3-7'); 'none' for one closed before it started."""
    if lease.endEpoch <= lease.startEpoch:
        return "none"
    return f"{lease.startEpoch}{sep}{lease.endEpoch - 1}"


def _state(lease, current: int) -> str:
    if lease.closed:
        return "closed"
    if current < lease.startEpoch:
        return f"starts in epoch {lease.startEpoch}"
    if current >= lease.endEpoch:
        return "ended"
    return f"running ({current - lease.startEpoch + 1}/{lease.endEpoch - lease.startEpoch})"


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("lease_id", type=click.IntRange(min=1), required=False)
@click.option(
    "--scan",
    default=1000,
    show_default=True,
    help="how many of the most recent leases to look through for yours",
)
@wrap_config_errors
def status(account, lease_id, scan):
    """Lease LEASE_ID in detail, or a table of the leases of --account."""
    suite = suite_or_fail()
    market, reg = suite.market, suite.registry
    current = market.currentEpoch()
    click.echo(f"Epoch {current} (ends {fmt_time(market.epochStart(current + 1))})")
    if lease_id is not None:
        lease = _lease(suite, lease_id)
        n = reg.getNode(lease.node)
        epochs_due, due_to = _due(lease, current, suite.hub.nextEpoch())
        failed_due = len(_refunded(market, lease, due_to))
        rows = [
            ("lease", lease_id),
            ("customer", lease.customer),
            ("node", f"{lease.node} ({kind_name(n.kind)}, {status_name(n.status)})"),
            ("region", lease.region),
            (
                "epochs",
                _span(lease, " to ") + f" ({max(lease.endEpoch - lease.startEpoch, 0)} epochs)",
            ),
            ("state", _state(lease, current)),
            ("price", f"{fmt_amount(lease.pricePerEpoch)} per epoch (its demand in each epoch)"),
            (
                "paid through",
                f"epoch {lease.paidThrough - 1}"
                if lease.paidThrough > lease.startEpoch
                else "nothing paid yet",
            ),
            (
                "payable now",
                f"{epochs_due - failed_due} epoch(s) to the provider, "
                f"{fmt_amount((epochs_due - failed_due) * lease.pricePerEpoch)}"
                + (f"; {failed_due} failed epoch(s) refunded to the customer" if failed_due else "")
                + " (epochs the oracle hub has settled)",
            ),
            ("escrow left", fmt_amount(market.escrowOf(lease_id))),
        ]
        if bytes(lease.dataRoot) != ZERO32:
            rows.append(("data", f"root 0x{bytes(lease.dataRoot).hex()}, {lease.dataSize:,} bytes"))
        click.echo(fields(rows))
        return
    if account is None:
        raise click.UsageError("give a LEASE_ID, or --account to list your leases")
    total = market.leaseCount()
    rows = []
    escrow = 0
    for i in range(total, max(total - scan, 0), -1):
        lease = market.getLease(i)
        if not same(lease.customer, account.address):
            continue
        left = market.escrowOf(i)
        escrow += left
        paid = f"epoch {lease.paidThrough - 1}" if lease.paidThrough > lease.startEpoch else "-"
        rows.append(
            [
                i,
                short(lease.node),
                kind_name(reg.kindOf(lease.node)),
                lease.region,
                _span(lease, "-"),
                _state(lease, current),
                paid,
                fmt_amount(left),
                fmt_amount(lease.pricePerEpoch),
            ]
        )
    if not rows:
        click.echo(f"{account.address} has no leases among the latest {min(total, scan)}.")
    else:
        click.echo(
            table(
                [
                    "lease",
                    "node",
                    "kind",
                    "region",
                    "epochs",
                    "state",
                    "paid through",
                    "escrow left",
                    "demand/epoch",
                ],
                rows,
                right=(0, 3, 7, 8),
            )
        )
        click.echo(f"\n{len(rows)} lease(s), {fmt_amount(escrow)} in escrow.")
    click.echo(
        f"Market demand: epoch {current} {fmt_amount(market.demandOf(current))}, "
        f"epoch {current + 1} {fmt_amount(market.demandOf(current + 1))}."
    )
