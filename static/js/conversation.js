// Conversation mode: the microphone stays open; the server hears the turns and answers aloud. The page sends
// 16 kHz PCM from an AudioWorklet (pcm-worklet.js) to /ws/chats/<ci>/voice/, and shows the phases it hears of.
import { hideError, showError } from "./notice.js";
import { els } from "./page.js";
import { microphoneProblem } from "./recorder.js";
import { ensureChat } from "./sidebar.js";
import { stopSpeaking } from "./speech.js";
import { state } from "./state.js";
import { onTurnEvent } from "./turn.js";

const WORKLET = new URL("./pcm-worklet.js", import.meta.url).href;

export function talkSend(message) {
  if (state.talk?.socket.readyState === WebSocket.OPEN) state.talk.socket.send(JSON.stringify(message));
}

export function toggleTalking() {
  return state.talk ? stopTalking() : startTalking();
}

async function startTalking() {
  hideError();
  await state.ready;
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
  await context.audioWorklet.addModule(WORKLET);
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
