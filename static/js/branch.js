// The branch of the conversation this page shows. A chat is a tree of messages (an edited question and a
// regenerated reply are versions of the one they replace); the page shows its active branch, root first
// (GET /api/chats/<ci>/messages), and follows it when this tab or another one moves it: an edit, a
// regenerated reply, another version chosen, a deletion.
import { getJSON } from "./api.js";
import { forgetNode, renderSaved } from "./messages.js";
import { el, els } from "./page.js";
import { state } from "./state.js";

/** The id of the last message shown (the end of the branch), or null. */
export function lastShownId() {
  const shown = els.messages.querySelectorAll(":scope > .msg");
  return shown.length ? shown[shown.length - 1].dataset.id : null;
}

/** Shows `messages` (a branch, root first): the nodes of other branches go, those of this one are
 *  rendered in order. A reply still streaming keeps its node, so the text that came so far stays. */
export function showBranch(messages) {
  const wanted = new Set(messages.map((message) => message.id));
  for (const id of [...state.nodes.keys()]) if (!wanted.has(id)) forgetNode(id);
  state.lastSeq = 0;
  let previous = null;
  for (const message of messages) {
    const streaming = message.status === "streaming" && state.nodes.has(message.id);
    const node = streaming ? state.nodes.get(message.id) : renderSaved(message);
    if (streaming) state.messages.set(message.id, message);
    const place = previous ? previous.nextElementSibling : els.messages.querySelector(":scope > .msg");
    if (place !== node) (previous ? previous.after(node) : els.messages.prepend(node));
    previous = node;
  }
  // Catch-up starts after the last finished message; a reply still streaming is replayed from the event log.
  const finished = messages.filter((message) => message.status !== "streaming");
  state.lastSeq = Math.max(0, ...finished.map((message) => message.seq));
  if (state.turn && !state.turn.saved) state.turn.node = state.nodes.get(state.turn.id) ?? state.turn.node;
  if (!messages.length && state.chatId && !els.messages.querySelector(".empty")) {
    els.messages.append(el("p", "empty", "No messages left in this chat. Type one to go on."));
  }
}

let loading = null;
let again = false;

/** Reads the chat's active branch and shows it. Calls made while one is on its way share it (and it reads
 *  once more, so the newest change is what shows). */
export function reloadBranch() {
  if (!state.chatId) return Promise.resolve();
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    try {
      do {
        again = false;
        const { messages } = await getJSON(`/api/chats/${state.chatId}/messages?limit=1000`);
        if (!again) showBranch(messages);
      } while (again);
    } catch {
      // The socket's next change, or the next page load, shows it.
    } finally {
      loading = null;
    }
  })();
  return loading;
}

/** Takes `id` and every message after it off the page: they are on another branch from now on (an edit
 *  resends a question, a regenerated reply replaces one). */
export function truncateFrom(id) {
  const node = state.nodes.get(id);
  if (!node) return;
  const gone = [node];
  for (let next = node.nextElementSibling; next; next = next.nextElementSibling) {
    if (next.classList.contains("msg")) gone.push(next);
  }
  for (const each of gone) forgetNode(each.dataset.id);
}

// ---- following other tabs -----------------------------------------------------------------------------

/** A saved message pushed over the socket: true if it belongs on the branch shown (already there, or its
 *  next message); otherwise the branch changed elsewhere, and it is read again. */
export function followSaved(message) {
  if (state.nodes.has(message.id) || (message.parentId ?? null) === lastShownId()) return true;
  reloadBranch();
  return false;
}

/** A turn another tab (or program) began: on the branch shown if its reply is the last message shown (a
 *  page loaded while it streams; more of a stopped reply) or its question is; otherwise (a new version of a
 *  reply, a question edited elsewhere) the branch is read again. */
export function followStart(event) {
  const last = lastShownId();
  if (last === event.assistantMessageId || (!event.continues && last === event.userMessage.id)) return;
  reloadBranch();
}

/** The chat changed (`chat_updated`): another version chosen, or messages deleted. */
export function followChat(event) {
  if (event.deletedMessageId || (event.chat?.activeMessageId ?? null) !== lastShownId()) reloadBranch();
}
