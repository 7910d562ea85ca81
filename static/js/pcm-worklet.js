// Conversation mode's microphone tap: the input, mixed to mono and resampled to 16 kHz (linear), posted to
// the page in pieces of 100 ms as 16-bit PCM, which it sends to /ws/chats/<ci>/voice/ as binary frames.
const TARGET = 16000;
const PIECE = 1600; // samples: 100 ms

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET; // input samples per output sample
    this.position = 0; // where the next output sample falls, in this block's input samples
    this.last = 0; // the previous block's last sample, for interpolating across blocks
    this.out = new Int16Array(PIECE);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || !channels.length) return true;
    const length = channels[0].length;
    const mono = new Float32Array(length);
    for (const channel of channels) for (let i = 0; i < length; i++) mono[i] += channel[i] / channels.length;
    while (this.position < length) {
      const index = Math.floor(this.position);
      const fraction = this.position - index;
      const before = index === 0 ? this.last : mono[index - 1];
      const value = index === 0 && fraction === 0 ? this.last : before + (mono[index] - before) * fraction;
      this.out[this.filled++] = Math.max(-1, Math.min(1, value)) * 32767;
      if (this.filled === PIECE) {
        this.port.postMessage(this.out.buffer.slice(0));
        this.filled = 0;
      }
      this.position += this.step;
    }
    this.position -= length;
    this.last = mono[length - 1];
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
