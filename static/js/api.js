// Talking to the server: JSON calls with the CSRF token, and a reader for SSE responses.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function errorFrom(response) {
  let code = "http_" + response.status;
  let message = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    if (body.error) ({ code, message } = body.error);
  } catch {
    // Not JSON: keep the generic message.
  }
  return new ApiError(response.status, code, message);
}

export async function request(path, { method = "GET", json, form } = {}) {
  const headers = { "X-CSRFToken": csrfToken() };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "network", "Could not reach the server. Check your connection and try again.");
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function getJSON(path) {
  return (await request(path)).json();
}

// Yields each event of a `text/event-stream` response as it arrives (the JSON of its `data:` lines; `id:`,
// `retry:` and comment lines are skipped). Events may span network reads, so a buffer is kept between them.
export async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6));
      if (data.length) yield JSON.parse(data.join("\n"));
    }
  }
}
