/* The assistant's chat window for an organisation's site (bot/channels/widget.py).
 * Paste into the page:
 *   <script src="https://ASSISTANT/widget.js" data-site-key="KEY" async></script>
 * Keeps only a random browser id in localStorage (never anything the visitor wrote);
 * the conversation itself comes from the assistant on every page load. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__mbWidgetLoaded) return;
  window.__mbWidgetLoaded = true;
  var config = window.__mbWidgetConfig || {};
  var siteKey = script.getAttribute("data-site-key") || "";
  var base = new URL(script.src, document.baseURI);
  var socketUrl = (base.protocol === "https:" ? "wss:" : "ws:") + "//" + base.host + "/widget/ws?key=" +
    encodeURIComponent(siteKey);
  var storeKey = "mb-widget:" + siteKey + ":";

  function stored(name, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(storeKey + name);
      window.localStorage.setItem(storeKey + name, value);
    } catch (e) { /* private mode: the chat still works for this page */ }
    return value;
  }

  function browserId() {
    var id = stored("browser");
    if (id && /^[A-Za-z0-9_-]{22,64}$/.test(id)) return id;
    var bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    id = btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return stored("browser", id);
  }

  // Text on the organisation's colour: white or black, whichever reads better (WCAG contrast).
  function inkFor(hex) {
    var n = parseInt((hex || "#1f5fa8").slice(1), 16);
    var lin = [n >> 16, (n >> 8) & 255, n & 255].map(function (c) {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    return (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) ? "#ffffff" : "#000000";
  }

  var color = /^#[0-9a-fA-F]{6}$/.test(config.color || "") ? config.color : "#1f5fa8";
  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 999px;",
    "  padding: 14px 20px; font-size: 16px; font-weight: 600; background: var(--mb-color); color: var(--mb-ink);",
    "  box-shadow: 0 4px 16px rgba(0,0,0,.25); cursor: pointer; }",
    ".launcher .badge { display: inline-block; min-width: 1.4em; margin-left: 8px; padding: 0 6px; border-radius: 999px;",
    "  background: #c62828; color: #fff; font-size: 13px; line-height: 1.4em; }",
    // yellow on the organisation's colour, a dark ring around it on white: visible on both
    "button:focus-visible, a:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 0;",
    "  box-shadow: 0 0 0 6px #1a1a1a; }",
    ".panel { position: fixed; right: 20px; bottom: 20px; z-index: 2147483001; width: 380px; max-width: calc(100vw - 40px);",
    "  height: 600px; max-height: calc(100vh - 40px); display: flex; flex-direction: column; background: #fff; color: #1a1a1a;",
    "  border-radius: 12px; box-shadow: 0 8px 32px rgba(0,0,0,.3); overflow: hidden; font-size: 15px; line-height: 1.45; }",
    ".panel[hidden], .launcher[hidden] { display: none; }",
    "header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: var(--mb-color); color: var(--mb-ink); }",
    "header .names { flex: 1; min-width: 0; }",
    "header h2 { margin: 0; font-size: 17px; }",
    "header p { margin: 0; font-size: 13px; opacity: .9; }",
    ".close { border: 0; background: transparent; color: inherit; font-size: 24px; line-height: 1; padding: 4px 10px; cursor: pointer; border-radius: 6px; }",
    ".scroll { flex: 1; overflow-y: auto; }",
    ".notice { margin: 12px 12px 4px; padding: 8px 10px; font-size: 13px; background: #f3f6fa; color: #333; border-radius: 8px; }",
    ".log { margin: 0; padding: 8px 12px 12px; list-style: none; }",
    ".log li { margin: 0 0 10px; display: flex; flex-direction: column; }",
    ".bubble { max-width: 85%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".client { align-items: flex-end; }",
    ".client .bubble { background: var(--mb-color); color: var(--mb-ink); }",
    ".assistant .bubble, .operator .bubble { background: #eef1f5; }",
    ".operator .bubble { border-left: 4px solid var(--mb-color); }",
    ".who { font-size: 12px; color: #555; margin: 0 4px 2px; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    ".bubble a { color: inherit; }",
    ".choices { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; max-width: 95%; }",
    ".choice { border: 1px solid var(--mb-color); background: #fff; color: var(--mb-text); border-radius: 16px; padding: 6px 12px;",
    "  font-size: 14px; cursor: pointer; text-decoration: none; }",
    ".choice:hover { background: #f3f6fa; }",
    ".bubble img { display: block; max-width: 220px; width: 100%; margin: 4px 0 8px; background: #fff; }",
    ".status { min-height: 1.4em; margin: 0; padding: 0 14px; font-size: 13px; color: #555; }",
    "form { display: flex; gap: 8px; padding: 10px 12px 12px; border-top: 1px solid #dde3ea; }",
    "form label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }",
    "textarea { flex: 1; resize: none; min-height: 42px; max-height: 120px; padding: 10px; font-size: 15px;",
    "  border: 1px solid #8a94a0; border-radius: 8px; color: #1a1a1a; }",
    ".send { border: 0; border-radius: 8px; padding: 0 16px; background: var(--mb-color); color: var(--mb-ink); font-size: 15px;",
    "  font-weight: 600; cursor: pointer; }",
    ".send:disabled, textarea:disabled { opacity: .6; cursor: not-allowed; }",
    "@media (max-width: 480px) { .panel { right: 0; bottom: 0; width: 100vw; max-width: 100vw; height: 100%; max-height: 100%;",
    "  border-radius: 0; } .launcher { right: 12px; bottom: 12px; } }",
    ".scroll:focus-visible { outline: 3px solid #1a1a1a; outline-offset: -3px; }"
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Text with its web addresses made into links (built as DOM nodes, never as HTML).
  function linkified(text) {
    var frag = document.createDocumentFragment();
    var re = /https?:\/\/[^\s<>«»"]+[^\s<>«»".,;:!?)]/g, last = 0, m;
    while ((m = re.exec(text))) {
      frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = el("a", { href: m[0], target: "_blank", rel: "noopener noreferrer" }, m[0]);
      frag.appendChild(a);
      last = m.index + m[0].length;
    }
    frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  }

  var host = el("div", { id: "mb-chat-widget", lang: "ru" });  // read in Russian on a page in any language
  var root = host.attachShadow({ mode: "open" });
  var style = el("style", {}, CSS);
  root.appendChild(style);
  host.style.setProperty("--mb-color", color);
  host.style.setProperty("--mb-ink", inkFor(color));
  host.style.setProperty("--mb-text", inkFor(color) === "#ffffff" ? color : "#1a1a1a");

  var title = config.title || "Чат";
  var launcher = el("button", { "class": "launcher", type: "button", "aria-haspopup": "dialog",
                                "aria-expanded": "false", "aria-controls": "mb-panel" });
  var launcherLabel = el("span", {}, "Задать вопрос");
  var badge = el("span", { "class": "badge", hidden: "" });
  launcher.appendChild(launcherLabel);
  launcher.appendChild(badge);

  var panel = el("section", { "class": "panel", id: "mb-panel", role: "dialog", "aria-modal": "false",
                              "aria-labelledby": "mb-title", "aria-describedby": "mb-notice", hidden: "" });
  var header = el("header");
  var names = el("div", { "class": "names" });
  names.appendChild(el("h2", { id: "mb-title" }, title));
  names.appendChild(el("p", {}, config.subtitle || ""));
  var close = el("button", { "class": "close", type: "button", "aria-label": "Закрыть чат" }, "×");
  header.appendChild(names);
  header.appendChild(close);
  var notice = el("p", { "class": "notice", id: "mb-notice" }, config.notice || "");
  var scroller = el("div", { "class": "scroll", tabindex: "0", "aria-label": "Сообщения" });
  var log = el("ol", { "class": "log", role: "log", "aria-live": "polite", "aria-label": "Переписка" });
  scroller.appendChild(notice);
  scroller.appendChild(log);
  var status = el("p", { "class": "status", role: "status" });
  var form = el("form", { "aria-label": "Новое сообщение" });
  var label = el("label", { "for": "mb-input" }, "Ваше сообщение");
  var input = el("textarea", { id: "mb-input", rows: "1", maxlength: "4096", placeholder: "Напишите вопрос…",
                               autocomplete: "off" });
  var send = el("button", { "class": "send", type: "submit" }, "Отправить");
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);
  [header, scroller, status, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher);
  root.appendChild(panel);

  var socket = null, cursor = "", retry = 1000, refused = false, unread = 0, shown = {}, opened = false;
  var historyLoaded = false, greeted = false;
  var WHO = { client: "Вы", assistant: config.subtitle || "Помощник", operator: "Оператор" };

  function say(text) { status.textContent = text; }

  function setUnread(n) {
    unread = n;
    badge.hidden = !n;
    badge.textContent = n ? String(n) : "";
    launcher.setAttribute("aria-label", n ? "Задать вопрос — новых сообщений: " + n : "Задать вопрос");
  }

  function press(button) {
    if (!socket || socket.readyState !== 1) { say("Нет связи с помощником, переподключаюсь…"); return; }
    socket.send(JSON.stringify({ type: "press", payload: button.payload, title: button.title }));
  }

  function render(item) {
    if (shown[item.id]) return;
    shown[item.id] = true;
    var li = el("li", { "class": item.from });
    var who = el("span", { "class": item.from === "client" ? "sr" : "who" }, WHO[item.from] + ":");
    li.appendChild(who);
    var bubble = el("div", { "class": "bubble" });
    if (item.image) {
      var img = el("img", { src: item.image, alt: "QR-код для оплаты: те же реквизиты — в тексте сообщения" });
      img.addEventListener("load", function () { scroller.scrollTop = scroller.scrollHeight; });
      bubble.appendChild(img);
    }
    bubble.appendChild(linkified(item.text || ""));
    li.appendChild(bubble);
    if (item.buttons && item.buttons.length) {
      var group = el("div", { "class": "choices", role: "group", "aria-label": "Варианты ответа" });
      item.buttons.forEach(function (b) {
        var node;
        if (b.url) {
          node = el("a", { "class": "choice", href: b.url, target: "_blank", rel: "noopener noreferrer" }, b.title);
        } else {
          node = el("button", { "class": "choice", type: "button" }, b.title);
          node.addEventListener("click", function () { press(b); });
        }
        group.appendChild(node);
      });
      li.appendChild(group);
    }
    log.appendChild(li);
    scroller.scrollTop = scroller.scrollHeight;
    if (!opened && item.from !== "client") setUnread(unread + 1);
  }

  // An empty conversation in an open window: the assistant greets and offers its topics.
  function greet() {
    if (!opened || greeted || !historyLoaded || log.children.length || !socket || socket.readyState !== 1) return;
    greeted = true;
    socket.send(JSON.stringify({ type: "start" }));
  }

  function connect() {
    if (refused || (socket && socket.readyState <= 1)) return;
    say(cursor ? "" : "Подключаюсь…");
    socket = new WebSocket(socketUrl);
    socket.onopen = function () {
      retry = 1000;
      socket.send(JSON.stringify({ type: "hello", browser: browserId(), after: cursor }));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "history" || frame.type === "items") {
        if (frame.type === "history") { say(""); log.setAttribute("aria-busy", "true"); }
        frame.items.forEach(function (item) { render(item); cursor = item.id; });
        log.removeAttribute("aria-busy");  // what was said before is not read out again, only what is new
        historyLoaded = true;
        greet();
        if (frame.items.length) stored("started", "1");
        if (frame.type === "items" && status.textContent === "Подключаюсь…") say("");
      } else if (frame.type === "typing") {
        say(frame.on ? (config.subtitle || "Помощник") + " печатает…" : "");
      } else if (frame.type === "notice") {
        say(frame.text);
        if (frame.unsent && !input.value) input.value = frame.unsent;  // not sent: ready to send again
      } else if (frame.type === "refused") {
        refused = true;
        say(frame.text);
        input.disabled = true;
        send.disabled = true;
      }
    };
    socket.onclose = function (event) {
      socket = null;
      if (refused || event.code === 4403 || event.code === 4400) return;
      say("Связь прервалась, переподключаюсь…");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  function open() {
    opened = true;
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    setUnread(0);
    scroller.scrollTop = scroller.scrollHeight;
    try { window.sessionStorage.setItem(storeKey + "open", "1"); } catch (e) { /* ignore */ }
    connect();
    greet();
    input.focus();
  }

  function shut() {
    opened = false;
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    try { window.sessionStorage.removeItem(storeKey + "open"); } catch (e) { /* ignore */ }
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  close.addEventListener("click", shut);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); shut(); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { say("Напишите, пожалуйста, вопрос."); input.focus(); return; }
    if (!socket || socket.readyState !== 1) { say("Нет связи с помощником, переподключаюсь…"); connect(); return; }
    socket.send(JSON.stringify({ type: "message", text: text }));
    input.value = "";
    input.focus();
  });

  function start() {
    document.body.appendChild(host);
    var wasOpen = false;
    try { wasOpen = window.sessionStorage.getItem(storeKey + "open") === "1"; } catch (e) { /* ignore */ }
    if (wasOpen) open();
    else if (stored("started") === "1") connect();  // a conversation is going on: its messages arrive live
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
