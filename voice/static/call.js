// «Позвонить помощнику»: microphone up (16 kHz PCM over a WebSocket), speech down, on-screen keypad.
// When the line understands only keys (status.speech false) the microphone is not asked for.
(() => {
  const RATE = 16000;
  const $ = (id) => document.getElementById(id);
  const statusEl = $("status"), logEl = $("log"), partialEl = $("partial");
  const callBtn = $("call"), hangupBtn = $("hangup");
  let ws = null, ctx = null, stream = null, capture = null, playHead = 0, playing = [], speech = true;

  function setStatus(text, on) {
    statusEl.textContent = text;
    statusEl.className = on === undefined ? "" : on ? "on" : "off";
  }
  function addLine(kind, text) {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    logEl.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }
  function showStatus(s) {
    setStatus(s.message, s.on);
    speech = s.speech !== false;
    callBtn.disabled = !s.on;
  }

  async function checkStatus() {
    try {
      const resp = await fetch("/call/status");
      const s = await resp.json();
      showStatus(s);
      if (s.on && s.speech) setStatus("Голосовой помощник на связи. Нажмите «Позвонить» и разрешите доступ к микрофону.", true);
    } catch (e) {
      setStatus("Не удалось связаться с сервером. Проверьте подключение к интернету и обновите страницу.", false);
    }
  }

  function play(buffer) {
    const pcm = new Int16Array(buffer);
    if (!pcm.length || !ctx) return;
    const audio = ctx.createBuffer(1, pcm.length, RATE);
    const data = audio.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 0x8000;
    const src = ctx.createBufferSource();
    src.buffer = audio;
    src.connect(ctx.destination);
    const at = Math.max(ctx.currentTime + 0.05, playHead);
    src.start(at);
    playHead = at + audio.duration;
    playing.push(src);
    src.onended = () => { playing = playing.filter((s) => s !== src); };
  }
  function stopPlayback() {
    for (const src of playing) { try { src.stop(); } catch (e) { /* already stopped */ } }
    playing = [];
    playHead = 0;
  }

  function onMessage(event) {
    if (typeof event.data !== "string") { play(event.data); return; }
    const msg = JSON.parse(event.data);
    if (msg.type === "status") {
      showStatus(msg);
      if (msg.on) setStatus(msg.speech ? "Идёт звонок. Говорите — помощник вас слушает."
                                       : "Идёт звонок. Выбирайте пункты кнопками с цифрами.", true);
    } else if (msg.type === "say") {
      addLine("bot", msg.text);
    } else if (msg.type === "transcript") {
      if (msg.final) { partialEl.textContent = ""; addLine("you", msg.text); }
      else partialEl.textContent = (msg.text || "Слушаю") + "…";
    } else if (msg.type === "stop") {
      stopPlayback();
    } else if (msg.type === "hangup") {
      finish("Звонок завершён. Чтобы позвонить снова, нажмите «Позвонить».");
    }
  }

  async function startCall() {
    if (speech && (!window.isSecureContext || !navigator.mediaDevices)) {
      setStatus("Браузер не даёт доступ к микрофону на этой странице. Откройте её по адресу https://… и попробуйте снова.", false);
      return;
    }
    callBtn.disabled = true;
    setStatus("Подключаюсь…");
    try {
      ctx = new AudioContext();
      await ctx.resume();
      if (speech) {  // keypad only: no microphone needed
        stream = await navigator.mediaDevices.getUserMedia({
          audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
        await ctx.audioWorklet.addModule("/call/static/capture-worklet.js");
        capture = new AudioWorkletNode(ctx, "capture", { processorOptions: { targetRate: RATE } });
        ctx.createMediaStreamSource(stream).connect(capture);
      }
    } catch (e) {
      finish("Не удалось включить микрофон. Разрешите браузеру доступ к микрофону и нажмите «Позвонить» ещё раз.");
      return;
    }
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/call/ws");
    ws.binaryType = "arraybuffer";
    ws.onmessage = onMessage;
    ws.onclose = () => finish("Звонок завершён. Чтобы позвонить снова, нажмите «Позвонить».");
    ws.onerror = () => finish("Связь прервалась. Проверьте подключение к интернету и позвоните ещё раз.");
    if (capture) capture.port.onmessage = (e) => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(e.data); };
    hangupBtn.hidden = false;
  }

  function finish(text) {
    if (ws) { const w = ws; ws = null; w.onclose = w.onerror = null; try { w.close(); } catch (e) { /* closed */ } }
    stopPlayback();
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
    if (ctx) { ctx.close(); ctx = null; }
    capture = null;
    partialEl.textContent = "";
    hangupBtn.hidden = true;
    callBtn.disabled = false;
    if (text) setStatus(text);
  }

  callBtn.addEventListener("click", startCall);
  hangupBtn.addEventListener("click", () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "hangup" }));
    finish("Звонок завершён. Спасибо!");
  });
  document.querySelectorAll("#keypad button").forEach((b) => b.addEventListener("click", () => {
    if (ws && ws.readyState === WebSocket.OPEN) {
      stopPlayback();
      ws.send(JSON.stringify({ type: "dtmf", digit: b.dataset.key }));
    }
  }));
  checkStatus();
})();
