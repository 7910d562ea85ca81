// Sending: a typed message or an audio file as one turn (the POST's SSE read as it comes), Stop, and the
// answer to a clarifying question.
import { ApiError, readEvents, request } from "./api.js";
import { talkSend } from "./conversation.js";
import { messageNode } from "./messages.js";
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
// error, which a new attempt must not replay.
async function runTurn(makeRequest, { text = "", retry, retryAnew }) {
  hideError();
  setBusy(true);
  let response;
  try {
    await state.ready;
    await ensureChat();
    response = await makeRequest();
  } catch (error) {
    setBusy(false);
    showError(error instanceof ApiError ? error.message : String(error), retryable(error) ? retry : null);
    return;
  }
  try {
    for await (const event of readEvents(response)) {
      onTurnEvent(event);
      if (event.type === "stream_start" && text) {
        els.input.value = ""; // Accepted: the text lives in the conversation now.
        els.input.style.height = "auto"; // back to one line after a long message
        // Your own message, however long, then the reply coming in: the view follows them.
        requestAnimationFrame(() => (els.messages.scrollTop = els.messages.scrollHeight));
        const body = messageNode(event.userMessage.id, "user", event.userMessage.seq).querySelector(".body");
        if (!body.textContent) body.textContent = text;
      }
      if (event.type === "error") {
        if (text && !els.input.value) els.input.value = text;
        showError(event.message, retryAnew);
      }
    }
  } catch {
    showError("The connection dropped during the reply.", retry);
  } finally {
    setBusy(false);
    els.input.focus();
    refreshTitle();
  }
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
    { text, retry: again(clientMessageId), retryAnew: again() },
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
