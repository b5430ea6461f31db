// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Governed} from "./base/Governed.sol";
import {EpochClock} from "./base/EpochClock.sol";
import {IOracleHub} from "../interfaces/IOracleHub.sol";
import {ISlashingManager} from "../interfaces/ISlashingManager.sol";
import {IEmissionsController} from "../interfaces/IEmissionsController.sol";
import {IRewardsDistributor} from "../interfaces/IRewardsDistributor.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {BN254} from "./lib/BN254.sol";
import {CodeStore} from "./lib/CodeStore.sol";

/// @title OracleHub
/// @notice k-of-n EIP-712 epoch reports from the oracle committee, settled once per epoch, signed
/// with ECDSA or aggregated with BLS on BN254.
/// @dev Gas: two cold SLOADs (the hub's packed state and the last digest), no fresh storage slot
/// per epoch (the last digest is overwritten; the distributor keeps a ring of two roots).
/// ECDSA: one ecrecover and one cold SLOAD per signature. BLS: hash to G1 (a modexp per try,
/// or a mulmod per try with the caller's hint), two ecMul, one 2-pair pairing, and the
/// committee's keys read from a CodeStore (one cold account for the aggregate key, then an ecAdd and a 64-byte copy per non-signer: about
/// 1,000 to 1,500 gas each with the bitmap walk, docs/gas.md).
contract OracleHub is IOracleHub, Governed, EpochClock, EIP712, ReentrancyGuardTransient {
    // ---------------------------------------------------------------- constants
    bytes32 private constant _SLASH_TYPEHASH =
        keccak256("SlashRequest(address node,uint8 reason,uint256 leaseId,uint64 chunkIndex,bytes32 evidence)");
    bytes32 private constant _REPORT_TYPEHASH = keccak256(
        "EpochReport(uint64 epoch,bytes32 parent,uint64 committeeVersion,bytes32 rewardsRoot,uint256 totalRewards,bytes32 resultsRoot,SlashRequest[] slashes,address[] failedNodes,uint256 failedDemand)SlashRequest(address node,uint8 reason,uint256 leaseId,uint64 chunkIndex,bytes32 evidence)"
    );
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
    /// @dev Domain separation tags of the BLS messages (oracle/bls.py).
    bytes32 private constant _REPORT_DST = keccak256("PLINTH-BN254-G1-KECCAK-TAI:report-v1");
    bytes32 private constant _POP_DST = keccak256("PLINTH-BN254-G1-KECCAK-TAI:pop-v1");

    // ---------------------------------------------------------------- storage
    struct HubState {
        uint64 nextEpoch;
        uint64 committeeVersion;
        uint16 threshold;
        uint16 committeeSize;
        uint16 maxSlashes;
        Scheme scheme;
    }

    IEmissionsController private immutable _emissions;
    IRewardsDistributor private immutable _distributor;
    ISlashingManager private immutable _slashing;
    IMarketplace private immutable _marketplace;
    HubState private _state;
    /// @dev The digest of the last report accepted: one slot, overwritten by each report.
    bytes32 private _lastDigest;
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
        _state.nextEpoch = currentEpoch();
        _setCommittee(members, threshold_, Scheme.ECDSA);
        _setMaxSlashes(maxSlashes_);
    }

    // ---------------------------------------------------------------- external
    /// @inheritdoc IOracleHub
    function submitReport(EpochReport calldata report, bytes calldata signatures) external nonReentrant whenNotPaused {
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
    ) external nonReentrant whenNotPaused {
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
    ) external nonReentrant whenNotPaused {
        HubState memory st = _stateFor(Scheme.BLS);
        _checkReport(report, st);
        bytes32 digest = reportDigest(report);
        BN254.G1Point memory h = BN254.hashToG1WithHint(_REPORT_DST, digest, hashHint);
        _verifyBlsAggregate(signers, signature, apkG2, h, st);
        _settle(report, digest);
    }

    /// @inheritdoc IOracleHub
    function skipEpochs() external nonReentrant whenNotPaused returns (uint64 newNext) {
        uint64 next = _state.nextEpoch;
        uint64 current = currentEpoch();
        // The latest ended epoch, current - 1, is reportable while it is at most MAX_EPOCH_GAP
        // past `next`; only beyond that is there anything to skip.
        if (current <= next + MAX_EPOCH_GAP + 1) revert NothingToSkip(next, current);
        uint64 target = current - 1 - MAX_EPOCH_GAP;
        uint64 bound = next + MAX_EPOCH_GAP;
        newNext = target < bound ? target : bound;
        _state.nextEpoch = newNext;
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
        uint256 n = report.slashes.length;
        bytes32[] memory slashHashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ISlashingManager.SlashRequest calldata s = report.slashes[i];
            slashHashes[i] =
                keccak256(abi.encode(_SLASH_TYPEHASH, s.node, s.reason, s.leaseId, s.chunkIndex, s.evidence));
        }
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
                    keccak256(abi.encodePacked(slashHashes)),
                    keccak256(abi.encodePacked(report.failedNodes)),
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
    function lastDigest() external view returns (bytes32) {
        return _lastDigest;
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
        bytes32 last = _lastDigest;
        if (report.parent != last) revert WrongParent(report.parent, last);
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

    /// @dev The hub's state, provided the committee posts with `scheme_`.
    function _stateFor(Scheme scheme_) private view returns (HubState memory st) {
        st = _state;
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

    /// @dev Effects, event, then the calls: mint within budget, record the failed leased nodes,
    /// publish the root, queue slashes.
    function _settle(EpochReport calldata report, bytes32 digest) private {
        uint64 epoch = report.epoch;
        _state.nextEpoch = epoch + 1;
        _lastDigest = digest;
        emit ReportAccepted(
            epoch, digest, report.rewardsRoot, report.resultsRoot, report.totalRewards, report.slashes.length, msg.sender
        );
        _emissions.mintForEpoch(epoch, report.totalRewards, report.failedDemand);
        if (report.failedNodes.length > 0) _marketplace.recordFailures(epoch, report.failedNodes);
        if (report.rewardsRoot != bytes32(0) || report.totalRewards != 0) {
            _distributor.publish(epoch, report.rewardsRoot, report.totalRewards);
        }
        if (report.slashes.length > 0) _slashing.queueSlashes(epoch, report.slashes);
    }

    function _setCommittee(address[] memory members, uint16 threshold_, Scheme scheme_) private {
        uint256 n = members.length;
        if (n == 0 || n > MAX_COMMITTEE || threshold_ > n || 2 * uint256(threshold_) <= n) {
            revert InvalidCommittee(n, threshold_);
        }
        uint64 version = _state.committeeVersion + 1;
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
        _state.threshold = threshold_;
        _state.committeeSize = uint16(n);
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
        _state.maxSlashes = maxSlashes_;
        emit MaxSlashesSet(maxSlashes_);
    }
}
