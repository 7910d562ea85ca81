// Bringing chats in: ChatGPT's data export (its zip, or the conversations.json in it) becomes chats here, with their versions
// and the branch that was shown there (POST /api/imports).
import { request } from "./api.js";
import { $, el } from "./page.js";
import { loadSidebar } from "./sidebar.js";

const dialog = $("#import-dialog");
const file = $("#import-file");
const status = $("#import-status");
const go = $("#import-go");

export function openImport() {
  file.value = "";
  status.textContent = "";
  status.classList.remove("form-error");
  $("#import-result").replaceChildren();
  dialog.showModal();
}

function say(text, failed = false) {
  status.textContent = text;
  status.classList.toggle("form-error", failed);
}

async function importFile() {
  const chosen = file.files[0];
  if (!chosen) {
    say("Choose the export's zip or its conversations.json first.", true);
    file.focus();
    return;
  }
  const form = new FormData();
  form.append("file", chosen);
  go.disabled = true;
  say("Importing…");
  try {
    const result = await (await request("/api/imports", { method: "POST", form })).json();
    const n = result.imported;
    const skipped = result.skipped ? ` ${result.skipped} left out: they held nothing to read.` : "";
    say((n ? `Imported ${n} chat${n === 1 ? "" : "s"}.` : "The file holds no conversations to import.") + skipped);
    $("#import-result").replaceChildren(
      ...result.chats.slice(0, 20).map((chat) => {
        const item = el("li");
        const link = el("a", "", chat.title || "Untitled chat");
        link.href = `/c/${chat.id}/`;
        item.append(link);
        return item;
      }),
    );
    await loadSidebar();
  } catch (error) {
    say(error.message, true);
  } finally {
    go.disabled = false;
  }
}

go.addEventListener("click", importFile);
