// Demand (what customers paid) against emissions (what was minted) per epoch: paired SVG bars
// on one scale, with the exact values in each bar's data attributes and title.

import { esc, tokens } from "./format.js";

export function demandChart(rows) {
  // rows: [{epoch, demand: BigInt, minted: BigInt}], oldest first
  if (rows.length === 0) return `<p class="muted">No settled epoch yet.</p>`;
  const W = 800;
  const H = 240;
  const top = 16;
  const bottom = 28;
  const max = rows.reduce((m, r) => [m, r.demand, r.minted].reduce((a, b) => (b > a ? b : a)), 1n);
  const band = (W - 40) / rows.length;
  const bar = Math.min(28, band / 2.5);
  const height = (v) => Number((v * 10000n) / max) / 10000 * (H - top - bottom);
  const bars = rows.map((r, i) => {
    const x0 = 40 + i * band + band / 2 - bar;
    const hd = height(r.demand);
    const hm = height(r.minted);
    return `<g data-epoch="${r.epoch}">
      <rect class="demand" x="${x0.toFixed(1)}" y="${(H - bottom - hd).toFixed(1)}" width="${bar.toFixed(1)}" height="${hd.toFixed(1)}" data-wei="${r.demand}"><title>epoch ${r.epoch} demand ${esc(tokens(r.demand))}</title></rect>
      <rect class="minted" x="${(x0 + bar).toFixed(1)}" y="${(H - bottom - hm).toFixed(1)}" width="${bar.toFixed(1)}" height="${hm.toFixed(1)}" data-wei="${r.minted}"><title>epoch ${r.epoch} minted ${esc(tokens(r.minted))}</title></rect>
      <text x="${(x0 + bar).toFixed(1)}" y="${H - 10}" text-anchor="middle">${r.epoch}</text>
    </g>`;
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="demand and emissions per epoch">
    <text x="4" y="12" class="legend">max ${esc(tokens(max))}</text>
    <line x1="40" y1="${H - bottom}" x2="${W}" y2="${H - bottom}" class="axis"></line>
    ${bars.join("")}
    <g class="legend"><rect class="demand" x="${W - 260}" y="4" width="10" height="10"></rect><text x="${W - 245}" y="13">proven demand (fees)</text>
    <rect class="minted" x="${W - 100}" y="4" width="10" height="10"></rect><text x="${W - 85}" y="13">minted</text></g>
  </svg>`;
}
