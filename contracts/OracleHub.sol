// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Governed} from "./base/Governed.sol";
import {EpochClock} from "./base/EpochClock.sol";
import {IOracleHub} from "../interfaces/IOracleHub.sol";
import {ISlashingManager} from "../interfaces/ISlashingManager.sol";
import {IEmissionsController} from "../interfaces/IEmissionsController.sol";
import {IRewardsDistributor} from "../interfaces/IRewardsDistributor.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {BN254} from "./lib/BN254.sol";
import {CodeStore} from "./lib/CodeStore.sol";
import {SumTree} from "./lib/SumTree.sol";

/// @title OracleHub
/// @notice k-of-n EIP-712 epoch reports from the oracle committee, settled once per epoch, signed
/// with ECDSA or aggregated with BLS on BN254.
/// @dev Gas: one cold SLOAD and SSTORE of the hub's packed state (the last digest, the next epoch,
/// the committee's parameters and the pause flag share one slot) and one overwritten slot for
/// the rewards root (a ring of two); the distributor is not called (it reads the roots here at
/// claim time), so settling an epoch writes two slots, neither fresh.
/// ECDSA: one ecrecover and one cold SLOAD per signature. BLS: hash to G1 (a modexp per try,
/// or a mulmod per try with the caller's hint), two ecMul, one 2-pair pairing, and the
/// committee's keys read from a CodeStore (one cold account for the aggregate key, then an ecAdd and a 64-byte copy per non-signer: about
/// 1,000 to 1,500 gas each with the bitmap walk, docs/gas.md).
contract OracleHub is IOracleHub, Governed, EpochClock, EIP712 {
    // ---------------------------------------------------------------- constants
    bytes32 private constant _SLASH_TYPEHASH =
        keccak256("SlashRequest(address node,uint8 reason,uint256 leaseId,uint64 chunkIndex,bytes32 evidence)");
    bytes32 private constant _REPORT_TYPEHASH = keccak256(
        "EpochReport(uint64 epoch,bytes32 parent,uint64 committeeVersion,bytes32 rewardsRoot,uint256 totalRewards,bytes32 resultsRoot,SlashRequest[] slashes,address[] failedNodes,uint256 failedDemand)SlashRequest(address node,uint8 reason,uint256 leaseId,uint64 chunkIndex,bytes32 evidence)"
    );
    /// @dev keccak256 of no bytes: EIP-712's hash of an empty array.
    bytes32 private constant _EMPTY_HASH = keccak256("");
    /// @dev secp256k1n / 2: signatures with a larger s are the malleable twin of a valid one.
    uint256 private constant _HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    /// @inheritdoc IOracleHub
    uint256 public constant MAX_COMMITTEE = 64;
    /// @inheritdoc IOracleHub
    uint64 public constant MAX_EPOCH_GAP = 256;
    /// @inheritdoc IOracleHub
    /// @dev A new failure bit costs up to about 22k gas: 128 of them about 2.9M, which with 64
    /// storage slashes and 64 signatures still fits 2^24.
    uint256 public constant MAX_FAILED_NODES = 128;
    /// @dev A report must fit the mainnet per-transaction gas cap (2^24, EIP-7825) in the worst
    /// case. A storage slash costs about 165k gas (fresh slots + the lease read), a signature
    /// about 7k: 64 storage slashes take about 10.8M gas with 4 signatures and stay under 12M
    /// with 64 signatures and an epoch gap of MAX_EPOCH_GAP (tests/test_oracle_hub.py), while
    /// 100 slashes already exceed 2^24 with 4 signatures.
    uint16 private constant _MAX_SLASHES_CAP = 64;
    /// @dev The low 216 bits of a rewards root entry (see _rewardsRoots).
    uint256 private constant _ROOT_MASK = (1 << 216) - 1;
    /// @dev Domain separation tags of the BLS messages (oracle/bls.py).
    bytes32 private constant _REPORT_DST = keccak256("PLINTH-BN254-G1-KECCAK-TAI:report-v1");
    bytes32 private constant _POP_DST = keccak256("PLINTH-BN254-G1-KECCAK-TAI:pop-v1");

    // ---------------------------------------------------------------- storage
    /// @dev Everything a report reads and writes, in one slot. `lastDigest` is the first 20
    /// bytes of the last accepted report's digest (the full digest is ReportAccepted's topic):
    /// a report's `parent` must match it, which a parent other than the last digest does with
    /// probability 2^-160 (the committee signs the full parent; the check only catches reports
    /// built on an earlier state). Bounds: threshold, size and maxSlashes <= 64, at most 65,535
    /// committee versions, epochs below 2^40.
    struct HubState {
        bytes20 lastDigest;
        uint40 nextEpoch;
        uint16 committeeVersion;
        uint8 threshold;
        uint8 committeeSize;
        uint8 maxSlashes;
        Scheme scheme;
        bool paused;
    }

    IEmissionsController private immutable _emissions;
    IRewardsDistributor private immutable _distributor;
    ISlashingManager private immutable _slashing;
    IMarketplace private immutable _marketplace;
    HubState private _state;
    /// @dev The sealed rewards roots of the two latest epochs with rewards, at index epoch % 2:
    /// the epoch in the top 40 bits, the sealed root's low 216 bits below (second preimages
    /// cost 2^216; the committee, which builds the tree, gains nothing from a collision).
    uint256[2] private _rewardsRoots;
    address[] private _members;
    mapping(address member => uint64 version) private _memberVersion;
    /// @dev The G1 key each operator registered last (with a proof of possession).
    mapping(address operator => BN254.G1Point key) private _blsKeys;
    /// @dev The BLS committee's keys, snapshotted by setCommittee into a CodeStore: 64 bytes
    /// (x, y) per key, their sum first, then member i's at 64 * (i + 1). Read only under BLS.
    address private _blsKeyStore;

    // ---------------------------------------------------------------- constructor
    constructor(
        address initialOwner,
        address initialGuardian,
        IEmissionsController emissions_,
        IRewardsDistributor distributor_,
        ISlashingManager slashing_,
        address[] memory members,
        uint16 threshold_,
        uint16 maxSlashes_
    )
        Governed(initialOwner, initialGuardian)
        EpochClock(emissions_.genesis(), emissions_.epochDuration())
        EIP712("Plinth OracleHub", "1")
    {
        if (address(distributor_) == address(0) || address(slashing_) == address(0)) revert ZeroAddress();
        _emissions = emissions_;
        _distributor = distributor_;
        _slashing = slashing_;
        _marketplace = IMarketplace(emissions_.marketplace());
        _state.nextEpoch = _toEpoch40(currentEpoch());
        _setCommittee(members, threshold_, Scheme.ECDSA);
        _setMaxSlashes(maxSlashes_);
    }

    // ---------------------------------------------------------------- external
    /// @inheritdoc IOracleHub
    function submitReport(EpochReport calldata report, bytes calldata signatures) external {
        HubState memory st = _stateFor(Scheme.ECDSA);
        _checkReport(report, st);
        bytes32 digest = reportDigest(report);
        _verifyEcdsaQuorum(digest, signatures, st);
        _settle(report, digest);
    }

    /// @inheritdoc IOracleHub
    function submitReportBls(
        EpochReport calldata report,
        uint256 signers,
        BN254.G1Point calldata signature,
        BN254.G2Point calldata apkG2
    ) external {
        HubState memory st = _stateFor(Scheme.BLS);
        _checkReport(report, st);
        bytes32 digest = reportDigest(report);
        _verifyBlsAggregate(signers, signature, apkG2, BN254.hashToG1(_REPORT_DST, digest), st);
        _settle(report, digest);
    }

    /// @inheritdoc IOracleHub
    function submitReportBlsWithHint(
        EpochReport calldata report,
        uint256 signers,
        BN254.G1Point calldata signature,
        BN254.G2Point calldata apkG2,
        uint256[] calldata hashHint
    ) external {
        HubState memory st = _stateFor(Scheme.BLS);
        _checkReport(report, st);
        bytes32 digest = reportDigest(report);
        BN254.G1Point memory h = BN254.hashToG1WithHint(_REPORT_DST, digest, hashHint);
        _verifyBlsAggregate(signers, signature, apkG2, h, st);
        _settle(report, digest);
    }

    /// @inheritdoc IOracleHub
    function skipEpochs() external whenNotPaused returns (uint64 newNext) {
        uint64 next = _state.nextEpoch;
        uint64 current = currentEpoch();
        // The latest ended epoch, current - 1, is reportable while it is at most MAX_EPOCH_GAP
        // past `next`; only beyond that is there anything to skip.
        if (current <= next + MAX_EPOCH_GAP + 1) revert NothingToSkip(next, current);
        uint64 target = current - 1 - MAX_EPOCH_GAP;
        uint64 bound = next + MAX_EPOCH_GAP;
        newNext = target < bound ? target : bound;
        _state.nextEpoch = uint40(newNext);
        emit EpochsSkipped(next, newNext, msg.sender);
        _emissions.skipTo(newNext);
    }

    /// @inheritdoc IOracleHub
    function registerBlsKey(BN254.G1Point calldata pk1, BN254.G2Point calldata pk2, BN254.G1Point calldata pop)
        external
    {
        if (!BN254.isValidG1(pk1) || !BN254.isWellFormedG2(pk2)) revert InvalidBlsKey();
        if (!BN254.isValidG1(pop)) revert InvalidProofOfPossession();
        bytes32 message = keccak256(abi.encode(block.chainid, address(this), msg.sender, pk1.x, pk1.y));
        (bool callOk, bool valid) = BN254.pairingCheck(pop, pk1, pk2, BN254.hashToG1(_POP_DST, message));
        if (!callOk) revert InvalidBlsKey();
        if (!valid) revert InvalidProofOfPossession();
        _blsKeys[msg.sender] = pk1;
        emit BlsKeyRegistered(msg.sender, pk1, pk2);
    }

    /// @inheritdoc IOracleHub
    function setCommittee(address[] calldata members, uint16 threshold_, Scheme scheme_) external onlyOwner {
        _setCommittee(members, threshold_, scheme_);
    }

    /// @notice Sets the most slashes one report may list. Owner only.
    /// It has the power to set the cap from 1 to 64 (64 keeps a report within the per-transaction
    /// gas cap), for reports not yet accepted: a signed report with more slashes than the new cap
    /// can no longer be posted.
    function setMaxSlashesPerReport(uint16 maxSlashes_) external onlyOwner {
        _setMaxSlashes(maxSlashes_);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IOracleHub
    function reportDigest(EpochReport calldata report) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    _REPORT_TYPEHASH,
                    report.epoch,
                    report.parent,
                    report.committeeVersion,
                    report.rewardsRoot,
                    report.totalRewards,
                    report.resultsRoot,
                    _slashesHash(report.slashes),
                    report.failedNodes.length == 0 ? _EMPTY_HASH : keccak256(abi.encodePacked(report.failedNodes)),
                    report.failedDemand
                )
            )
        );
    }

    /// @inheritdoc IOracleHub
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IOracleHub
    function lastDigest() external view returns (bytes20) {
        return _state.lastDigest;
    }

    /// @inheritdoc IOracleHub
    function rewardsRoot(uint64 epoch) external view returns (bytes32) {
        uint256 entry = _rewardsRoots[epoch & 1];
        if (entry >> 216 != epoch) return bytes32(0);
        return bytes32(entry & _ROOT_MASK);
    }

    /// @inheritdoc IOracleHub
    function latestRewardsEpoch() external view returns (bool any, uint64 epoch) {
        uint256 a = _rewardsRoots[0];
        uint256 b = _rewardsRoots[1];
        any = a != 0 || b != 0;
        epoch = uint64((a > b ? a : b) >> 216);
    }

    /// @notice Whether the guardian or the owner paused the hub (no report, no skip while
    /// paused). The flag is kept in the hub's state slot.
    function paused() public view override returns (bool) {
        return _state.paused;
    }

    /// @inheritdoc IOracleHub
    function committee() external view returns (address[] memory) {
        return _members;
    }

    /// @inheritdoc IOracleHub
    function committeeVersion() external view returns (uint64) {
        return _state.committeeVersion;
    }

    /// @inheritdoc IOracleHub
    function threshold() external view returns (uint16) {
        return _state.threshold;
    }

    /// @inheritdoc IOracleHub
    function isMember(address account) external view returns (bool) {
        return account != address(0) && _memberVersion[account] == _state.committeeVersion;
    }

    /// @inheritdoc IOracleHub
    function scheme() external view returns (Scheme) {
        return _state.scheme;
    }

    /// @inheritdoc IOracleHub
    function blsKeyOf(address operator) external view returns (BN254.G1Point memory) {
        return _blsKeys[operator];
    }

    /// @inheritdoc IOracleHub
    function committeeBlsKeys() external view returns (BN254.G1Point[] memory keys) {
        HubState memory st = _state;
        if (st.scheme != Scheme.BLS) return keys;
        address store = _blsKeyStore;
        keys = new BN254.G1Point[](st.committeeSize);
        // Bounded: committeeSize <= MAX_COMMITTEE.
        for (uint256 i; i < keys.length; ++i) {
            keys[i] = _storedKey(store, i + 1);
        }
    }

    /// @inheritdoc IOracleHub
    function nextEpoch() external view returns (uint64) {
        return _state.nextEpoch;
    }

    /// @inheritdoc IOracleHub
    function maxSlashesPerReport() external view returns (uint16) {
        return _state.maxSlashes;
    }

    function contracts() external view returns (address emissions, address distributor, address slashing) {
        return (address(_emissions), address(_distributor), address(_slashing));
    }

    // ---------------------------------------------------------------- internal
    function _checkReport(EpochReport calldata report, HubState memory st) private view {
        uint64 epoch = report.epoch;
        uint64 current = currentEpoch();
        if (epoch >= current) revert EpochNotEnded(epoch, current);
        if (epoch < st.nextEpoch) revert StaleEpoch(epoch, st.nextEpoch);
        if (epoch - st.nextEpoch > MAX_EPOCH_GAP) revert EpochGapTooLarge(epoch, st.nextEpoch);
        if (bytes20(report.parent) != st.lastDigest) revert WrongParent(report.parent, st.lastDigest);
        if (report.committeeVersion != st.committeeVersion) {
            revert WrongCommitteeVersion(report.committeeVersion, st.committeeVersion);
        }
        if (report.slashes.length > st.maxSlashes) revert TooManySlashes(report.slashes.length, st.maxSlashes);
        uint256 failed = report.failedNodes.length;
        if (failed > MAX_FAILED_NODES) revert TooManyFailedNodes(failed, MAX_FAILED_NODES);
        address previous;
        for (uint256 i; i < failed; ++i) {
            address node = report.failedNodes[i];
            if (node <= previous) revert FailedNodesNotIncreasing(previous, node);
            previous = node;
        }
    }

    /// @dev At least `threshold` 65-byte signatures (r | s | v), signers strictly increasing
    /// (so each member counts once), each a member of the current committee, low s only.
    function _verifyEcdsaQuorum(bytes32 digest, bytes calldata signatures, HubState memory st) private view {
        uint256 len = signatures.length;
        if (len == 0 || len % 65 != 0) revert InvalidSignaturesLength(len);
        uint256 count = len / 65;
        if (count < st.threshold) revert NotEnoughSignatures(count, st.threshold);
        address previous;
        for (uint256 i; i < count; ++i) {
            bytes32 r;
            bytes32 s;
            uint8 v;
            // Reads 65 bytes at offset 65 * i; the length check above keeps it in bounds.
            assembly ("memory-safe") {
                let p := add(signatures.offset, mul(i, 65))
                r := calldataload(p)
                s := calldataload(add(p, 32))
                v := byte(0, calldataload(add(p, 64)))
            }
            if (uint256(s) > _HALF_N) revert HighSSignature(i);
            if (v != 27 && v != 28) revert InvalidSignature(i);
            address signer = ecrecover(digest, v, r, s);
            if (signer == address(0)) revert InvalidSignature(i);
            if (signer <= previous) revert SignersNotIncreasing(previous, signer);
            if (_memberVersion[signer] != st.committeeVersion) revert NotCommitteeMember(signer);
            previous = signer;
        }
    }

    /// @dev The hub's state, provided it is not paused and the committee posts with `scheme_`.
    function _stateFor(Scheme scheme_) private view returns (HubState memory st) {
        st = _state;
        if (st.paused) revert EnforcedPause();
        if (st.scheme != scheme_) revert WrongScheme(st.scheme);
    }

    /// @dev Checks the aggregate `signature` on the message whose hash to G1 is `h` by the
    /// members in `signers`.
    function _verifyBlsAggregate(
        uint256 signers,
        BN254.G1Point calldata signature,
        BN254.G2Point calldata apkG2,
        BN254.G1Point memory h,
        HubState memory st
    ) private view {
        BN254.G1Point memory apk1 = _signersKey(signers, st);
        if (!BN254.isWellFormedG2(apkG2)) revert InvalidBlsKey();
        if (!BN254.isValidG1(signature)) revert InvalidBlsSignature();
        (bool callOk, bool valid) = BN254.pairingCheck(signature, apk1, apkG2, h);
        if (!callOk) revert InvalidBlsKey();
        if (!valid) revert InvalidBlsSignature();
    }

    /// @dev The signers' aggregate G1 key: bit i of `signers` is member i, at least `threshold`
    /// bits, none at or above the committee size. Computed as the committee's aggregate minus
    /// the non-signers' keys: one key read and ecAdd per non-signer, in a walk over at most
    /// n <= MAX_COMMITTEE bits.
    function _signersKey(uint256 signers, HubState memory st) private view returns (BN254.G1Point memory) {
        uint256 n = st.committeeSize;
        if (signers >> n != 0) revert InvalidSignerBitmap(signers);
        uint256 count = _popcount(signers);
        if (count < st.threshold) revert NotEnoughSignatures(count, st.threshold);
        address store = _blsKeyStore;
        BN254.G1Point memory apk1 = _storedKey(store, 0);
        // The non-signers' bits; n <= MAX_COMMITTEE = 64, so the shift cannot overflow.
        uint256 missing = ((1 << n) - 1) & ~signers;
        if (missing == 0) return apk1;
        BN254.G1Point memory absent;
        for (uint256 i = 1; missing != 0; ++i) {
            if (missing & 1 != 0) absent = BN254.add(absent, _storedKey(store, i));
            missing >>= 1;
        }
        return BN254.add(apk1, BN254.negate(absent));
    }

    /// @dev Key `index` of the committee's CodeStore: 0 the aggregate, i + 1 member i.
    function _storedKey(address store, uint256 index) private view returns (BN254.G1Point memory key) {
        // Fills the two words of `key`; the data starts at code byte 1 (after the STOP).
        assembly ("memory-safe") {
            extcodecopy(store, key, add(1, mul(index, 0x40)), 0x40)
        }
    }

    /// @dev EIP-712's hash of the slashes array: keccak256 of their struct hashes, concatenated.
    function _slashesHash(ISlashingManager.SlashRequest[] calldata slashes) private pure returns (bytes32) {
        uint256 n = slashes.length;
        if (n == 0) return _EMPTY_HASH;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ISlashingManager.SlashRequest calldata s = slashes[i];
            hashes[i] = keccak256(abi.encode(_SLASH_TYPEHASH, s.node, s.reason, s.leaseId, s.chunkIndex, s.evidence));
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /// @dev The number of set bits (SWAR popcount over 64 bits; `x` < 2^64 here).
    function _popcount(uint256 x) private pure returns (uint256) {
        unchecked {
            // Each step sums neighbouring fields; no field exceeds its width, so nothing carries.
            x = x - ((x >> 1) & 0x5555555555555555);
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            return ((x * 0x0101010101010101) >> 56) & 0xff;
        }
    }

    /// @dev Effects, event, then the calls: mint within budget (which returns the total minted
    /// into the distributor since genesis), store the rewards root sealed with that total,
    /// record the failed leased nodes, queue slashes.
    function _settle(EpochReport calldata report, bytes32 digest) private {
        uint64 epoch = report.epoch;
        bytes32 root = report.rewardsRoot;
        uint256 total = report.totalRewards;
        if (root == bytes32(0) && total != 0) revert InvalidRoot();
        _advance(digest, epoch + 1);
        emit ReportAccepted(epoch, digest, report.resultsRoot);
        uint256 emitted = _emissions.mintForEpoch(epoch, total, report.failedDemand);
        if (root != bytes32(0)) {
            _rewardsRoots[epoch & 1] = (uint256(epoch) << 216) | uint256(SumTree.truncate(SumTree.seal(root, emitted)));
        }
        if (report.failedNodes.length > 0) _marketplace.recordFailures(epoch, report.failedNodes);
        if (report.slashes.length > 0) _slashing.queueSlashes(epoch, report.slashes);
    }

    /// @dev Sets the state's lastDigest (the digest's first 20 bytes) and nextEpoch in one write.
    /// Layout (Solidity packs a struct from the low-order end): lastDigest bits 0-159, nextEpoch
    /// bits 160-199. `next` < 2^40: a report's epoch is below currentEpoch(), which stays below
    /// 2^40 while block.timestamp does. tests/test_oracle_hub.py reads both back.
    function _advance(bytes32 digest, uint64 next) private {
        assembly ("memory-safe") {
            let old := sload(_state.slot)
            let low := sub(shl(200, 1), 1)
            sstore(_state.slot, or(and(old, not(low)), or(shl(160, next), shr(96, digest))))
        }
    }

    /// @dev The pause flag lives in the hub's state slot (a report reads it with the rest).
    function _pause() internal override whenNotPaused {
        _state.paused = true;
        emit Paused(msg.sender);
    }

    function _unpause() internal override whenPaused {
        _state.paused = false;
        emit Unpaused(msg.sender);
    }

    function _toEpoch40(uint64 epoch) private pure returns (uint40) {
        if (epoch > type(uint40).max) revert InvalidParameter("epoch", epoch);
        return uint40(epoch);
    }

    function _setCommittee(address[] memory members, uint16 threshold_, Scheme scheme_) private {
        uint256 n = members.length;
        if (n == 0 || n > MAX_COMMITTEE || threshold_ > n || 2 * uint256(threshold_) <= n) {
            revert InvalidCommittee(n, threshold_);
        }
        uint16 version = _state.committeeVersion + 1;
        bool bls = scheme_ == Scheme.BLS;
        // BLS: the keys for the CodeStore, the aggregate first (see _blsKeyStore).
        bytes memory keys = new bytes(bls ? 64 * (n + 1) : 0);
        BN254.G1Point memory aggregate;
        address previous;
        delete _members;
        for (uint256 i; i < n; ++i) {
            address m = members[i];
            if (m <= previous) revert SignersNotIncreasing(previous, m);
            _memberVersion[m] = version;
            _members.push(m);
            if (bls) {
                BN254.G1Point memory key = _blsKeys[m];
                if (BN254.isInfinity(key)) revert MissingBlsKey(m);
                _putKey(keys, i + 1, key);
                aggregate = BN254.add(aggregate, key);
            }
            previous = m;
        }
        if (bls) {
            _putKey(keys, 0, aggregate);
            _blsKeyStore = address(new CodeStore(keys));
        }
        _state.committeeVersion = version;
        _state.threshold = uint8(threshold_);
        _state.committeeSize = uint8(n);
        _state.scheme = scheme_;
        emit CommitteeSet(version, members, threshold_, scheme_);
    }

    /// @dev Writes `key` at 64 * index in `keys` (which must be long enough).
    function _putKey(bytes memory keys, uint256 index, BN254.G1Point memory key) private pure {
        assembly ("memory-safe") {
            let p := add(add(keys, 0x20), mul(index, 0x40))
            mstore(p, mload(key))
            mstore(add(p, 0x20), mload(add(key, 0x20)))
        }
    }

    function _setMaxSlashes(uint16 maxSlashes_) private {
        if (maxSlashes_ == 0 || maxSlashes_ > _MAX_SLASHES_CAP) revert InvalidParameter("maxSlashes", maxSlashes_);
        _state.maxSlashes = uint8(maxSlashes_);
        emit MaxSlashesSet(maxSlashes_);
    }
}
