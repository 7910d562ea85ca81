// Microphone recording with MediaRecorder, an elapsed-time clock and an input level.

const TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4", "audio/ogg;codecs=opus"];

export function recordingType() {
  if (typeof MediaRecorder === "undefined") return null;
  return TYPES.find((type) => MediaRecorder.isTypeSupported(type)) ?? "";
}

export function microphoneProblem(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was refused. Allow it in the browser's site settings, or send an audio file instead.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Connect one, or send an audio file instead.";
    case "NotReadableError":
      return "The microphone is in use by another application.";
    default:
      return "Recording could not start: " + ((error && error.message) || "unknown error") + ".";
  }
}

export class Recorder {
  constructor({ onTick }) {
    this.onTick = onTick;
  }

  async start() {
    const type = recordingType();
    if (type === null) throw Object.assign(new Error("This browser cannot record audio."), { name: "NotSupported" });
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    this.recorder = new MediaRecorder(this.stream, type ? { mimeType: type } : undefined);
    this.chunks = [];
    this.recorder.ondataavailable = (event) => event.data.size && this.chunks.push(event.data);
    this.recorder.start(250);
    this.started = performance.now();
    this.audio = new AudioContext();
    const analyser = this.audio.createAnalyser();
    analyser.fftSize = 512;
    this.audio.createMediaStreamSource(this.stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
      this.onTick((performance.now() - this.started) / 1000, Math.min(1, rms * 4));
      this.frame = requestAnimationFrame(tick);
    };
    tick();
  }

  stop() {
    return new Promise((resolve) => {
      this.recorder.onstop = () => {
        const type = this.recorder.mimeType || "audio/webm";
        resolve(new Blob(this.chunks, { type }));
      };
      this.recorder.stop();
      cancelAnimationFrame(this.frame);
      this.stream.getTracks().forEach((track) => track.stop());
      this.audio.close();
    });
  }
}

export function extensionFor(type) {
  if (type.includes("mp4")) return "m4a";
  if (type.includes("ogg")) return "ogg";
  return "webm";
}
