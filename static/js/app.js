// The chat page: sidebar, conversation, composer, voice, and a websocket that keeps every tab in sync.
// This module loads the page and wires its controls; each concern lives in its own module:
//   api.js           requests with the CSRF token, and the SSE reader
//   page.js          the page's elements;  state.js  what this tab knows
//   notice.js        the error banner and the busy state
//   messages.js      rendering messages, tool calls, clarifications, feedback, versions and their buttons
//   branch.js        the branch of the conversation shown, and following it when it moves
//   shaping.js       edit and resend, regenerate, continue, delete, and moving between versions
//   markdown.js      replies' markdown as it streams, sanitised by the server's rules; code blocks
//                    (markdown-it, DOMPurify and highlight.js are vendored in static/vendor/)
//   clipboard.js     the Copy buttons of messages and code blocks
//   turn.js          a turn's events, whatever carries them (the "chat:turn-event" hook is here)
//   socket.js        the chat's websocket: catch-up, live and hidden tabs, reconnecting
//   sidebar.js       models, the chat list (pinned first), search, archived chats; create, rename, delete
//   settings.js      the chat's system prompt and temperature, and presets
//   chatmenu.js      the chat's menu: pin, archive, share (its dialog), export
//   importer.js      importing ChatGPT's export
//   menu.js          menus that open from a button
//   composer.js      sending text or audio as a turn, Stop, answering a clarification; the turns that
//                    reshape the conversation (edit, regenerate, continue)
//   voice.js         recording a voice message (recorder.js holds the MediaRecorder)
//   speech.js        playing spoken replies in order
//   conversation.js  hands-free mode (its microphone tap is the AudioWorklet in pcm-worklet.js)
import { getJSON } from "./api.js";
import { showBranch } from "./branch.js";
import { openChatMenu } from "./chatmenu.js";
import { answerOption, sendAudio, sendText, stop } from "./composer.js";
import { toggleTalking, talkSend } from "./conversation.js";
import { openImport } from "./importer.js";
import { showError } from "./notice.js";
import { $, els, layout } from "./page.js";
import { openSettings } from "./settings.js";
import { onMessageAction } from "./shaping.js";
import {
  deleteChat, loadSidebar, newChat, onSearchInput, refreshTitle, renameChat, showChatState, switchModel,
  toggleArchived,
} from "./sidebar.js";
import { connectSocket, watchConnection } from "./socket.js";
import { reportPlayback, setSpeak } from "./speech.js";
import { state } from "./state.js";
import { toggleRecording } from "./voice.js";

async function loadConversation() {
  if (!state.chatId) return;
  const { messages } = await getJSON(`/api/chats/${state.chatId}/messages?limit=1000`);
  showBranch(messages); // the active branch (catch-up starts after its last finished message)
  els.messages.scrollTop = els.messages.scrollHeight;
  connectSocket();
}

reportPlayback(talkSend); // conversation mode tells the server what the person has heard
watchConnection();
els.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  sendText();
});
els.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendText();
  }
});
els.input.addEventListener("input", () => {
  els.input.style.height = "auto";
  els.input.style.height = `${Math.min(els.input.scrollHeight, 200)}px`;
});
els.messages.addEventListener("click", (event) => {
  answerOption(event);
  onMessageAction(event);
});
els.stop.addEventListener("click", stop);
els.mic.addEventListener("click", toggleRecording);
els.upload.addEventListener("click", () => els.file.click());
els.file.addEventListener("change", () => {
  const file = els.file.files[0];
  els.file.value = "";
  if (file) sendAudio(file, file.name);
});
$("#new-chat").addEventListener("click", newChat);
els.search.addEventListener("input", onSearchInput);
els.models.addEventListener("change", switchModel);
els.speak.setAttribute("aria-pressed", String(state.speak));
els.speak.addEventListener("click", () => setSpeak(!state.speak));
els.talk.addEventListener("click", toggleTalking);
$("#rename-chat").addEventListener("click", renameChat);
$("#delete-chat").addEventListener("click", deleteChat);
$("#chat-settings").addEventListener("click", openSettings);
$("#chat-menu-button").addEventListener("click", openChatMenu);
$("#show-archived").addEventListener("click", toggleArchived);
$("#import-chats").addEventListener("click", openImport);
$("#toggle-sidebar").addEventListener("click", () => layout.classList.toggle("show-sidebar"));
// Escape stops a reply (and closes the drawer on a phone).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || document.querySelector("dialog[open]")) return;
  if (!els.stop.hidden) stop();
  layout.classList.remove("show-sidebar");
});
// Scrolled up from the latest message: a button brings it back.
const toBottom = $("#to-bottom");
els.messages.addEventListener("scroll", () => {
  const box = els.messages;
  toBottom.hidden = box.scrollHeight - box.scrollTop - box.clientHeight < 300;
});
toBottom.addEventListener("click", () => {
  els.messages.scrollTo({ top: els.messages.scrollHeight, behavior: "smooth" });
});

// What another tab (or program) did to this chat: renamed it, gave it another model or settings, pinned or
// archived it, deleted it, or named it with its first message. (A branch it moved, turn.js follows.)
document.addEventListener("chat:changed", ({ detail }) => {
  if (detail.type === "chat_deleted") {
    showError("This chat was deleted in another tab or window.", null);
    for (const control of [els.input, els.send, els.mic, els.upload, els.talk]) control.disabled = true;
    $(".chat-actions").hidden = true;
    $("#chat-settings").hidden = true;
  } else if (detail.type === "chat_updated") {
    state.chat = detail.chat;
    els.models.value = detail.chat.chatModelId;
    els.title.textContent = detail.chat.title || "New chat";
    document.title = `${els.title.textContent} · Chat`;
    showChatState(); // its settings, archived or not
  }
  if (detail.type === "titled") refreshTitle();
  else loadSidebar().catch(() => {});
});

// The composer works from the first keystroke: a send waits for this (the models and the conversation).
state.ready = Promise.all([loadSidebar(), loadConversation()]);
state.ready.catch((error) => showError(error.message, () => location.reload()));
els.input.focus();
