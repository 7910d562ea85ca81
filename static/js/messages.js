// The conversation's messages: a node per message, a reply growing token by token (markdown.js renders it),
// its thinking, one block per tool call, the clarifying question's options, the details line, and a row
// with the versions ("‹ 2 / 3 ›"), Copy, the feedback thumbs and the buttons that reshape the conversation
// (edit, regenerate, continue, delete).
// A click on an option is the composer's to answer, a click on a reshaping button shaping.js's (app.js
// listens on the message list for both).
import { request } from "./api.js";
import { copyButton } from "./clipboard.js";
import { appendText, finishStream, plainText, setText, showHtml, stopStream, streamInto } from "./markdown.js";
import { showError } from "./notice.js";
import { $, el, els, layout } from "./page.js";
import { state } from "./state.js";

export function messageNode(id, role, seq) {
  let node = state.nodes.get(id);
  if (node) return node;
  node = el("article", `msg ${role}`);
  node.dataset.id = id;
  node.dataset.seq = seq ?? "";
  node.append(el("div", "who", role === "user" ? "You" : "Assistant"));
  const thinking = el("details", "thinking");
  thinking.hidden = true;
  thinking.append(el("summary", "", "Thinking"), el("div", "thinking-text"));
  node.append(thinking, el("div", "tools"), el("div", "status-line"), el("div", "body"), el("div", "details"));
  if (role === "user") {
    // Copyable as soon as it is sent (renderSaved gives it the saved text's button).
    const row = el("div", "actions");
    row.append(copyButton("copy-message", "Copy message", () => node.querySelector(".body").textContent));
    node.append(row);
  }
  $(".empty")?.remove();
  const after = [...els.messages.children].find((other) => Number(other.dataset.seq) > Number(seq ?? Infinity));
  els.messages.insertBefore(node, after ?? null);
  state.nodes.set(id, node);
  return node;
}

/** Takes a message out of the page (it is not on the branch shown any more). */
export function forgetNode(id) {
  state.nodes.get(id)?.remove();
  state.nodes.delete(id);
  stopStream(state.streams.get(id));
  state.streams.delete(id);
  state.messages.delete(id);
}

export function setStatus(node, text) {
  node.querySelector(".status-line").textContent = text || "";
}

function streamingBody(node) {
  // A token's text is appended at once; the markdown is rendered at most once a frame, never per token.
  let view = state.streams.get(node.dataset.id);
  if (!view) {
    view = streamInto(node.querySelector(".body"), keepingScroll);
    node.classList.add("streaming");
    state.streams.set(node.dataset.id, view);
  }
  return view;
}

export function streamed(node) {
  return Boolean(state.streams.get(node.dataset.id)?.source);
}

export function appendToken(node, text) {
  if (node.querySelector(".status-line").textContent) setStatus(node, "");
  appendText(streamingBody(node), text);
  scrollDown();
}

/** A reply that goes on where it stopped (continueMessageId): it streams again from the text it has. */
export function resumeStream(node) {
  const id = node.dataset.id;
  if (state.streams.has(id)) return; // already streaming (a page loaded mid-continuation shows the text)
  node.className = "msg assistant streaming";
  node.querySelector(".badge.stopped")?.remove();
  node.querySelector(".actions")?.remove();
  setText(streamingBody(node), state.messages.get(id)?.content ?? "");
}

export function appendThinking(node, text) {
  const details = node.querySelector(".thinking");
  details.hidden = false;
  details.querySelector(".thinking-text").append(text);
}

export function scrollDown() {
  const box = els.messages;
  if (box.scrollHeight - box.scrollTop - box.clientHeight < 200) box.scrollTop = box.scrollHeight;
}

// A render can grow a reply by many lines at once: whether to follow it is decided before it grows.
function keepingScroll(render) {
  const box = els.messages;
  const following = box.scrollHeight - box.scrollTop - box.clientHeight < 200;
  render();
  if (following) box.scrollTop = box.scrollHeight;
}

// ---- tools: one compact block per call, which opens to its arguments and result ----------------------

function toolBlock(node, id) {
  const box = node.querySelector(".tools");
  let block = [...box.children].find((child) => child.dataset.callId === id);
  if (!block) {
    block = el("details", "tool-call running");
    block.dataset.callId = id;
    block.append(el("summary"), el("div", "tool-args"), el("div", "tool-result"));
    box.append(block);
  }
  return block;
}

export function showToolCall(node, call) {
  const block = toolBlock(node, call.id);
  const done = call.ok !== undefined;
  block.className = `tool-call ${done ? (call.ok ? "ok" : "failed") : "running"}`;
  block.dataset.name = call.name;
  const summary = done
    ? `${call.ok ? "✓" : "✗"} ${call.name} · ${call.durationMs} ms`
    : call.label || `${call.name}…`;
  block.querySelector("summary").textContent = summary;
  if (call.arguments !== undefined) {
    const args = typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments, null, 2);
    block.querySelector(".tool-args").replaceChildren(el("strong", "", "Arguments"), el("pre", "", args));
  }
  if (done) {
    block.querySelector(".tool-result").replaceChildren(
      el("strong", "", call.ok ? "Result" : "Error"),
      el("pre", "", call.content),
    );
  }
}

// ---- a saved message -------------------------------------------------------------------------------

function showClarification(node, clarification, answerable) {
  node.querySelector(".clarify")?.remove();
  if (!clarification?.options?.length || !answerable) return;
  const box = el("div", "clarify");
  for (const option of clarification.options) {
    const button = el("button", "option", option);
    button.type = "button";
    button.dataset.option = option;
    box.append(button);
  }
  node.append(box);
}

export function badge(node, text, kind) {
  const who = node.querySelector(".who");
  if (!who.querySelector(`.badge.${kind}`)) who.append(el("span", `badge ${kind}`, text));
}

function detailsLine(message) {
  const parts = [];
  if (message.audio) {
    parts.push(`voice ${(message.audio.durationMs / 1000).toFixed(1)} s`);
    parts.push(`transcribed in ${message.audio.transcriptionMs} ms`);
  }
  const { ttftMs, durationMs } = message.timings || {};
  if (ttftMs != null) parts.push(`first token ${ttftMs} ms`);
  if (message.usage) {
    const seconds = (durationMs - ttftMs) / 1000;
    if (message.usage.completionTokens && seconds > 0) {
      parts.push(`${(message.usage.completionTokens / seconds).toFixed(1)} tokens/s`);
    }
    parts.push(`${message.usage.totalTokens} tokens`);
  }
  return parts.join(" · ");
}

const THUMB = '<svg class="i" viewBox="0 0 24 24" aria-hidden="true"><path d="M7 10v11H3V10h4zm0 0l4-8a3 3 0 0 1 3 3v4h5.5a2 2 0 0 1 2 2.3l-1.3 8a2 2 0 0 1-2 1.7H7"/></svg>';

function feedbackButtons(message) {
  const box = el("div", "feedback");
  for (const [rating, name] of [["up", "Good answer"], ["down", "Bad answer"]]) {
    const button = el("button", `icon small thumb ${rating}`);
    button.innerHTML = THUMB;
    button.type = "button";
    button.dataset.rating = rating;
    button.setAttribute("aria-label", name);
    button.setAttribute("aria-pressed", String(message.feedback === rating));
    button.addEventListener("click", () => sendFeedback(message.id, rating, box));
    box.append(button);
  }
  return box;
}

const ICONS = {
  edit: '<path d="M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4"/>',
  regenerate: '<path d="M20 12a8 8 0 1 1-2.34-5.66M20 4v5h-5"/>',
  "regenerate-with": '<path d="M16 11a6 6 0 1 1-1.76-4.24M16 3.5v3.5h-3.5"/><path d="M15 16l3 3 3-3"/>',
  continue: '<path d="M5 6l6 6-6 6M13 6l6 6-6 6"/>',
  delete: '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3"/>',
  "previous-version": '<path d="M15 6l-6 6 6 6"/>',
  "next-version": '<path d="M9 6l6 6-6 6"/>',
};

// An icon button the message list's click handler knows by its data-action (shaping.js).
function actionButton(action, name, className = "shape") {
  const button = el("button", `icon small ${className} ${action}`);
  button.type = "button";
  button.dataset.action = action;
  button.title = name;
  button.setAttribute("aria-label", name);
  button.innerHTML = `<svg class="i" viewBox="0 0 24 24" aria-hidden="true">${ICONS[action]}</svg>`;
  return button;
}

// "‹ 2 / 3 ›": which version of its question or reply a message is, and the way to the others.
function versionsBar(message) {
  const ids = message.siblingIds;
  const index = ids.indexOf(message.id);
  const box = el("div", "versions");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", `Version ${index + 1} of ${ids.length}`);
  const previous = actionButton("previous-version", "Previous version", "version");
  const next = actionButton("next-version", "Next version", "version");
  previous.disabled = index <= 0;
  next.disabled = index >= ids.length - 1;
  const count = el("span", "count", `${index + 1} / ${ids.length}`);
  count.setAttribute("aria-hidden", "true"); // the group's name says it
  box.append(previous, count, next);
  return box;
}

// A reply stopped by a person, or cut at the model's length limit, can go on (if nothing follows it: the
// button shows on the branch's last message only, app.css).
function continuable(message) {
  return message.status === "interrupted" || (message.status === "complete" && message.finishReason === "length");
}

// The versions, Copy (a reply copies its markdown), the thumbs on a reply that said something, and the
// buttons that reshape the conversation from this message.
function actionsRow(node, message) {
  const row = el("div", "actions");
  if (message.siblingIds?.length > 1) row.append(versionsBar(message));
  if (message.role === "user") row.append(actionButton("edit", "Edit and resend"));
  if (message.content) row.append(copyButton("copy-message", "Copy message", () => message.content));
  if (message.role === "assistant") {
    // Nothing to rate in a reply that failed before it said anything.
    if (!(message.status === "error" && !message.content)) row.append(feedbackButtons(message));
    if (message.parentId) {
      row.append(actionButton("regenerate", "Regenerate this reply"));
      const other = actionButton("regenerate-with", "Regenerate with another model");
      other.setAttribute("aria-haspopup", "menu");
      other.setAttribute("aria-expanded", "false");
      row.append(other);
    }
    if (continuable(message)) row.append(actionButton("continue", "Continue this reply"));
  }
  const what = message.role === "user" ? "this message and its replies" : "this reply";
  row.append(actionButton("delete", `Delete ${what} and what follows`));
  node.querySelector(".actions")?.remove();
  node.append(row);
}

async function sendFeedback(messageId, rating, box) {
  const pressed = box.querySelector(`[data-rating="${rating}"]`);
  const undo = pressed.getAttribute("aria-pressed") === "true";
  try {
    await request(`/api/messages/${messageId}/feedback`, { method: "POST", json: { rating: undo ? null : rating } });
    for (const button of box.querySelectorAll("button")) button.setAttribute("aria-pressed", "false");
    pressed.setAttribute("aria-pressed", String(!undo));
  } catch (error) {
    showError(error.message, null);
  }
}

export function renderSaved(message) {
  const node = messageNode(message.id, message.role, message.seq);
  state.messages.set(message.id, message);
  node.dataset.seq = message.seq;
  const view = state.streams.get(message.id);
  stopStream(view);
  state.streams.delete(message.id);
  node.className = `msg ${message.role} ${message.status}`;
  node.querySelector(".who").replaceChildren(message.role === "user" ? "You" : "Assistant");
  const body = node.querySelector(".body");
  if (message.status === "streaming") {
    setStatus(node, "thinking…");
    setText(streamingBody(node), message.content);
    return node;
  }
  setStatus(node, "");
  if (message.role === "assistant" && message.html != null) {
    // What streamed is what was saved: its rendering (by the server's rules) stays, every block now closed.
    // Otherwise the server's HTML (rendered and sanitised there) is shown, sanitised again here.
    if (!(view?.source === message.content && finishStream(view))) showHtml(body, message.html);
  } else {
    body.textContent = message.content;
  }
  if (message.reasoning) {
    const details = node.querySelector(".thinking");
    details.hidden = false;
    details.querySelector(".thinking-text").textContent = message.reasoning;
  }
  for (const call of message.toolCalls || []) showToolCall(node, call);
  document.querySelectorAll(".clarify").forEach((box) => box.remove()); // only the latest question is open
  showClarification(node, message.clarification, message.seq >= state.lastSeq);
  if (message.source === "voice") badge(node, "voice", "voice");
  if (message.status === "interrupted") badge(node, "stopped", "stopped");
  if (message.contextTrimmed) {
    badge(node, "shortened history", "trimmed");
    const note = `The ${message.contextTrimmed} oldest messages were left out to fit the model's context.`;
    node.querySelector(".badge.trimmed").title = note;
  }
  if (message.status === "error") {
    badge(node, "error", "error");
    if (!message.content && message.error) body.textContent = message.error.message;
  }
  // Timings and token counts are for operators: shown to staff only.
  if (layout.dataset.staff) node.querySelector(".details").textContent = detailsLine(message);
  actionsRow(node, message);
  if (state.turn?.id === message.id && !state.turn.saved) {
    state.turn.saved = true; // later tokens of it are stale copies
    state.turn.savedAt = Date.now();
    // Screen readers hear a reply once, when it is complete, not each piece as it streams.
    if (message.role === "assistant") $("#announce").textContent = `Reply: ${plainText(body).trim().slice(0, 500)}`;
  }
  state.lastSeq = Math.max(state.lastSeq, message.seq);
  return node;
}
