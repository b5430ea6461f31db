"""The oracle's view of the chain: one thin typed wrapper over the deployed suite, web3.py at
run time (Ape is for scripts and tests). Reads are batched; the only writes are
`submit_report` and `settle` helpers the submit stage calls. Every RPC failure or revert comes
out as ChainError with the contract's custom error decoded by name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address
from web3 import HTTPProvider, Web3
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    TransactionNotFound,
    Web3Exception,
)

from oracle.protocol import bls
from oracle.protocol.eip712 import EpochReport, report_digest
from oracle.protocol.hardware import HardwareClaim, NodeKind, NodeStatus

ROOT = Path(__file__).resolve().parents[2]
ABI_DIR = ROOT / "abi"
CONTRACTS = (
    "PlinthToken",
    "NodeRegistry",
    "StakingVault",
    "Marketplace",
    "RewardsDistributor",
    "EmissionsController",
    "SlashingManager",
    "OracleHub",
)
_BATCH = 200  # calls per JSON-RPC batch


class ChainError(RuntimeError):
    """An RPC failure, a revert (with the custom error's name and arguments) or a deployment
    that does not match the chain."""


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    genesis: int
    epoch_duration: int
    addresses: dict[str, str]

    @classmethod
    def from_record(cls, record: dict) -> Deployment:
        """From a deployment record (what `ape run deploy` writes to deployments/)."""
        return cls(
            chain_id=int(record["chain_id"]),
            genesis=int(record["genesis"]),
            epoch_duration=int(record["epoch_duration"]),
            addresses={n: to_checksum_address(record["contracts"][n]) for n in CONTRACTS},
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Deployment:
        path = Path(path)
        try:
            return cls.from_record(json.loads(path.read_text()))
        except FileNotFoundError:
            raise ChainError(f"no deployment file at {path}: run `ape run deploy`") from None
        except (KeyError, ValueError, TypeError) as exc:
            raise ChainError(f"{path} is not a Plinth deployment record: {exc!r}") from None


def load_abis(manifest: str | Path | None = None) -> dict[str, list]:
    """The contracts' ABIs: the committed abi/*.json (tools/export_abi.py; CI checks they match
    the contracts), or those of an Ape build manifest (`make compile` writes
    .build/__local__.json) when `manifest` is given."""
    if manifest is None:
        abis = {}
        for name in CONTRACTS:
            path = ABI_DIR / f"{name}.json"
            try:
                abis[name] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise ChainError(f"cannot read {path} ({exc}): run `make abi`") from None
        return abis
    try:
        types = json.loads(Path(manifest).read_text())["contractTypes"]
        return {name: types[name]["abi"] for name in CONTRACTS}
    except FileNotFoundError:
        raise ChainError(f"no compiled contracts at {manifest}: run `make compile`") from None
    except KeyError as exc:
        raise ChainError(f"{manifest} lacks contract {exc.args[0]}: run `make compile`") from None


@dataclass(frozen=True)
class NodeInfo:
    node: str
    owner: str
    kind: NodeKind
    status: NodeStatus
    region: int
    endpoint: str
    hardware: HardwareClaim
    eligible: bool


@dataclass(frozen=True)
class LeaseInfo:
    lease_id: int
    customer: str
    node: str
    start_epoch: int
    end_epoch: int
    closed: bool
    data_root: bytes
    data_size: int
    confirmed: bool = False  # the node's DataReceipt is on the chain (Marketplace.confirmData)
    price_per_epoch: int = 0  # what the customer pays per epoch (base units)
    fee_bps: int = 0  # the protocol fee on it, fixed when the lease opened

    def active_in(self, epoch: int) -> bool:
        return self.start_epoch <= epoch < self.end_epoch

    @property
    def fee_per_epoch(self) -> int:
        """The protocol fee the lease pays per epoch (what a storage node's reward follows)."""
        return self.price_per_epoch * self.fee_bps // 10_000


@dataclass(frozen=True)
class SignedTx:
    raw: bytes
    hash: bytes
    nonce: int
    gas_price: int


class Chain:
    def __init__(
        self, rpc_url: str, deployment: Deployment, abis: dict[str, list], timeout_s: float = 10.0
    ):
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
        self.deployment = deployment
        chain_id = self._rpc(lambda: self.w3.eth.chain_id, "eth_chainId")
        if chain_id != deployment.chain_id:
            raise ChainError(
                f"the RPC at {rpc_url} is chain {chain_id}; the deployment is for chain "
                f"{deployment.chain_id}"
            )
        self.chain_id = chain_id
        for name, address in deployment.addresses.items():
            code = self._rpc(lambda a=address: self.w3.eth.get_code(a), "eth_getCode")
            if not code:
                raise ChainError(
                    f"no contract at {address} ({name}) on chain {chain_id} at {rpc_url}: the "
                    "deployment record is for another chain (a restarted anvil?): run "
                    "`ape run deploy` again, or point [chain] deployment at the right record"
                )
        self.c = {
            name: self.w3.eth.contract(address=deployment.addresses[name], abi=abis[name])
            for name in CONTRACTS
        }
        self._errors = _error_table(abis)
        self._max_gap: int | None = None

    # ------------------------------------------------------------------ plumbing
    def _rpc(self, fn, what: str):
        try:
            return fn()
        except ContractCustomError as exc:
            raise ChainError(f"{what} reverted: {self.decode_error(exc.data)}") from None
        except ContractLogicError as exc:
            raise ChainError(f"{what} reverted: {exc}") from None
        except (Web3Exception, OSError, ValueError) as exc:
            raise ChainError(f"{what} failed: {exc}") from None

    def decode_error(self, data: Any) -> str:
        """'Name(arg=value, ...)' for a custom error's revert data, else the raw data."""
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data or b"")
        entry = self._errors.get(raw[:4])
        if entry is None:
            return "0x" + raw.hex()
        name, types, names = entry
        try:
            values = decode(types, raw[4:])
        except Exception:  # eth-abi raises several decoding errors
            return f"{name}(<undecodable>)"
        args = ", ".join(f"{n}={_show(v)}" for n, v in zip(names, values, strict=True))
        return f"{name}({args})"

    def call(self, contract: str, fn: str, *args):
        return self._rpc(
            lambda: getattr(self.c[contract].functions, fn)(*args).call(), f"{contract}.{fn}"
        )

    def batch(self, calls: list[tuple[str, str, tuple]]) -> list:
        """Many view calls in JSON-RPC batches of up to 200."""
        out: list = []
        for i in range(0, len(calls), _BATCH):
            chunk = calls[i : i + _BATCH]

            def run(chunk=chunk):
                with self.w3.batch_requests() as b:
                    for contract, fn, args in chunk:
                        b.add(getattr(self.c[contract].functions, fn)(*args))
                    return b.execute()

            out.extend(self._rpc(run, f"batch of {len(chunk)} calls"))
        return out

    # ------------------------------------------------------------------ reads
    def current_epoch(self) -> int:
        return self.call("Marketplace", "currentEpoch")

    def balance(self, address: str) -> int:
        """The account's balance in wei."""
        return int(self._rpc(lambda: self.w3.eth.get_balance(address), "eth_getBalance"))

    def timestamp(self) -> int:
        """The latest block's timestamp: the chain's clock."""
        return int(self._rpc(lambda: self.w3.eth.get_block("latest")["timestamp"], "eth_getBlock"))

    def epoch_start(self, epoch: int) -> int:
        return self.deployment.genesis + epoch * self.deployment.epoch_duration

    def next_report_epoch(self) -> int:
        return self.call("OracleHub", "nextEpoch")

    def max_epoch_gap(self) -> int:
        """How far past `nextEpoch` a report may be (a constant of the hub)."""
        if self._max_gap is None:
            self._max_gap = int(self.call("OracleHub", "MAX_EPOCH_GAP"))
        return self._max_gap

    def last_digest(self) -> bytes:
        """The first 20 bytes of the digest of the last report the hub accepted (zero before
        the first): what the next report's parent must begin with (the hub keeps no more)."""
        return bytes(self.call("OracleHub", "lastDigest"))

    def committee(self) -> tuple[int, int, list[str]]:
        """(version, threshold, members)."""
        version, threshold, members = self.batch(
            [
                ("OracleHub", "committeeVersion", ()),
                ("OracleHub", "threshold", ()),
                ("OracleHub", "committee", ()),
            ]
        )
        return version, threshold, list(members)

    def budget(self, epoch: int, failed_demand: int = 0) -> int:
        """The epoch's emission budget; with `failed_demand`, the budget the hub will allow for
        a report that lists failed leases paying that much (their demand does not count)."""
        if not failed_demand:
            return self.call("EmissionsController", "budgetOf", epoch)
        demand, cap, supply = self.batch([
            ("Marketplace", "demandOf", (epoch,)),
            ("PlinthToken", "cap", ()),
            ("PlinthToken", "totalSupply", ()),
        ])  # fmt: skip
        paid = max(int(demand) - failed_demand, 0)
        return self.call("EmissionsController", "budgetFor", epoch, paid, int(cap) - int(supply))

    def nodes(self) -> list[NodeInfo]:
        """Every registered node with its eligibility (batched; no on-chain loop)."""
        count = self.call("NodeRegistry", "nodeCount")
        keys = self.batch([("NodeRegistry", "nodeAt", (i,)) for i in range(count)])
        infos = self.batch([("NodeRegistry", "getNode", (k,)) for k in keys])
        eligible = self.batch([("NodeRegistry", "isEligible", (k,)) for k in keys])
        return [_node_info(k, n, e) for k, n, e in zip(keys, infos, eligible, strict=True)]

    def leases(self) -> list[LeaseInfo]:
        count = self.call("Marketplace", "leaseCount")
        ids = range(1, count + 1)
        raw = self.batch([("Marketplace", "getLease", (i,)) for i in ids])
        held = self.batch([("Marketplace", "dataConfirmed", (i,)) for i in ids])
        return [_lease_info(i, r, h) for i, r, h in zip(ids, raw, held, strict=True)]

    def accepted_report(self, epoch: int) -> tuple[bytes, bytes] | None:
        """(digest, transaction hash) of the accepted report of `epoch`, from the hub's log;
        None if none."""
        hub = self.c["OracleHub"]
        logs = self._rpc(
            lambda: hub.events.ReportAccepted.get_logs(
                from_block=0, argument_filters={"epoch": epoch}
            ),
            "ReportAccepted logs",
        )
        if not logs:
            return None
        return bytes(logs[-1]["args"]["digest"]), bytes(logs[-1]["transactionHash"])

    def report_digest(self, epoch: int) -> bytes | None:
        """The digest of the accepted report of `epoch`; None if none."""
        accepted = self.accepted_report(epoch)
        return None if accepted is None else accepted[0]

    def epoch_seed(self, epoch: int) -> bytes:
        """keccak256(previous report digest || hash of the first block of `epoch`): fixed once
        that block exists, unknown before it, and no single party chooses it."""
        start = self.epoch_start(epoch)
        block = self._first_block_at(start)
        if block is None:
            raise ChainError(f"epoch {epoch} has not started (no block at or after {start})")
        previous = b"\x00" * 32
        hub = self.c["OracleHub"]
        logs = self._rpc(
            lambda: hub.events.ReportAccepted.get_logs(from_block=0, to_block=block["number"]),
            "ReportAccepted logs",
        )
        if logs:
            previous = bytes(logs[-1]["args"]["digest"])
        return keccak(previous + bytes(block["hash"]))

    def _first_block_at(self, timestamp: int):
        head = self._rpc(lambda: self.w3.eth.get_block("latest"), "latest block")
        if head["timestamp"] < timestamp:
            return None
        lo, hi = 0, head["number"]
        while lo < hi:  # first block with timestamp >= `timestamp`, O(log n) requests
            mid = (lo + hi) // 2
            if self._rpc(lambda m=mid: self.w3.eth.get_block(m), "block")["timestamp"] < timestamp:
                lo = mid + 1
            else:
                hi = mid
        return self._rpc(lambda: self.w3.eth.get_block(lo), "block")

    # ------------------------------------------------------------------ writes
    def submit_report(
        self,
        account,
        report: EpochReport,
        signatures: bytes,
        nonce: int | None = None,
        gas_price: int | None = None,
    ) -> bytes:
        """Signs and sends submitReport from `account` (an eth-account LocalAccount). The
        estimate runs first, so a report the hub would refuse never costs gas; returns the
        transaction hash."""
        fn = self.report_call(report, signatures)
        return self._send(account, fn, "submitReport", nonce, gas_price)

    def skip_epochs(self, account, timeout_s: float = 60.0) -> int:
        """Sends OracleHub.skipEpochs from `account` and waits for it: after an outage longer
        than MAX_EPOCH_GAP epochs, moves the hub's nextEpoch forward (at most that many epochs;
        nothing is minted for them). Returns the hub's nextEpoch afterwards. Raises ChainError
        (NothingToSkip when there was nothing to skip, e.g. another oracle just did)."""
        fn = self.c["OracleHub"].functions.skipEpochs()
        receipt = self.receipt(self._send(account, fn, "skipEpochs"), timeout_s)
        if receipt["status"] != 1:
            raise ChainError("skipEpochs reverted")
        return self.next_report_epoch()

    def report_call(self, report: EpochReport, signatures: bytes):
        """The hub's submitReport call for `report` with packed ECDSA `signatures`."""
        return self.c["OracleHub"].functions.submitReport(report.as_tuple(), signatures)

    def prepare(
        self, account, fn, what: str, nonce: int | None = None, gas_price: int | None = None
    ) -> SignedTx:
        """`fn` from `account` as a signed transaction, not yet sent: its hash is known (and
        can be recorded) before the broadcast. The estimate runs first, so a call the contract
        would refuse raises ChainError (its custom error decoded) and never costs gas."""

        def build() -> SignedTx:
            n = (
                self.w3.eth.get_transaction_count(account.address, "pending")
                if nonce is None
                else nonce
            )
            price = self.w3.eth.gas_price if gas_price is None else gas_price
            tx = fn.build_transaction(
                {"from": account.address, "nonce": n, "chainId": self.chain_id, "gasPrice": price}
            )
            signed = account.sign_transaction(tx)
            return SignedTx(bytes(signed.raw_transaction), bytes(signed.hash), n, price)

        return self._rpc(build, what)

    def broadcast(self, tx: SignedTx) -> bytes:
        self._rpc(lambda: self.w3.eth.send_raw_transaction(tx.raw), "send transaction")
        return tx.hash

    def _send(
        self, account, fn, what: str, nonce: int | None = None, gas_price: int | None = None
    ) -> bytes:
        return self.broadcast(self.prepare(account, fn, what, nonce, gas_price))

    def gas_price(self) -> int:
        return self._rpc(lambda: self.w3.eth.gas_price, "gas price")

    def receipt_now(self, tx_hash: bytes):
        """The receipt of `tx_hash` if it is mined, else None (pending, or dropped)."""
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        except (Web3Exception, OSError, ValueError) as exc:
            raise ChainError(f"receipt failed: {exc}") from None

    def receipt(self, tx_hash: bytes, timeout_s: float = 60.0):
        return self._rpc(
            lambda: self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout_s),
            "receipt",
        )

    # ------------------------------------------------------------------ BLS (oracle.protocol.bls)
    def scheme(self) -> str:
        """How the current committee signs reports: "ecdsa" or "bls"."""
        return ("ecdsa", "bls")[self.call("OracleHub", "scheme")]

    def committee_bls_keys(self) -> list[tuple[int, int]]:
        """The G1 keys (x, y) the hub checks the current BLS committee's reports against, in
        committee order (snapshotted when the committee was set); [] under ECDSA."""
        return [tuple(k) for k in self.call("OracleHub", "committeeBlsKeys")]

    def submit_report_bls(
        self,
        account,
        report: EpochReport,
        signers_bitmap: int,
        sigma,
        apk2,
        nonce: int | None = None,
        gas_price: int | None = None,
    ) -> bytes:
        """Like submit_report, with one BLS aggregate: `sigma` the sum of the signers'
        signatures, `apk2` the sum of their G2 keys (py_ecc points, or their 64- and 128-byte
        encodings), bit i of `signers_bitmap` the i-th member of the sorted committee. Sends
        submitReportBlsWithHint with the hash-to-curve witness (cheaper than submitReportBls)."""
        fn = self.report_call_bls(report, signers_bitmap, sigma, apk2)
        return self._send(account, fn, "submitReportBlsWithHint", nonce, gas_price)

    def report_call_bls(self, report: EpochReport, signers_bitmap: int, sigma, apk2):
        """The hub's submitReportBlsWithHint call (see submit_report_bls)."""
        sigma = bls.decode_g1(sigma) if isinstance(sigma, bytes | bytearray) else sigma
        apk2 = bls.decode_g2(apk2) if isinstance(apk2, bytes | bytearray) else apk2
        digest = report_digest(report, self.chain_id, self.deployment.addresses["OracleHub"])
        fn = self.c["OracleHub"].functions.submitReportBlsWithHint(
            report.as_tuple(),
            signers_bitmap,
            bls.g1_abi(sigma),
            bls.g2_abi(apk2),
            bls.hash_hint(bls.REPORT_DST, digest),
        )
        return fn

    def register_bls_key(self, account, sk: int) -> bytes:
        """Registers `account`'s BLS key (secret `sk`) at the hub with its proof of possession
        for this chain, hub and account; it takes effect at the next setCommittee."""
        pk1, pk2 = bls.public_keys(sk)
        hub = self.deployment.addresses["OracleHub"]
        pop = bls.prove_possession(sk, self.chain_id, hub, account.address)
        fn = self.c["OracleHub"].functions.registerBlsKey(
            bls.g1_abi(pk1), bls.g2_abi(pk2), bls.g1_abi(pop)
        )
        return self._send(account, fn, "registerBlsKey")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _error_table(abis: dict[str, list]) -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for abi in abis.values():
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [i["type"] for i in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            table[selector] = (item["name"], types, [i["name"] for i in item["inputs"]])
    return table


def _node_info(key: str, n: Any, eligible: bool) -> NodeInfo:
    # getNode returns the Node struct as a tuple in declaration order (see INodeRegistry).
    owner, kind, status, region, _faults, _registered, _jailed, hw, endpoint = n
    return NodeInfo(
        node=to_checksum_address(key),
        owner=to_checksum_address(owner),
        kind=NodeKind(kind),
        status=NodeStatus(status),
        region=region,
        endpoint=endpoint,
        hardware=HardwareClaim(*hw),
        eligible=bool(eligible),
    )


def _lease_info(lease_id: int, r: Any, confirmed: bool = False) -> LeaseInfo:
    customer, node, _region, start, end, _paid, closed, price, fee_bps, root, size = r
    return LeaseInfo(
        lease_id,
        to_checksum_address(customer),
        to_checksum_address(node),
        start,
        end,
        bool(closed),
        bytes(root),
        size,
        bool(confirmed),
        int(price),
        int(fee_bps),
    )
