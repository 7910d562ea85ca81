// The chat's settings (its system prompt and temperature) and the person's presets, in one dialog. In a chat
// they are saved at once; on a new chat's page they wait for its first message (sidebar.js: ensureChat
// starts the chat from the preset chosen, with these settings).
import { getJSON, request } from "./api.js";
import { showError } from "./notice.js";
import { $, announce, ask, confirmed, el, els } from "./page.js";
import { state } from "./state.js";

const dialog = $("#settings-dialog");
const prompt = $("#system-prompt");
const temperature = $("#temperature");
const presetSelect = $("#preset-select");
const presetName = $("#preset-name");
const status = $("#settings-status");

let presets = [];
let presetModel = null; // the model of the preset chosen in the dialog, if it names one

async function loadPresets(selected = presetSelect.value) {
  ({ presets } = await getJSON("/api/presets"));
  presetSelect.replaceChildren(
    Object.assign(el("option", "", presets.length ? "None" : "None saved yet"), { value: "" }),
    ...presets.map((preset) => Object.assign(el("option", "", preset.name), { value: preset.id })),
  );
  presetSelect.value = presets.some((preset) => preset.id === selected) ? selected : "";
  $("#delete-preset").hidden = !presetSelect.value;
}

function formValues() {
  const value = temperature.value.trim();
  return { systemPrompt: prompt.value, temperature: value === "" ? null : Number(value) };
}

/** The settings button says when this chat (or the new one) has its own settings. */
export function showSettingsState() {
  const current = state.chatId ? state.chat : state.draft;
  const custom = Boolean(current?.systemPrompt) || (current?.temperature ?? null) !== null;
  const button = $("#chat-settings");
  button.classList.toggle("set", custom);
  button.title = custom ? "Chat settings: this chat has its own system prompt or temperature" : "Chat settings";
  const note = $("#draft-note");
  if (!note) return;
  const draft = state.draft;
  note.hidden = !draft || (!draft.presetName && !custom);
  if (draft?.presetName) note.textContent = `This chat starts from the preset “${draft.presetName}”.`;
  else if (custom) note.textContent = "This chat starts with its own system prompt or temperature.";
}

export async function openSettings() {
  const current = (state.chatId ? state.chat : state.draft) || {};
  prompt.value = current.systemPrompt || "";
  temperature.value = current.temperature ?? "";
  presetName.value = "";
  status.textContent = "";
  presetModel = null;
  try {
    await loadPresets(state.chatId ? "" : state.draft?.presetId || "");
  } catch (error) {
    status.textContent = error.message;
  }
  const pressed = ask(dialog);
  prompt.focus();
  if ((await pressed) !== "ok") return;
  const values = formValues();
  const model = presetModel && state.models.some((m) => m.id === presetModel) ? presetModel : null;
  if (!state.chatId) {
    const preset = presets.find((p) => p.id === presetSelect.value);
    state.draft = { ...values, presetId: preset?.id || null, presetName: preset?.name || "" };
    if (model) els.models.value = model;
    showSettingsState();
    return;
  }
  const changes = { ...values };
  if (model && model !== state.chat?.chatModelId) changes.chatModelId = model;
  try {
    const response = await request(`/api/chats/${state.chatId}`, { method: "PATCH", json: changes });
    state.chat = await response.json();
    els.models.value = state.chat.chatModelId;
    showSettingsState();
    announce("Chat settings saved");
  } catch (error) {
    showError(error.message, null);
  }
}

// Enter in a field saves the settings (the form's first button is Cancel), or, in the name, the preset.
for (const field of [temperature, presetName]) {
  field.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    if (field === presetName) $("#save-preset").click();
    else dialog.querySelector("form").requestSubmit(dialog.querySelector("button[value=ok]"));
  });
}

// Choosing a preset fills the form with it (its model is taken when the form is saved).
presetSelect.addEventListener("change", () => {
  const preset = presets.find((p) => p.id === presetSelect.value);
  $("#delete-preset").hidden = !preset;
  if (!preset) return;
  prompt.value = preset.systemPrompt;
  temperature.value = preset.temperature ?? "";
  presetModel = preset.chatModelId;
  presetName.value = preset.name;
});

$("#save-preset").addEventListener("click", async () => {
  const name = presetName.value.trim();
  if (!name) {
    status.textContent = "Give the preset a name first.";
    presetName.focus();
    return;
  }
  if (!temperature.checkValidity()) {
    temperature.reportValidity();
    return;
  }
  const existing = presets.find((preset) => preset.name === name);
  const body = { name, ...formValues(), chatModelId: els.models.value || null };
  try {
    const response = existing
      ? await request(`/api/presets/${existing.id}`, { method: "PATCH", json: body })
      : await request("/api/presets", { method: "POST", json: body });
    const saved = await response.json();
    await loadPresets(saved.id);
    status.textContent = existing ? `Preset “${name}” updated.` : `Saved as the preset “${name}”.`;
  } catch (error) {
    status.textContent = error.message;
  }
});

$("#delete-preset").addEventListener("click", async () => {
  const preset = presets.find((p) => p.id === presetSelect.value);
  if (!preset || !(await confirmed(`Delete the preset “${preset.name}”?`, "Chats started from it keep their settings.", "Delete"))) return;
  try {
    await request(`/api/presets/${preset.id}`, { method: "DELETE" });
    await loadPresets("");
    if (state.draft?.presetId === preset.id) state.draft = { ...state.draft, presetId: null, presetName: "" };
    status.textContent = `Preset “${preset.name}” deleted.`;
  } catch (error) {
    status.textContent = error.message;
  }
  presetSelect.focus();
});
