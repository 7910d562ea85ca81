// The chat page: sidebar, conversation, composer, voice, and a websocket that keeps every tab in sync.
// For tests and tools, the page dispatches a "chat:turn-event" DOM event on `document` for each event of a
// turn as it applies it (once, whatever carried it), with the event's JSON as `detail`.
import { ApiError, getJSON, readEvents, request } from "./api.js";
import { Recorder, extensionFor, microphoneProblem } from "./recorder.js";

const $ = (selector) => document.querySelector(selector);
const layout = $(".layout");
const els = {
  list: $("#chat-list"), models: $("#model-select"), messages: $("#messages"), input: $("#input"),
  composer: $("#composer"), send: $("#send"), stop: $("#stop"), mic: $("#mic"), upload: $("#upload"),
  file: $("#audio-file"), error: $("#error"), title: $("#chat-title"), offline: $("#offline"),
  recording: $("#recording"), recTime: $("#rec-time"), recLevel: $("#rec-level"),
  search: $("#search"), results: $("#search-results"), speak: $("#speak"), talk: $("#talk"),
  talkBar: $("#talk-bar"), talkState: $("#talk-state"), talkLevel: $("#talk-level"),
};

const state = {
  chatId: layout.dataset.chatId || null,
  chat: null,
  lastSeq: 0, // highest seq of a finished message this tab has shown
  nodes: new Map(), // message id -> its <article>
  streams: new Map(), // message id -> the text node a streaming reply grows in
  // The turn this tab shows (its own, or another tab's seen over the socket): {id, seq, node, lastEventId,
  // saved}. Its events may come over SSE, the socket and the event log, in any mix: eventIds keep each once.
  turn: null,
  resuming: false,
  busy: false,
  socket: null,
  retries: 0,
  recorder: null,
  // Spoken replies: the setting (kept per user in this browser), and the sentences waiting to be played.
  speak: localStorage.getItem(`speakReplies:${layout.dataset.username}`) === "1",
  spoken: new Set(), // "messageId:index" already queued
  playlist: [],
  player: null,
  talk: null, // conversation mode: {socket, context, stream, node}
};

// ---- rendering -------------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function messageNode(id, role, seq) {
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
  $(".empty")?.remove();
  const after = [...els.messages.children].find((other) => Number(other.dataset.seq) > Number(seq ?? Infinity));
  els.messages.insertBefore(node, after ?? null);
  state.nodes.set(id, node);
  return node;
}

function setStatus(node, text) {
  node.querySelector(".status-line").textContent = text || "";
}

function streamingBody(node) {
  // Tokens are appended to one text node: no re-render of the list, or of the message, per token.
  let text = state.streams.get(node.dataset.id);
  if (!text) {
    const body = node.querySelector(".body");
    body.textContent = "";
    text = document.createTextNode("");
    body.append(text);
    node.classList.add("streaming");
    state.streams.set(node.dataset.id, text);
  }
  return text;
}

function streamed(node) {
  return Boolean(state.streams.get(node.dataset.id)?.length);
}

function appendToken(node, text) {
  if (node.querySelector(".status-line").textContent) setStatus(node, "");
  streamingBody(node).appendData(text);
  scrollDown();
}

function appendThinking(node, text) {
  const details = node.querySelector(".thinking");
  details.hidden = false;
  details.querySelector(".thinking-text").append(text);
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

function showToolCall(node, call) {
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

function showClarification(node, clarification, answerable) {
  node.querySelector(".clarify")?.remove();
  if (!clarification?.options?.length || !answerable) return;
  const box = el("div", "clarify");
  for (const option of clarification.options) {
    const button = el("button", "option", option);
    button.type = "button";
    button.dataset.option = option;
    button.addEventListener("click", () => {
      box.remove();
      els.input.value = option;
      sendText();
    });
    box.append(button);
  }
  node.append(box);
}

function badge(node, text, kind) {
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

function feedbackButtons(node, message) {
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
  node.querySelector(".feedback")?.remove();
  node.append(box);
}

function renderSaved(message) {
  const node = messageNode(message.id, message.role, message.seq);
  node.dataset.seq = message.seq;
  state.streams.delete(message.id);
  node.className = `msg ${message.role} ${message.status}`;
  node.querySelector(".who").replaceChildren(message.role === "user" ? "You" : "Assistant");
  const body = node.querySelector(".body");
  if (message.status === "streaming") {
    setStatus(node, "thinking…");
    streamingBody(node).data = message.content;
    return node;
  }
  setStatus(node, "");
  if (message.role === "assistant" && message.html != null) {
    body.innerHTML = message.html; // Rendered and sanitised on the server.
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
  if (message.status === "error") {
    badge(node, "error", "error");
    if (!message.content && message.error) body.textContent = message.error.message;
  }
  node.querySelector(".details").textContent = detailsLine(message);
  if (message.role === "assistant") feedbackButtons(node, message);
  if (state.turn?.id === message.id) state.turn.saved = true; // later tokens of it are stale copies
  state.lastSeq = Math.max(state.lastSeq, message.seq);
  return node;
}

// ---- spoken replies: each sentence's audio, played in order ----------------------------------------

function queueSpeech(event) {
  const key = `${event.messageId}:${event.index}`;
  if (state.spoken.has(key)) return;
  state.spoken.add(key);
  const bytes = Uint8Array.from(atob(event.audio), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: event.mime }));
  state.playlist.push({ messageId: event.messageId, index: event.index, url });
  state.playlist.sort((a, b) => a.index - b.index);
  if (!state.player) playNext();
}

function playNext() {
  const next = state.playlist.shift();
  if (!next) {
    if (state.player) talkSend({ type: "idle" });
    state.player = null;
    showSpeaking();
    return;
  }
  const player = new Audio(next.url);
  state.player = player;
  showSpeaking();
  document.body.dataset.played = String(Number(document.body.dataset.played || 0) + 1);
  talkSend({ type: "playing", messageId: next.messageId, index: next.index });
  const done = () => {
    URL.revokeObjectURL(next.url);
    if (state.player === player) playNext();
  };
  player.addEventListener("ended", done);
  player.addEventListener("error", done);
  player.play().catch(done); // a browser that refuses to play without a gesture: the text is there
}

function stopSpeaking() {
  for (const item of state.playlist) URL.revokeObjectURL(item.url);
  state.playlist = [];
  if (state.player) {
    state.player.pause();
    state.player = null;
    talkSend({ type: "idle" });
  }
  showSpeaking();
}

function showSpeaking() {
  // While a reply is being spoken, Stop stays at hand (it also silences it).
  document.body.classList.toggle("speaking", Boolean(state.player));
  els.stop.hidden = !(state.busy || state.player);
  els.send.hidden = !els.stop.hidden;
}

function setSpeak(on) {
  state.speak = on;
  localStorage.setItem(`speakReplies:${layout.dataset.username}`, on ? "1" : "0");
  els.speak.setAttribute("aria-pressed", String(on));
  if (!on) stopSpeaking();
}

// ---- conversation mode: the microphone stays open; the server hears the turns and answers aloud ------

function talkSend(message) {
  if (state.talk?.socket.readyState === WebSocket.OPEN) state.talk.socket.send(JSON.stringify(message));
}

async function startTalking() {
  hideError();
  await ready;
  await ensureChat();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
  } catch (error) {
    showError(microphoneProblem(error), null);
    return;
  }
  const context = new AudioContext();
  await context.audioWorklet.addModule("/static/js/pcm-worklet.js");
  const node = new AudioWorkletNode(context, "pcm-capture");
  context.createMediaStreamSource(stream).connect(node);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/chats/${state.chatId}/voice/`);
  socket.binaryType = "arraybuffer";
  state.talk = { socket, context, stream, node };
  node.port.onmessage = (message) => socket.readyState === WebSocket.OPEN && socket.send(message.data);
  socket.onmessage = (message) => onTalk(JSON.parse(message.data));
  socket.onclose = (event) => {
    if (state.talk?.socket !== socket) return;
    stopTalking();
    if (event.code === 4400) showError(event.reason, null);
  };
  els.talk.setAttribute("aria-pressed", "true");
  els.talkBar.hidden = false;
  setTalkState("connecting…");
}

function stopTalking() {
  const talk = state.talk;
  state.talk = null;
  if (talk) {
    talk.socket.close();
    talk.stream.getTracks().forEach((track) => track.stop());
    talk.context.close();
  }
  els.talk.setAttribute("aria-pressed", "false");
  els.talkBar.hidden = true;
}

function setTalkState(text, phase = "") {
  els.talkState.textContent = text;
  els.talkBar.dataset.phase = phase;
}

function onTalk(event) {
  switch (event.type) {
    case "level":
      els.talkLevel.style.width = `${Math.round(event.value * 100)}%`;
      return;
    case "status":
      if (!event.eventId) setTalkState(event.message, event.state); // the conversation's phase
      break;
    case "barge_in":
      stopSpeaking(); // the person spoke over the reply: silence it at once
      return;
    case "heard": // the words so far, before the silence that ends the turn
      setTalkState(`“${event.text.trim()}”`, "transcribing");
      return;
    case "dropped":
      setTalkState("didn't catch that — listening…", "listening");
      return;
    case "error":
      showError(event.message, null);
      return;
  }
  if (event.eventId != null) onTurnEvent(event);
}

// ---- a turn's events, whatever carries them ---------------------------------------------------------

function beginTurn(event) {
  const user = messageNode(event.userMessage.id, "user", event.userMessage.seq);
  user.dataset.seq = event.userMessage.seq;
  const seq = event.userMessage.seq + 1;
  const node = messageNode(event.assistantMessageId, "assistant", seq);
  state.turn = { id: event.assistantMessageId, seq, node, lastEventId: event.eventId - 1, saved: false };
  if (!streamed(node)) setStatus(node, "thinking…");
  scrollDown();
}

// The one handler of a turn's events: the POST response's SSE, websocket frames (a token frame may join
// several events: fromEventId…eventId) and the GET event stream all come here.
function onTurnEvent(event) {
  if (event.eventId == null) {
    if (event.type === "message_saved") renderSaved(event.message); // a push of a saved message, by seq
    return;
  }
  if (event.type === "transcription") {
    const node = messageNode(event.messageId, "user", null);
    node.querySelector(".body").textContent = event.text;
    badge(node, "voice", "voice");
    return;
  }
  if (event.type === "speech") queueSpeech(event); // played once, whichever way it came
  if (event.type === "stream_start" && state.turn?.id !== event.assistantMessageId) beginTurn(event);
  const turn = state.turn;
  if (!turn || event.eventId <= turn.lastEventId) return; // not started here yet, or already shown
  if ((event.fromEventId ?? event.eventId) !== turn.lastEventId + 1) {
    resumeFromLog(); // a gap (or a batch that overlaps what was shown): read the rest from the log
    return;
  }
  turn.lastEventId = event.eventId;
  // The one hook for tests and tools: each event of a turn as this page applies it, once.
  document.dispatchEvent(new CustomEvent("chat:turn-event", { detail: event }));
  switch (event.type) {
    case "status":
      if (!streamed(turn.node) && !turn.saved) setStatus(turn.node, event.message);
      break;
    case "thinking":
      appendThinking(turn.node, event.content);
      break;
    case "tool_start":
      if (!turn.saved) {
        showToolCall(turn.node, { id: event.toolCallId, name: event.name, arguments: event.arguments, label: event.label });
        setStatus(turn.node, event.label);
      }
      break;
    case "tool_result":
      if (!turn.saved) {
        showToolCall(turn.node, { id: event.toolCallId, name: event.name, ok: event.ok, content: event.content,
                                  durationMs: event.durationMs });
        setStatus(turn.node, "thinking…");
      }
      break;
    case "execution_progress":
      if (!turn.saved) setStatus(turn.node, `step ${event.completedSteps} of ${event.totalSteps} done…`);
      break;
    case "token":
      if (!turn.saved) appendToken(turn.node, event.content);
      break;
    case "message_saved":
      renderSaved(event.message);
      break;
    case "error":
      if (!turn.saved) {
        setStatus(turn.node, "");
        turn.node.classList.add("error");
        turn.node.querySelector(".body").textContent = event.message;
      }
      break;
  }
}

async function resumeFromLog() {
  const turn = state.turn;
  if (state.resuming || !turn) return;
  state.resuming = true;
  try {
    const response = await request(`/api/chats/${state.chatId}/events?after=${turn.seq}:${turn.lastEventId}`);
    for await (const event of readEvents(response)) {
      onTurnEvent(event);
      if (event.type === "stream_end") break;
    }
  } catch {
    // The socket's catch-up (message_saved by seq) still brings the saved reply.
  } finally {
    state.resuming = false;
  }
}

function scrollDown() {
  const box = els.messages;
  if (box.scrollHeight - box.scrollTop - box.clientHeight < 200) box.scrollTop = box.scrollHeight;
}

// ---- errors and the busy state ---------------------------------------------------------------------

function showError(message, retry) {
  els.error.hidden = false;
  els.error.querySelector(".text").textContent = message;
  const button = els.error.querySelector(".retry");
  button.hidden = !retry;
  button.onclick = () => {
    hideError();
    retry();
  };
}

function hideError() {
  els.error.hidden = true;
}

function setBusy(busy) {
  state.busy = busy;
  els.send.hidden = busy || Boolean(state.player);
  els.stop.hidden = !(busy || state.player);
  els.mic.disabled = busy && !state.recorder;
  els.upload.disabled = busy;
}

// ---- a turn ----------------------------------------------------------------------------------------

async function ensureChat() {
  if (state.chatId) return;
  const chat = await (await request("/api/chats", { method: "POST", json: { chatModelId: els.models.value } })).json();
  state.chatId = chat.id;
  state.chat = chat;
  layout.dataset.chatId = chat.id;
  history.replaceState(null, "", `/c/${chat.id}/`);
  $(".chat-actions").hidden = false;
  connectSocket();
}

// ``retry`` sends the same request again (same clientMessageId: if the server got it, it answers with the
// stored turn instead of asking the model twice); ``retryAnew`` is for a turn the server finished with an
// error, which a new attempt must not replay.
async function runTurn(makeRequest, { text = "", retry, retryAnew }) {
  hideError();
  setBusy(true);
  let response;
  try {
    await ready;
    await ensureChat();
    response = await makeRequest();
  } catch (error) {
    setBusy(false);
    showError(error instanceof ApiError ? error.message : String(error), retry);
    return;
  }
  try {
    for await (const event of readEvents(response)) {
      onTurnEvent(event);
      if (event.type === "stream_start" && text) {
        els.input.value = ""; // Accepted: the text lives in the conversation now.
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

async function refreshTitle() {
  // The first message names the chat: show the new title in the header and the sidebar.
  try {
    await loadSidebar();
    if (state.chat?.title && els.title.textContent !== state.chat.title) {
      els.title.textContent = state.chat.title;
      document.title = `${state.chat.title} · Chat`;
    }
  } catch {
    // The next page load shows it.
  }
}

function sendText(clientMessageId = crypto.randomUUID()) {
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
        json: { message: text, chatInstanceId: state.chatId, chatModelId: modelId(), clientMessageId,
                speak: state.speak },
      }),
    { text, retry: again(clientMessageId), retryAnew: again() },
  );
}

function modelId() {
  // The chat's own model once it has one; the server also falls back to it when none is sent.
  return state.chat?.chatModelId || els.models.value || undefined;
}

function sendAudio(blob, name, clientMessageId = crypto.randomUUID()) {
  const make = () => {
    const form = new FormData();
    form.append("audio", blob, name);
    form.append("chatInstanceId", state.chatId);
    if (modelId()) form.append("chatModelId", modelId());
    form.append("stream", "true");
    form.append("clientMessageId", clientMessageId);
    if (state.speak) form.append("speak", "true");
    return request("/api/chat/voice?stream=true", { method: "POST", form });
  };
  return runTurn(make, {
    retry: () => sendAudio(blob, name, clientMessageId),
    retryAnew: () => sendAudio(blob, name),
  });
}

async function stop() {
  stopSpeaking();
  talkSend({ type: "stop" });
  if (!state.chatId) return;
  try {
    await request(`/api/chats/${state.chatId}/stop`, { method: "POST", json: {} });
  } catch (error) {
    showError(error.message, stop);
  }
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

// ---- voice -----------------------------------------------------------------------------------------

async function toggleRecording() {
  if (state.recorder) {
    const recorder = state.recorder;
    state.recorder = null;
    els.mic.setAttribute("aria-pressed", "false");
    els.mic.setAttribute("aria-label", "Record a voice message");
    els.recording.hidden = true;
    const blob = await recorder.stop();
    await sendAudio(blob, `recording.${extensionFor(blob.type)}`);
    return;
  }
  hideError();
  const recorder = new Recorder({
    onTick(seconds, level) {
      const whole = Math.floor(seconds);
      els.recTime.textContent = `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
      els.recLevel.style.width = `${Math.round(level * 100)}%`;
    },
  });
  try {
    await recorder.start();
  } catch (error) {
    showError(microphoneProblem(error), null);
    return;
  }
  state.recorder = recorder;
  els.recording.hidden = false;
  els.mic.setAttribute("aria-pressed", "true");
  els.mic.setAttribute("aria-label", "Stop recording and send");
}

// ---- live updates ----------------------------------------------------------------------------------

function connectSocket() {
  if (!state.chatId) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // A hidden tab gets saved messages only, not each token of a running reply; shown again, the server
  // sends it the reply's events so far (duplicates are dropped by eventId).
  const live = document.hidden ? "&live=0" : "";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/chats/${state.chatId}/?after=${state.lastSeq}${live}`);
  state.socket = socket;
  let offlineTimer = null;
  socket.onopen = () => {
    state.retries = 0;
    els.offline.hidden = true;
  };
  socket.onmessage = (message) => message.data !== "pong" && onLive(JSON.parse(message.data));
  socket.onclose = () => {
    if (state.socket !== socket) return;
    offlineTimer = setTimeout(() => (els.offline.hidden = false), 1000);
    const delay = Math.min(10000, 500 * 2 ** state.retries++) * (0.8 + Math.random() * 0.4);
    setTimeout(() => {
      clearTimeout(offlineTimer);
      connectSocket();
    }, delay);
  };
}

document.addEventListener("visibilitychange", () => {
  if (state.socket?.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "live", on: !document.hidden }));
  }
});

function onLive(event) {
  onTurnEvent(event);
}

// ---- sidebar ---------------------------------------------------------------------------------------

let searchTimer = null;

function onSearchInput() {
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
    const { results } = await getJSON(`/api/search?q=${encodeURIComponent(query)}`);
    if (els.search.value.trim() !== query) return; // a newer search is on its way
    els.results.replaceChildren(
      ...(results.length ? results : [null]).map((hit) => {
        const item = el("li");
        if (!hit) {
          item.append(el("span", "none", "No messages match."));
          return item;
        }
        const link = el("a");
        link.href = `/c/${hit.chatInstanceId}/#m${hit.seq}`;
        link.append(el("span", "title", hit.chatTitle), el("span", "snippet"));
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

async function loadSidebar() {
  const [{ models }, { chats }] = await Promise.all([getJSON("/api/models"), getJSON("/api/chats")]);
  els.models.replaceChildren(...models.map((m) => Object.assign(el("option", "", m.name), { value: m.id })));
  els.list.replaceChildren(
    ...chats.map((chat) => {
      const item = el("li");
      const link = el("a", chat.id === state.chatId ? "current" : "", chat.title || "New chat");
      link.href = `/c/${chat.id}/`;
      if (chat.id === state.chatId) link.setAttribute("aria-current", "page");
      item.append(link);
      return item;
    }),
  );
  state.chat = chats.find((chat) => chat.id === state.chatId) || state.chat;
  if (state.chat) els.models.value = state.chat.chatModelId;
}

async function newChat() {
  try {
    const chat = await (await request("/api/chats", { method: "POST", json: { chatModelId: els.models.value } })).json();
    location.href = `/c/${chat.id}/`;
  } catch (error) {
    showError(error.message, newChat);
  }
}

async function renameChat() {
  const title = prompt("Rename this chat:", els.title.textContent);
  if (title === null || !title.trim()) return;
  try {
    await request(`/api/chats/${state.chatId}`, { method: "PATCH", json: { title } });
    els.title.textContent = title.trim();
    document.title = `${title.trim()} · Chat`;
    await loadSidebar();
  } catch (error) {
    showError(error.message, null);
  }
}

async function deleteChat() {
  if (!confirm("Delete this chat and all its messages? This cannot be undone.")) return;
  try {
    await request(`/api/chats/${state.chatId}`, { method: "DELETE" });
    location.href = "/";
  } catch (error) {
    showError(error.message, null);
  }
}

// ---- start -----------------------------------------------------------------------------------------

async function loadConversation() {
  if (!state.chatId) return;
  const { messages } = await getJSON(`/api/chats/${state.chatId}/messages`);
  for (const message of messages) renderSaved(message);
  // Catch-up starts after the last finished message; a reply still streaming is replayed from the event log.
  state.lastSeq = Math.max(0, ...messages.filter((m) => m.status !== "streaming").map((m) => m.seq));
  els.messages.scrollTop = els.messages.scrollHeight;
  connectSocket();
}

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
els.speak.setAttribute("aria-pressed", String(state.speak));
els.speak.addEventListener("click", () => setSpeak(!state.speak));
els.talk.addEventListener("click", () => (state.talk ? stopTalking() : startTalking()));
$("#rename-chat").addEventListener("click", renameChat);
$("#delete-chat").addEventListener("click", deleteChat);
$("#toggle-sidebar").addEventListener("click", () => layout.classList.toggle("show-sidebar"));
window.addEventListener("offline", () => (els.offline.hidden = false));
window.addEventListener("online", () => state.socket?.readyState === WebSocket.OPEN && (els.offline.hidden = true));

// The composer works from the first keystroke: a send waits for this (the models and the conversation).
const ready = Promise.all([loadSidebar(), loadConversation()]);
ready.catch((error) => showError(error.message, () => location.reload()));
els.input.focus();
