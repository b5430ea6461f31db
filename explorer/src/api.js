// The oracle's API, same origin as this page. Every error body is {"error": message}.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  let body;
  try {
    body = await response.json();
  } catch {
    body = { error: `HTTP ${response.status}` };
  }
  if (!response.ok) throw new ApiError(response.status, body.error || `HTTP ${response.status}`);
  return body;
}

export async function text(path) {
  const response = await fetch(path);
  if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
  return response.text();
}

export const MAX_NODES = 20_000; // pages of /nodes read at most (the page says when it stops)

/** Every node the oracle has a result for (all pages of /nodes, up to MAX_NODES). */
export async function allNodes(query = "") {
  const out = [];
  let cursor = null;
  for (let page = 0; page < MAX_NODES / 1000; page++) {
    const q = new URLSearchParams(query);
    q.set("limit", "1000");
    if (cursor) q.set("cursor", cursor);
    const body = await api(`/nodes?${q}`);
    if (!Array.isArray(body.nodes)) throw new ApiError(200, "the oracle's API sent no node list");
    for (const n of body.nodes.slice(0, 1000)) out.push(n);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return out;
}
