// The chat header's menu: pin the chat to the top of the list, archive it, share it by a link, export it
// (Markdown or JSON, a download); and the share dialog, which makes, copies, lists and revokes links.
import { request, getJSON } from "./api.js";
import { copyButton } from "./clipboard.js";
import { toggleMenu } from "./menu.js";
import { showError } from "./notice.js";
import { $, announce, el } from "./page.js";
import { loadSidebar, showChatState } from "./sidebar.js";
import { state } from "./state.js";

export function openChatMenu() {
  const chat = state.chat || {};
  const exported = (format) => `/api/chats/${state.chatId}/export?format=${format}`;
  toggleMenu($("#chat-menu-button"), "Chat actions", [
    { name: "pin", label: chat.pinned ? "Unpin" : "Pin to the top", action: () => setFlag("pinned", !chat.pinned) },
    { name: "archive", label: chat.archived ? "Unarchive" : "Archive", action: () => setFlag("archived", !chat.archived) },
    { name: "share", label: "Share…", action: openShare },
    { name: "export-markdown", label: "Export as Markdown", href: exported("markdown"), download: true },
    { name: "export-json", label: "Export as JSON", href: exported("json"), download: true },
  ]);
}

const FLAG_NEWS = {
  pinned: ["Pinned to the top of your chats", "Unpinned"],
  archived: ["Archived: it is listed under “Archived chats”", "Back among your chats"],
};

async function setFlag(name, on) {
  try {
    const response = await request(`/api/chats/${state.chatId}`, { method: "PATCH", json: { [name]: on } });
    state.chat = await response.json();
    showChatState();
    announce(FLAG_NEWS[name][on ? 0 : 1]);
    await loadSidebar();
  } catch (error) {
    showError(error.message, null);
  }
}

// ---- sharing --------------------------------------------------------------------------------------------

const shareDialog = $("#share-dialog");
const shareStatus = $("#share-status");

function shareRow(share) {
  const item = el("li", "share");
  const link = el("a", "url", share.url);
  link.href = share.url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  const when = new Date(share.createdAt).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  const about = el("span", "about", share.includeRecordings ? `${when} · with recordings` : when);
  const revoke = el("button", "link danger small", "Revoke");
  revoke.type = "button";
  revoke.setAttribute("aria-label", `Revoke the link made ${when}`);
  revoke.addEventListener("click", () => revokeShare(share));
  const actions = el("span", "share-actions");
  actions.append(copyButton("copy-link", "Copy link", () => share.url, "Copy"), revoke);
  item.append(link, about, actions);
  return item;
}

async function listShares() {
  const list = $("#share-list");
  try {
    const { shares } = await getJSON(`/api/chats/${state.chatId}/shares`);
    list.replaceChildren(...shares.map(shareRow));
    $("#share-none").hidden = shares.length > 0;
  } catch (error) {
    shareStatus.textContent = error.message;
  }
}

async function openShare() {
  shareStatus.textContent = "";
  $("#share-recordings").checked = false;
  $("#share-created").hidden = true;
  shareDialog.showModal();
  await listShares();
}

async function createShare() {
  shareStatus.textContent = "";
  const includeRecordings = $("#share-recordings").checked;
  try {
    const response = await request(`/api/chats/${state.chatId}/share`, { method: "POST", json: { includeRecordings } });
    const share = await response.json();
    const url = $("#share-url");
    url.value = share.url;
    $("#share-created").hidden = false;
    url.focus();
    url.select();
    shareStatus.textContent = "Link made: anyone who has it can read this chat as it is now.";
    await listShares();
  } catch (error) {
    shareStatus.textContent = error.message;
  }
}

async function revokeShare(share) {
  try {
    await request(`/api/shares/${share.id}`, { method: "DELETE" });
    if ($("#share-url").value === share.url) $("#share-created").hidden = true;
    shareStatus.textContent = "Link revoked: it opens nothing any more.";
    await listShares();
    $("#create-share").focus(); // its row is gone
  } catch (error) {
    shareStatus.textContent = error.message;
  }
}

$("#create-share").addEventListener("click", createShare);
$("#share-created").append(copyButton("copy-link", "Copy link", () => $("#share-url").value, "Copy link"));
