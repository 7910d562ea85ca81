// The error banner (with its Retry) and the composer's busy state.
import { els } from "./page.js";
import { state } from "./state.js";

export function showError(message, retry) {
  els.error.hidden = false;
  els.error.querySelector(".text").textContent = message;
  const button = els.error.querySelector(".retry");
  button.hidden = !retry;
  button.onclick = () => {
    hideError();
    retry();
  };
}

export function hideError() {
  els.error.hidden = true;
}

els.error.querySelector(".close").addEventListener("click", hideError);

export function setBusy(busy) {
  state.busy = busy;
  els.send.hidden = busy || Boolean(state.player);
  els.stop.hidden = !(busy || state.player);
  els.mic.disabled = busy && !state.recorder;
  els.upload.disabled = busy;
  // While a reply is written, the conversation cannot be reshaped: its edit, regenerate, continue, delete
  // and version buttons step aside (app.css).
  els.messages.classList.toggle("busy", busy);
}
