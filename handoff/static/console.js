// Live updates for the operator console: one WebSocket per page.
// Queue pages re-fetch their list; a conversation page appends new messages.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var live = main && main.dataset.live;
  if (!live) return;
  var cid = main.dataset.cid || "";
  var delay = 1000;

  function refreshQueue() {
    var box = document.getElementById("queue");
    if (!box) { if (live !== "conversation") location.reload(); return; }
    fetch("/console/queue.part", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () {});
  }

  function appendMessage(event) {
    var list = document.getElementById("history");
    if (!list) return;
    var li = document.createElement("li");
    li.className = "from-" + event.sender;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = event.sender === "client" ? "Клиент" : event.sender === "operator" ? "Оператор" : "Помощник";
    var time = document.createElement("time");
    time.textContent = event.time || "";
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = event.text;  // never innerHTML: the text comes from a client
    li.append(who, " ", time, text);
    list.appendChild(li);
    li.scrollIntoView({block: "nearest"});
  }

  // No automatic reload on a conversation page: it could discard a reply being typed.
  function statusChanged() {
    if (document.getElementById("changed")) return;
    var p = document.createElement("p");
    p.id = "changed";
    p.className = "note";
    p.setAttribute("role", "status");
    p.append("Статус разговора изменился. ");
    var a = document.createElement("a");
    a.href = location.pathname;
    a.textContent = "Обновить страницу";
    p.append(a);
    main.insertBefore(p, main.firstChild);
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + "/console/ws?cid=" + encodeURIComponent(cid));
    var beat;
    ws.onopen = function () {
      delay = 1000;
      document.body.dataset.live = "connected";
      beat = setInterval(function () { ws.send(JSON.stringify({type: "heartbeat"})); }, 20000);
    };
    ws.onmessage = function (msg) {
      var event = JSON.parse(msg.data);
      if (event.type === "message" && live === "conversation") appendMessage(event);
      else if (event.type === "queue" && live === "conversation" && event.cid === cid) statusChanged();
      else if (event.type === "queue" && (live === "queue" || live === "supervisor")) refreshQueue();
      else if (event.type === "callback" && live === "callbacks") location.reload();
    };
    ws.onclose = function (event) {
      clearInterval(beat);
      document.body.dataset.live = "disconnected";
      // 4401: signed out (or the session ended elsewhere); 4403: no longer this
      // operator's conversation. Reconnecting would not help: say what to do.
      if (event.code === 4401) { location.assign("/console/login"); return; }
      if (event.code === 4403) { statusChanged(); return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
