// The wireless nodes on an H3 hex map: each node's registered cell drawn as its hexagon, with
// the node's position as a dot. No tiles (nothing is fetched): an equirectangular projection of
// the cells' own bounding box, longitudes scaled by the cosine of the mean latitude.

import { cellToBoundary, getResolution, isValidCell } from "h3-js";

import { esc, short } from "./format.js";

const PAD = 24;

const MAX_ON_MAP = 2000; // the clustering is quadratic
const CLUSTER_KM = 20; // nodes farther apart than this from every other get their own panel

function km(a, b) {
  const rad = Math.PI / 180;
  const dlat = (b.lat - a.lat) * rad;
  const dlon = (b.lon - a.lon) * rad;
  const h = Math.sin(dlat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/** Groups of nodes linked by hops of at most CLUSTER_KM (single linkage). */
function clusters(nodes) {
  const left = [...nodes];
  const out = [];
  while (left.length) {
    const group = [left.pop()];
    for (let i = 0; i < group.length; i++) {
      for (let j = left.length - 1; j >= 0; j--) {
        if (km(group[i].location, left[j].location) <= CLUSTER_KM) group.push(left.splice(j, 1)[0]);
      }
    }
    out.push(group);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** The wireless nodes ({node, location: {h3_cell, lat, lon}, reason}) on H3 hex maps: one
 * panel per cluster, each fitted to its cells, so a node claiming a far site stays visible. */
export function hexMap(nodes) {
  const located = nodes
    .filter((n) => n.location && isValidCell(n.location.h3_cell))
    .filter((n) => Number.isFinite(n.location.lat) && Number.isFinite(n.location.lon))
    .slice(0, MAX_ON_MAP);
  if (located.length === 0) return `<p class="muted">No wireless node with a location.</p>`;
  const groups = clusters(located);
  const panels = groups.map((g) => panel(g, groups.length > 1 ? km(groups[0][0].location, g[0].location) : 0));
  return `<div class="maps">${panels.join("")}</div>
    <p class="muted legend">${located.length} wireless nodes in ${groups.length} area(s) · each node's registered H3 cell, its claimed position as a dot · green: latest result ok</p>`;
}

function panel(group, awayKm) {
  const cells = group.map((n) => ({ n, ring: cellToBoundary(n.location.h3_cell) }));
  const W = cells.length > 1 ? 800 : 260;
  const H = cells.length > 1 ? 480 : 260;
  const lats = cells.flatMap((c) => [...c.ring.map((p) => p[0]), c.n.location.lat]);
  const lons = cells.flatMap((c) => [...c.ring.map((p) => p[1]), c.n.location.lon]);
  const [lat0, lat1] = [lats.reduce((a, b) => Math.min(a, b)), lats.reduce((a, b) => Math.max(a, b))];
  const [lon0, lon1] = [lons.reduce((a, b) => Math.min(a, b)), lons.reduce((a, b) => Math.max(a, b))];
  const k = Math.cos((((lat0 + lat1) / 2) * Math.PI) / 180);
  const spanX = Math.max((lon1 - lon0) * k, 1e-6);
  const spanY = Math.max(lat1 - lat0, 1e-6);
  const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
  const x = (lon) => PAD + (lon - lon0) * k * scale + ((W - 2 * PAD) - spanX * scale) / 2;
  const y = (lat) => PAD + (lat1 - lat) * scale + ((H - 2 * PAD) - spanY * scale) / 2;
  const shapes = cells.map(({ n, ring }) => {
    const points = ring.map(([la, lo]) => `${x(lo).toFixed(1)},${y(la).toFixed(1)}`).join(" ");
    const ok = n.reason === "ok";
    const title = `${n.node}\ncell ${n.location.h3_cell} (res ${getResolution(n.location.h3_cell)})\n${n.location.lat}, ${n.location.lon}\nlatest: ${n.reason}`;
    return `<a href="#/node/${esc(n.node)}" class="hex" data-node="${esc(n.node)}" data-cell="${esc(n.location.h3_cell)}">
      <title>${esc(title)}</title>
      <polygon points="${points}" class="${ok ? "ok" : "bad"}"></polygon>
      <circle cx="${x(n.location.lon).toFixed(1)}" cy="${y(n.location.lat).toFixed(1)}" r="3"></circle>
      <text x="${x(n.location.lon).toFixed(1)}" y="${(y(n.location.lat) - 8).toFixed(1)}">${esc(short(n.node))}</text>
    </a>`;
  });
  const c = group[0].location;
  const where = awayKm ? `${awayKm.toFixed(0)} km from the main area` : `around ${c.lat.toFixed(3)}, ${c.lon.toFixed(3)}`;
  return `<figure class="map-panel"><svg class="map" viewBox="0 0 ${W} ${H}" width="${W}" role="img" aria-label="H3 map of ${cells.length} wireless nodes">
    ${shapes.join("")}
    <text x="${PAD}" y="${H - 6}" class="legend">${(spanY * 111.2).toFixed(1)} km north–south</text>
  </svg><figcaption class="muted">${cells.length} node(s) ${esc(where)}</figcaption></figure>`;
}
