// The sidebar (models, the chat list with pinned chats first, search, archived chats) and the chat's own
// actions: create (from a preset's settings), rename, delete.
import { getJSON, request } from "./api.js";
import { showError } from "./notice.js";
import { $, ask, el, els, layout } from "./page.js";
import { showSettingsState } from "./settings.js";
import { connectSocket } from "./socket.js";
import { state } from "./state.js";

let searchTimer = null;

export function onSearchInput() {
  if (!els.archived.hidden) showArchivedList(false); // a search looks through every chat
  clearTimeout(searchTimer);
  searchTimer = setTimeout(search, 250);
}

async function search() {
  const query = els.search.value.trim();
  if (!query) {
    els.results.hidden = true;
    els.list.hidden = false;
    return;
  }
  try {
    // One row per chat: those whose title matches first, then those with matching messages.
    const { chats } = await getJSON(`/api/search?q=${encodeURIComponent(query)}`);
    if (els.search.value.trim() !== query) return; // a newer search is on its way
    els.results.replaceChildren(
      ...(chats.length ? chats : [null]).map((hit) => {
        const item = el("li");
        if (!hit) {
          item.append(el("span", "none", "No chats match."));
          return item;
        }
        const link = el("a");
        link.href = `/c/${hit.chatInstanceId}/${hit.seq ? `#m${hit.seq}` : ""}`;
        link.title = hit.chatTitle;
        link.append(el("span", "title", hit.chatTitle || "New chat"), el("span", "snippet"));
        // The snippet marks matches with « »: shown as <mark>, the rest as text (never as HTML).
        for (const [index, part] of hit.snippet.split(/[«»]/).entries()) {
          link.lastChild.append(index % 2 ? el("mark", "", part) : document.createTextNode(part));
        }
        item.append(link);
        return item;
      }),
    );
    els.results.hidden = false;
    els.list.hidden = true;
  } catch (error) {
    showError(error.message, null);
  }
}

const PIN = '<svg class="i pin" viewBox="0 0 24 24" aria-hidden="true"><path d="M9 4h6l-1 6 3 3v2H7v-2l3-3-1-6zM12 15v6"/></svg>';

function chatItem(chat) {
  const item = el("li");
  const link = el("a", chat.id === state.chatId ? "current" : "", chat.title || "New chat");
  link.href = `/c/${chat.id}/`;
  link.title = chat.title || "New chat";
  if (chat.id === state.chatId) link.setAttribute("aria-current", "page");
  if (chat.pinned) {
    link.insertAdjacentHTML("afterbegin", PIN);
    link.append(el("span", "visually-hidden", " (pinned)"));
  }
  item.append(link);
  return item;
}

// The list comes a page at a time: the next page loads when its end scrolls into view.
let nextBefore = null;
let loadingMore = false;
const moreObserver = new IntersectionObserver((entries) => {
  if (entries.some((entry) => entry.isIntersecting)) loadMore();
});

// Chats grouped by when they were last active: Today, Yesterday, Previous 7 days, Previous 30 days, then by
// month.
let lastGroup = null;

function groupOf(updatedAt) {
  const day = (date) => new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const then = new Date(updatedAt);
  const days = Math.round((day(new Date()) - day(then)) / 86400000);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days < 7) return "Previous 7 days";
  if (days < 30) return "Previous 30 days";
  return then.toLocaleDateString(undefined, { month: "long", year: "numeric" });
}

function withGroups(chats) {
  const items = [];
  for (const chat of chats) {
    const group = chat.pinned ? "Pinned" : groupOf(chat.updatedAt);
    if (group !== lastGroup) {
      lastGroup = group;
      const header = el("li", "group", group);
      header.setAttribute("role", "presentation");
      items.push(header);
    }
    items.push(chatItem(chat));
  }
  return items;
}

function showPage(chats, next, append) {
  if (!append) lastGroup = null;
  const items = withGroups(chats);
  if (append) els.list.querySelector(".more")?.before(...items);
  else els.list.replaceChildren(...items);
  nextBefore = next;
  let sentinel = els.list.querySelector(".more");
  if (next && !sentinel) {
    sentinel = el("li", "more");
    sentinel.setAttribute("aria-hidden", "true");
    els.list.append(sentinel);
    moreObserver.observe(sentinel);
  } else if (!next && sentinel) {
    moreObserver.unobserve(sentinel);
    sentinel.remove();
  }
}

async function loadMore() {
  if (!nextBefore || loadingMore) return;
  loadingMore = true;
  try {
    const page = await getJSON(`/api/chats?before=${encodeURIComponent(nextBefore)}`);
    showPage(page.chats, page.nextBefore, true);
  } catch (error) {
    showError(error.message, null);
  } finally {
    loadingMore = false;
  }
}

export async function loadSidebar() {
  const [{ models }, page] = await Promise.all([getJSON("/api/models"), getJSON("/api/chats")]);
  const chosen = els.models.value; // on a new chat's page, the model picked (or a preset's)
  state.models = models;
  els.models.replaceChildren(...models.map((m) => Object.assign(el("option", "", m.name), { value: m.id })));
  if (models.some((m) => m.id === chosen)) els.models.value = chosen;
  els.messages.classList.toggle("one-model", models.length < 2); // nothing to regenerate with but it
  showPage(page.chats, page.nextBefore, false);
  state.chat = page.chats.find((chat) => chat.id === state.chatId) || state.chat;
  // An older chat, or an archived one.
  if (state.chatId && !state.chat) state.chat = await getJSON(`/api/chats/${state.chatId}`);
  // The admin's default comes first; in a chat, its own model.
  if (state.chat) els.models.value = state.chat.chatModelId;
  showChatState();
}

/** What the header says of the chat: its title (a page loaded as the first message named it has the
 *  name from the list), its settings, and whether it is archived. */
export function showChatState() {
  if (state.chat?.title && els.title.textContent !== state.chat.title) {
    els.title.textContent = state.chat.title;
    document.title = `${state.chat.title} · Chat`;
  }
  showSettingsState();
  $("#chat-archived").hidden = !state.chat?.archived;
}

// ---- archived chats: a list of their own, in place of the others ----------------------------------------

function showArchivedList(showing) {
  const button = $("#show-archived");
  button.setAttribute("aria-expanded", String(showing));
  button.textContent = showing ? "Back to chats" : "Archived chats";
  els.archived.hidden = !showing;
  els.list.hidden = showing;
}

export async function toggleArchived() {
  const showing = els.archived.hidden;
  showArchivedList(showing);
  if (!showing) return;
  els.results.hidden = true;
  els.search.value = "";
  await loadArchived();
}

async function loadArchived(before = null) {
  try {
    const page = await getJSON(`/api/chats?archived=1&limit=100${before ? `&before=${encodeURIComponent(before)}` : ""}`);
    const items = page.chats.map((chat) => {
      const item = chatItem(chat);
      const restore = el("button", "link small", "Unarchive");
      restore.type = "button";
      restore.setAttribute("aria-label", `Unarchive ${chat.title || "New chat"}`);
      restore.addEventListener("click", () => unarchive(chat.id));
      item.append(restore);
      return item;
    });
    if (!before && !items.length) items.push(el("li", "none", "No archived chats."));
    if (page.nextBefore) {
      const more = el("button", "link small", "Show more");
      more.type = "button";
      more.addEventListener("click", () => {
        more.parentElement.remove();
        loadArchived(page.nextBefore);
      });
      const item = el("li", "more-archived");
      item.append(more);
      items.push(item);
    }
    if (before) els.archived.append(...items);
    else els.archived.replaceChildren(...items);
  } catch (error) {
    showError(error.message, null);
  }
}

async function unarchive(chatId) {
  try {
    const chat = await (await request(`/api/chats/${chatId}`, { method: "PATCH", json: { archived: false } })).json();
    if (chatId === state.chatId) state.chat = chat;
    showChatState();
    await Promise.all([loadArchived(), loadSidebar()]);
  } catch (error) {
    showError(error.message, null);
  }
}

// In a chat, choosing a model switches the chat to it (its next replies); on a new chat's page, it is the
// model the chat starts with.
export async function switchModel() {
  if (!state.chatId) return;
  try {
    const chat = await (
      await request(`/api/chats/${state.chatId}`, { method: "PATCH", json: { chatModelId: els.models.value } })
    ).json();
    state.chat = chat;
  } catch (error) {
    if (state.chat) els.models.value = state.chat.chatModelId;
    showError(error.message, null);
  }
}

export async function refreshTitle() {
  // The first message names the chat: show the new title in the header and the sidebar.
  try {
    await loadSidebar(); // which shows the title (showChatState)
  } catch {
    // The next page load shows it.
  }
}

// The page of a new chat has none yet: the first message (or conversation) creates it here.
export async function ensureChat() {
  if (state.chatId) return;
  const draft = state.draft; // the settings chosen on this page (settings.js), from a preset or not
  const body = { chatModelId: els.models.value, ...(draft?.presetId ? { presetId: draft.presetId } : {}) };
  let chat = await (await request("/api/chats", { method: "POST", json: body })).json();
  state.chatId = chat.id;
  state.chat = chat;
  layout.dataset.chatId = chat.id;
  history.replaceState(null, "", `/c/${chat.id}/`);
  $(".chat-actions").hidden = false;
  if (draft && (draft.systemPrompt !== chat.systemPrompt || draft.temperature !== chat.temperature)) {
    const changes = { systemPrompt: draft.systemPrompt, temperature: draft.temperature };
    chat = await (await request(`/api/chats/${chat.id}`, { method: "PATCH", json: changes })).json();
    state.chat = chat;
  }
  state.draft = null;
  showChatState();
  connectSocket();
}

// A new chat is an empty page: the chat exists once its first message is sent (``ensureChat``).
export function newChat() {
  if (!state.chatId) {
    els.input.focus();
    return;
  }
  location.href = "/new/";
}

export async function renameChat() {
  const dialog = $("#rename-dialog");
  const input = $("#rename-input");
  input.value = els.title.textContent;
  const pressed = ask(dialog);
  input.select();
  if ((await pressed) !== "ok" || !input.value.trim()) return;
  const title = input.value;
  try {
    state.chat = await (await request(`/api/chats/${state.chatId}`, { method: "PATCH", json: { title } })).json();
    els.title.textContent = title.trim();
    document.title = `${title.trim()} · Chat`;
    await loadSidebar();
  } catch (error) {
    showError(error.message, null);
  }
}

export async function deleteChat() {
  if ((await ask($("#delete-dialog"))) !== "ok") return;
  try {
    await request(`/api/chats/${state.chatId}`, { method: "DELETE" });
    location.href = "/";
  } catch (error) {
    showError(error.message, null);
  }
}
