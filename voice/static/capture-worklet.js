// Microphone → 16 kHz signed 16-bit PCM in 100 ms chunks, posted to the page.
// Box-filter decimation: averaging each output window is the low-pass.
class Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const target = (options.processorOptions && options.processorOptions.targetRate) || 16000;
    this.ratio = sampleRate / target;
    this.size = Math.round(target / 10);
    this.chunk = new Int16Array(this.size);
    this.n = 0; this.acc = 0; this.count = 0; this.phase = 0;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.acc += channel[i]; this.count++; this.phase += 1;
      if (this.phase >= this.ratio) {
        const v = Math.max(-1, Math.min(1, this.acc / this.count));
        this.chunk[this.n++] = v < 0 ? v * 0x8000 : v * 0x7fff;
        this.acc = 0; this.count = 0; this.phase -= this.ratio;
        if (this.n === this.size) {
          this.port.postMessage(this.chunk.buffer, [this.chunk.buffer]);
          this.chunk = new Int16Array(this.size); this.n = 0;  // the old buffer was transferred
        }
      }
    }
    return true;
  }
}
registerProcessor("capture", Capture);
