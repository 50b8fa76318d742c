// FloorSync line dashboard: renders the edge's line view; durations tick here, between views.
// Server strings only ever go through textContent.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const SEVERITY = { critical: 0, warning: 1 };

  let skew = 0;          // client clock minus edge clock, so durations do not depend on the screen's clock
  let receivedAt = 0;
  let sync = null;
  let lastRender = 0;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  const num = (n) => (n === null || n === undefined ? "–" : String(Math.round(Number(n) * 1000) / 1000));
  const pct = (x) => (x === null || x === undefined ? "–" : Math.round(x * 100) + " %");
  const pad = (n) => String(n).padStart(2, "0");
  const edgeNow = () => Date.now() - skew;
  function time(iso) {
    const d = iso ? new Date(iso) : null;
    return d && !isNaN(d) ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "–";
  }
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
  }
  function ago(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  }
  const since = (iso) => (edgeNow() - Date.parse(iso)) / 1000;

  // ---- rendering
  function render(v) {
    const now = Date.parse(v.now);
    if (!isNaN(now)) skew = Date.now() - now;
    receivedAt = Date.now();
    $("#edge-id").textContent = v.edge_id || "–";
    document.title = "FloorSync " + (v.edge_id || "line");
    const shift = $("#shift");
    shift.textContent = v.shift ? `Shift ${v.shift.name}  ${time(v.shift.start)}–${time(v.shift.end)}` : "No shift";
    shift.dataset.shift = v.shift ? v.shift.name : "";
    const stations = v.stations || [];
    $("#stations").replaceChildren(...(stations.length ? stations.map(card)
      : [el("p", "muted", "No stations configured on this edge")]));
    renderAlarms(v.alarms || []);
    sync = v.sync || null;
    renderSync();
    tick();
    lastRender = Date.now();
    document.body.dataset.viewAt = String(lastRender);
  }

  function card(s) {
    const state = s.state || "unknown";
    const box = el("article", "card");
    box.dataset.station = s.station;
    box.dataset.state = state;

    const head = el("div", "card-head");
    head.append(el("h2", "card-station", s.station), el("span", "card-machine", s.machine || ""));

    const band = el("div", "state-band");
    band.dataset.state = state;
    const label = el("span", "state", s.state || "–");
    label.dataset.state = state;
    const ticking = el("span", "since");
    if (s.state_since) ticking.dataset.since = s.state_since;
    band.append(label, ticking);
    if (s.reason) band.append(el("span", "reason", s.reason));

    const job = el("div", "job");
    if (s.work_order) {
      job.append(el("strong", null, s.work_order), el("span", null, [s.item, s.operation].filter(Boolean).join(" · ")));
    } else {
      job.append(el("span", "muted", "No job"));
    }

    const counts = el("div", "counts");
    const figure = (cls, value, caption) => {
      const f = el("span", "figure " + cls + "-figure");
      f.append(el("span", cls, value), el("span", "caption", caption));
      return f;
    };
    counts.append(figure("good", num(s.good), "good"), figure("scrap", num(s.scrap), "scrap"),
      figure("target", num(s.target), "target"), figure("yield", s.yield === null || s.yield === undefined ? "–" : (s.yield * 100).toFixed(1) + " %", "yield"));

    const bar = el("div", "progress");
    const fill = el("div", "progress-fill");
    fill.style.width = (s.target > 0 ? Math.min(100, (100 * s.good) / s.target) : 0) + "%";
    bar.append(fill);

    const oee = el("div", "oee-grid");
    oee.append(oeeRow("oee-shift", "Shift OEE", s.oee && s.oee.shift), oeeRow("oee-hour", "Last hour OEE", s.oee && s.oee.last_hour));

    const crew = el("div", "card-crew", (s.crew || []).length ? s.crew.join(", ") : "No crew logged in");
    crew.classList.toggle("muted", !(s.crew || []).length);

    box.append(head, band, job, counts, bar, oee, crew);
    return box;
  }

  function oeeRow(cls, caption, o) {
    const row = el("div", "oee " + cls);
    row.dataset.oee = o && o.oee !== null && o.oee !== undefined ? String(o.oee) : "";
    const parts = el("span", "apq");
    for (const [k, key] of [["A", "availability"], ["P", "performance"], ["Q", "quality"]]) {
      const part = el("span", "apq-" + key, `${k} ${pct(o ? o[key] : null)}`);
      part.title = key;
      parts.append(part);
    }
    row.append(el("span", "oee-caption", caption), el("span", "oee-value", pct(o ? o.oee : null)), parts);
    return row;
  }

  function renderAlarms(alarms) {
    const list = $("#alarms");
    const sorted = alarms
      .map((a, i) => [a, i])
      .sort((x, y) => (SEVERITY[x[0].severity] ?? 2) - (SEVERITY[y[0].severity] ?? 2) || x[1] - y[1])
      .map(([a]) => a);
    list.dataset.count = String(sorted.length);
    if (!sorted.length) { list.replaceChildren(el("li", "alarm-none", "No alarms")); return; }
    list.replaceChildren(...sorted.map((a) => {
      const item = el("li", "alarm");
      item.dataset.severity = a.severity;
      const top = el("div", "alarm-top");
      const ticking = el("span", "since");
      if (a.since) ticking.dataset.since = a.since;
      top.append(el("span", "alarm-severity", a.severity), el("span", "alarm-source", a.source), ticking);
      item.append(top, el("div", "alarm-text", a.text));
      return item;
    }));
  }

  function renderSync() {
    const box = $("#sync");
    if (!sync) { box.dataset.connected = "unknown"; return; }
    box.dataset.connected = String(!!sync.connected);
    $(".sync-connected", box).textContent = sync.connected ? "connected" : "disconnected";
    $(".sync-depth", box).textContent = num(sync.outbox_depth) + " events";
    box.dataset.depth = String(sync.outbox_depth);
  }

  // Called every second: everything here is computed from the last view and the clock.
  function tick() {
    $("#clock").textContent = new Date(edgeNow()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    for (const node of document.querySelectorAll("[data-since]")) {
      const s = since(node.dataset.since);
      node.textContent = isNaN(s) ? "" : duration(s);
    }
    if (sync) {
      const age = sync.oldest_unsent_age_s;
      const grown = age === null || age === undefined ? null : age + (Date.now() - receivedAt) / 1000;
      $(".sync-oldest").textContent = grown === null ? "–" : duration(grown);
      $(".sync-ack").textContent = sync.last_ack_at ? ago(since(sync.last_ack_at)) : "never";
    }
    const staleFor = $(".stale-for");
    if (staleFor) staleFor.textContent = lastRender ? `Last update ${ago((Date.now() - lastRender) / 1000)}.` : "";
  }

  // ---- the stream
  let source = null;
  let lost = false;
  let streamViews = 0;
  let lastHeard = Date.now();
  let heardPing = false;
  function setStale(on) {
    $("#stale").hidden = !on;
    document.body.classList.toggle("stale", on);
  }
  function load() {
    const before = streamViews;
    const used = EdgeSignIn.token();
    return fetch("/api/v1/line", { headers: EdgeSignIn.headers({ Accept: "application/json" }) })
      .then((res) => {
        if (res.status === 401) { EdgeSignIn.lost(undefined, used); return Promise.reject(new Error("signed out")); }
        return res.ok ? res.json() : Promise.reject(new Error("HTTP " + res.status));
      })
      .then((v) => { if (streamViews === before) render(v); })
      .catch(() => setStale(true));
  }
  function connect() {
    if (source) source.close();
    if (!EdgeSignIn.signedIn()) return;
    source = new EventSource(EdgeSignIn.streamUrl("/api/v1/line/stream"));
    source.addEventListener("line", (e) => {
      lastHeard = Date.now();
      streamViews += 1;
      render(JSON.parse(e.data));
      setStale(false);
    });
    source.addEventListener("ping", () => { heardPing = true; lastHeard = Date.now(); });
    source.onopen = () => {
      lastHeard = Date.now();
      setStale(false);
      if (lost) { lost = false; load(); }
    };
    source.onerror = () => {
      setStale(true);
      lost = true;
      if (source.readyState === EventSource.CLOSED) {  // the edge restarts, or the sign-in ended
        source.close();
        load();
        setTimeout(connect, 3000);
      }
    };
  }
  setInterval(() => {
    tick();
    // Comment heartbeats are invisible to EventSource; only an "event: ping" lets us see a dead link.
    if (heardPing && source && Date.now() - lastHeard > 20000) {
      source.close();
      setStale(true);
      lost = true;
      heardPing = false;
      connect();
    }
  }, 1000);

  const staleFor = el("span", "stale-for");
  $("#stale").append(" ", staleFor);
  EdgeSignIn.start({
    station: null,
    onReady: () => { load(); connect(); },
    onLock: () => { if (source) { source.close(); source = null; } },
  });
})();
