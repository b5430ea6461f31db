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

/** Every node the oracle has a result for (all pages of /nodes). */
export async function allNodes(query = "") {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams(query);
    q.set("limit", "1000");
    if (cursor) q.set("cursor", cursor);
    const body = await api(`/nodes?${q}`);
    out.push(...body.nodes);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return out;
}
