// Spoken replies: each sentence's audio, played in order. Conversation mode is told what plays and when the
// page falls silent (see `reportPlayback`), so the server knows what the person has heard.
import { els, layout } from "./page.js";
import { state } from "./state.js";

let report = () => {};

// `listener` gets {type: "playing", messageId, index} as each sentence starts, and {type: "idle"} after.
export function reportPlayback(listener) {
  report = listener;
}

export function queueSpeech(event) {
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
    if (state.player) report({ type: "idle" });
    state.player = null;
    showSpeaking();
    return;
  }
  const player = new Audio(next.url);
  state.player = player;
  showSpeaking();
  document.body.dataset.played = String(Number(document.body.dataset.played || 0) + 1);
  report({ type: "playing", messageId: next.messageId, index: next.index });
  const done = () => {
    URL.revokeObjectURL(next.url);
    if (state.player === player) playNext();
  };
  player.addEventListener("ended", done);
  player.addEventListener("error", done);
  player.play().catch(done); // a browser that refuses to play without a gesture: the text is there
}

export function stopSpeaking() {
  for (const item of state.playlist) URL.revokeObjectURL(item.url);
  state.playlist = [];
  if (state.player) {
    state.player.pause();
    state.player = null;
    report({ type: "idle" });
  }
  showSpeaking();
}

function showSpeaking() {
  // While a reply is being spoken, Stop stays at hand (it also silences it).
  document.body.classList.toggle("speaking", Boolean(state.player));
  els.stop.hidden = !(state.busy || state.player);
  els.send.hidden = !els.stop.hidden;
}

export function setSpeak(on) {
  state.speak = on;
  localStorage.setItem(`speakReplies:${layout.dataset.username}`, on ? "1" : "0");
  els.speak.setAttribute("aria-pressed", String(on));
  if (!on) stopSpeaking();
}
