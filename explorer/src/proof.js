// The results tree, as oracle/protocol/merkle.py PositionalTree and report.result_leaf build it:
// leaf = keccak256("plinth-result-v1\n" || line), pairs hashed left || right, padded with zero
// hashes to a power of two. Everything here runs in the browser, from the bytes served.

import { concat, keccak256, toUtf8Bytes, ZeroHash } from "ethers";

const TAG = toUtf8Bytes("plinth-result-v1\n");

export function resultLeaf(line) {
  return keccak256(concat([TAG, toUtf8Bytes(line)]));
}

/** The root a proof folds to: siblings from the leaf level up, bit d of index = right. */
export function foldProof(leaf, index, siblings) {
  let node = leaf;
  siblings.forEach((sibling, d) => {
    node = (index >> d) & 1 ? keccak256(concat([sibling, node])) : keccak256(concat([node, sibling]));
  });
  return node;
}

/** The root of a whole results file's lines (the file's header line excluded). */
export function resultsRoot(lines) {
  if (lines.length === 0) return ZeroHash;
  let level = lines.map(resultLeaf);
  let size = 1;
  while (size < level.length) size *= 2;
  while (level.length < size) level.push(ZeroHash);
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(keccak256(concat([level[i], level[i + 1]])));
    level = next;
  }
  return level[0];
}
