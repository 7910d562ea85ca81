// The microphone button: record a voice message (with its clock and level), and send it when pressed again.
import { sendAudio } from "./composer.js";
import { hideError, showError } from "./notice.js";
import { els } from "./page.js";
import { Recorder, extensionFor, microphoneProblem } from "./recorder.js";
import { state } from "./state.js";

export async function toggleRecording() {
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
