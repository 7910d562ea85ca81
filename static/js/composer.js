// Sending: a typed message or an audio file as one turn (the POST's SSE read as it comes), Stop, and the
// answer to a clarifying question; and the turns that reshape the conversation: an edited question resent,
// a reply regenerated (with its model or another), a stopped reply continued.
import { ApiError, readEvents, request } from "./api.js";
import { reloadBranch, truncateFrom } from "./branch.js";
import { talkSend } from "./conversation.js";
import { badge, forgetNode, messageNode, scrollDown, setStatus } from "./messages.js";
import { hideError, setBusy, showError } from "./notice.js";
import { els } from "./page.js";
import { ensureChat, refreshTitle } from "./sidebar.js";
import { stopSpeaking } from "./speech.js";
import { state } from "./state.js";
import { onTurnEvent } from "./turn.js";

// Retry is offered where trying again can help: the network, a busy chat, a limit, the server's own fault;
// not for a request that would be refused the same way (a message too long, a file that is not audio…).
function retryable(error) {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status === 409 || error.status === 429 || error.status >= 500;
}

// ``retry`` sends the same request again (same clientMessageId: if the server got it, it answers with the
// stored turn instead of asking the model twice); ``retryAnew`` is for a turn the server finished with an
// error, which a new attempt must not replay (it gets the failed reply's id).
// ``composer``: the text came from the message box (emptied once the server has it, refilled on an error).
// ``reshapes``: the turn moves the branch (an edit, a regenerated reply): the branch is read again after it,
// and again on a refusal, to show what it was.
// ``voice``: a recording; it shows at once as a voice message being transcribed, until its words come.
async function runTurn(makeRequest, options) {
  const { text = "", composer = false, reshapes = false, voice = false, retry, retryAnew } = options;
  hideError();
  setBusy(true);
  state.sending = true;
  let response;
  let pending = voice ? transcribing() : null;
  const settle = () => {
    if (pending) forgetNode(PENDING_VOICE);
    pending = null;
  };
  try {
    await state.ready;
    await ensureChat();
    response = await makeRequest();
  } catch (error) {
    settle();
    state.sending = false;
    setBusy(false);
    showError(error instanceof ApiError ? error.message : String(error), retryable(error) ? retry : null);
    if (reshapes) reloadBranch();
    return;
  }
  let replyId = null;
  try {
    for await (const event of readEvents(response)) {
      if (event.type === "transcription" || event.type === "stream_start") settle(); // its words are here
      onTurnEvent(event);
      if (event.type === "stream_start") {
        replyId = event.assistantMessageId;
        if (state.chat && event.model) {
          // The model that answers is the chat's from now on (a reply regenerated with another one).
          state.chat.chatModelId = event.model;
          els.models.value = event.model;
        }
        if (composer) {
          els.input.value = ""; // Accepted: the text lives in the conversation now.
          els.input.style.height = "auto"; // back to one line after a long message
        }
        // Your own message, however long, then the reply coming in: the view follows them.
        requestAnimationFrame(() => (els.messages.scrollTop = els.messages.scrollHeight));
        const body = messageNode(event.userMessage.id, "user", event.userMessage.seq).querySelector(".body");
        if (text && !body.textContent) body.textContent = text;
      }
      if (event.type === "error") {
        if (composer && text && !els.input.value) els.input.value = text;
        showError(event.message, retryAnew && (() => retryAnew(replyId)));
      }
    }
  } catch {
    showError("The connection dropped during the reply.", retry);
  } finally {
    settle();
    state.sending = false;
    setBusy(false);
    if (composer) els.input.focus();
    refreshTitle();
    if (reshapes) reloadBranch(); // the versions ("2 / 2") of what the turn wrote
  }
}

const PENDING_VOICE = "pending-voice";

/** The voice message just sent, shown at once while the server transcribes it. */
function transcribing() {
  const node = messageNode(PENDING_VOICE, "user", null);
  node.classList.add("pending");
  badge(node, "voice", "voice");
  setStatus(node, "transcribing…");
  scrollDown();
  return node;
}

export function sendText(clientMessageId = crypto.randomUUID()) {
  const text = els.input.value;
  if (!text.trim() || state.busy) return;
  const again = (id) => () => {
    els.input.value = text;
    sendText(id);
  };
  runTurn(
    () =>
      request("/api/chat?stream=true", {
        method: "POST",
        // detach: the reply goes on if this page reloads or closes; the reloaded page follows it.
        json: { message: text, chatInstanceId: state.chatId, chatModelId: modelId(), clientMessageId,
                speak: state.speak, detach: true },
      }),
    { text, composer: true, retry: again(clientMessageId), retryAnew: again() },
  );
}

/** Edit and resend: `text` as a new version of the question `message`, answered; the branch moves to it. */
export function sendEdit(message, text, clientMessageId = crypto.randomUUID()) {
  if (!text.trim() || state.busy) return;
  truncateFrom(message.id); // what followed the old version is on the old branch now
  runTurn(
    () =>
      request("/api/chat?stream=true", {
        method: "POST",
        // parentMessageId null: a new version of the chat's first message.
        json: { message: text, chatInstanceId: state.chatId, parentMessageId: message.parentId ?? null,
                chatModelId: modelId(), clientMessageId, speak: state.speak, detach: true },
      }),
    { text, reshapes: true, retry: () => sendEdit(message, text, clientMessageId), retryAnew: regenerate },
  );
}

/** A new version of the reply `replyId` to the same question, by the chat's model or `chatModelId`. */
export function regenerate(replyId, chatModelId) {
  if (state.busy || !replyId) return;
  truncateFrom(replyId);
  runTurn(
    () =>
      request("/api/chat?stream=true", {
        method: "POST",
        json: { chatInstanceId: state.chatId, regenerateMessageId: replyId, chatModelId, speak: state.speak,
                detach: true },
      }),
    { reshapes: true, retryAnew: regenerate },
  );
}

/** More of a reply that was stopped or cut at its length limit: its text goes on. */
export function continueReply(replyId) {
  if (state.busy) return;
  runTurn(
    () =>
      request("/api/chat?stream=true", {
        method: "POST",
        json: { chatInstanceId: state.chatId, continueMessageId: replyId, speak: state.speak, detach: true },
      }),
    { retryAnew: regenerate },
  );
}

// A click on one of the options under the latest clarifying question sends it as the reply.
export function answerOption(event) {
  const button = event.target.closest(".clarify .option");
  if (!button) return;
  button.parentElement.remove();
  els.input.value = button.dataset.option;
  sendText();
}

function modelId() {
  // The chat's own model once it has one; the server also falls back to it when none is sent.
  return state.chat?.chatModelId || els.models.value || undefined;
}

export function sendAudio(blob, name, clientMessageId = crypto.randomUUID()) {
  const make = () => {
    const form = new FormData();
    form.append("audio", blob, name);
    form.append("chatInstanceId", state.chatId);
    if (modelId()) form.append("chatModelId", modelId());
    form.append("stream", "true");
    form.append("detach", "true");
    form.append("clientMessageId", clientMessageId);
    if (state.speak) form.append("speak", "true");
    return request("/api/chat/voice?stream=true", { method: "POST", form });
  };
  return runTurn(make, {
    voice: true,
    retry: () => sendAudio(blob, name, clientMessageId),
    retryAnew: () => sendAudio(blob, name),
  });
}

export async function stop() {
  stopSpeaking();
  talkSend({ type: "stop" });
  if (!state.chatId) return;
  try {
    await request(`/api/chats/${state.chatId}/stop`, { method: "POST", json: {} });
  } catch (error) {
    showError(error.message, stop);
  }
}
