// Reshaping the conversation from its messages' buttons: edit a question in place and resend it, regenerate
// a reply (with its model or another), continue a stopped one, delete from a message on, and move between a
// message's versions ("‹ 2 / 3 ›"). The turns themselves are the composer's; the branch shown, branch.js's.
import { request } from "./api.js";
import { reloadBranch } from "./branch.js";
import { continueReply, regenerate, sendEdit } from "./composer.js";
import { toggleMenu } from "./menu.js";
import { showError } from "./notice.js";
import { announce, confirmed, el, els } from "./page.js";
import { state } from "./state.js";

/** The message list's clicks on a message's buttons (app.js listens). */
export function onMessageAction(event) {
  const button = event.target.closest("button[data-action]");
  const node = button?.closest(".msg");
  const message = node && state.messages.get(node.dataset.id);
  if (!message || state.busy) return; // while a reply is written, the conversation stays as it is
  const action = button.dataset.action;
  if (action === "edit") startEdit(node, message);
  else if (action === "regenerate") regenerate(message.id);
  else if (action === "regenerate-with") chooseModel(button, message);
  else if (action === "continue") continueReply(message.id);
  else if (action === "delete") deleteFrom(message);
  else if (action === "previous-version") showVersion(message, -1);
  else if (action === "next-version") showVersion(message, 1);
}

// ---- edit and resend ----------------------------------------------------------------------------------

let editing = null; // {node, form}

// The question's text in a box of its own, with Cancel and "Save & send".
function editForm(text) {
  const form = el("form", "edit-form");
  const area = el("textarea");
  area.value = text;
  area.setAttribute("aria-label", "Edit your message");
  area.title = "Enter sends; Shift+Enter adds a new line; Escape cancels";
  const cancel = el("button", "", "Cancel");
  cancel.type = "button";
  cancel.addEventListener("click", () => cancelEdit());
  const save = el("button", "primary", "Save & send");
  save.type = "submit";
  const row = el("div", "edit-actions");
  row.append(cancel, save);
  form.append(area, row);
  return form;
}

function startEdit(node, message) {
  cancelEdit({ focus: false });
  const form = editForm(message.content);
  const area = form.querySelector("textarea");
  node.dataset.editing = "";
  node.querySelector(".body").after(form);
  editing = { node, form };
  const fit = () => {
    area.style.height = "auto";
    area.style.height = `${Math.min(area.scrollHeight + 2, 320)}px`;
  };
  area.addEventListener("input", fit);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // it cancels the edit only (not a reply, not the drawer)
      cancelEdit();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!area.value.trim() || state.busy) return;
    const text = area.value;
    cancelEdit({ focus: false });
    sendEdit(message, text);
  });
  fit();
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}

function cancelEdit({ focus = true } = {}) {
  if (!editing) return;
  const { node, form } = editing;
  editing = null;
  form.remove();
  delete node.dataset.editing;
  if (focus) node.querySelector('[data-action="edit"]')?.focus();
}

// ---- versions -------------------------------------------------------------------------------------------

async function showVersion(message, step) {
  const ids = message.siblingIds;
  const index = ids.indexOf(message.id) + step;
  const target = ids[index];
  if (!target) return;
  try {
    const response = await request(`/api/chats/${state.chatId}`, { method: "PATCH", json: { activeMessageId: target } });
    state.chat = await response.json();
    await reloadBranch();
  } catch (error) {
    showError(error.message, null);
    return;
  }
  announce(`Version ${index + 1} of ${ids.length}`);
  // The focus stays on the switcher, now the one of the version shown.
  const versions = state.nodes.get(target)?.querySelector(".versions");
  const same = versions?.querySelector(`[data-action="${step < 0 ? "previous" : "next"}-version"]`);
  (same && !same.disabled ? same : versions?.querySelector("button:not(:disabled)"))?.focus();
}

// ---- regenerate with another model, delete ---------------------------------------------------------------

function chooseModel(button, message) {
  const current = state.chat?.chatModelId;
  const items = state.models.map((model) => ({
    name: model.id,
    label: model.id === current ? `${model.name} (this chat's)` : model.name,
    current: model.id === current,
    action: () => regenerate(message.id, model.id),
  }));
  toggleMenu(button, "Regenerate with", items);
}

async function deleteFrom(message) {
  const [title, text] =
    message.role === "user"
      ? ["Delete this message?", "It goes with its replies and everything after them, in every version. This cannot be undone."]
      : ["Delete this reply?", "It goes with everything after it, in every version. This cannot be undone."];
  if (!(await confirmed(title, text, "Delete"))) return;
  try {
    await request(`/api/messages/${message.id}`, { method: "DELETE" });
    await reloadBranch();
    announce(message.role === "user" ? "Message deleted" : "Reply deleted");
  } catch (error) {
    showError(error.message, null);
  }
  els.input.focus(); // its button is gone
}
