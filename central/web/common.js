// FloorSync central pages: what every signed-in desk page shares (sign-in by API token for a session, the
// API with its error shape, the live stream, small formatters). Each page loads this first and
// calls FS.start(). Server strings only ever go through textContent.
"use strict";

window.FS = (() => {
  const TOKEN_KEY = "floorsync.token";
  const $ = (sel, root = document) => root.querySelector(sel);
  let token = sessionStorage.getItem(TOKEN_KEY);
  let page = null;  // what the page gave FS.start
  let source = null, retry = null, lost = false;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  const parse = (s) => { const t = s ? Date.parse(s) : NaN; return isNaN(t) ? null : t; };
  const when = (s) => { const t = parse(s); return t === null ? "–" : new Date(t).toLocaleString([],
    { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" }); };
  // A date without a time ("2026-12-15") is that calendar day anywhere: shown in UTC, as parsed,
  // not shifted a day back west of Greenwich.
  const date = (s) => { const t = parse(s); return t === null ? "–" : new Date(t).toLocaleDateString([],
    { day: "numeric", month: "short", year: "numeric", ...(/^\d{4}-\d{2}-\d{2}$/.test(s) ? { timeZone: "UTC" } : {}) }); };
  const money = (cents) => (cents === null || cents === undefined ? "–"
    : (cents / 100).toLocaleString([], { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
  const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)} %`);
  const qty = (x) => (x === null || x === undefined ? "–" : (+x).toLocaleString([], { maximumFractionDigits: 3 }));

  function say(text, error = false) {
    const node = $("#message");
    if (!node) return;
    Object.assign(node, { textContent: text || "", hidden: !text }).classList.toggle("error", error);
  }
  function setStale(on) { const s = $("#stale"); if (s) s.hidden = !on; document.body.classList.toggle("stale", on); }
  const failed = (e) => (e.status ? `${e.code}: ${e.message}` : "Central is not reachable.");
  // A read that failed: a 401 has signed out already; an answer says why; no answer is staleness.
  function readFailed(e) { if (!e.auth) { if (e.status) say(failed(e), true); else setStale(true); } }

  // A table: columns are [heading, row => text or node]; rows are data; empty says so.
  function table(columns, rows, empty = "None") {
    if (!rows.length) return el("p", "muted", empty);
    const t = el("table", "grid");
    const head = el("tr");
    for (const [title] of columns) head.append(el("th", null, title));
    t.append(el("thead"), el("tbody"));
    t.tHead.append(head);
    for (const row of rows) {
      const tr = el("tr");
      for (const [, value] of columns) {
        const v = value(row);
        const td = el("td");
        if (v instanceof Node) td.append(v); else td.textContent = v === null || v === undefined ? "–" : String(v);
        tr.append(td);
      }
      t.tBodies[0].append(tr);
    }
    return t;
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", "Content-Type": "application/json", Authorization: "Bearer " + token };
    const res = await fetch(path, { ...options, headers });
    const body = await res.json().catch(() => null);
    if (res.ok) return body;
    const e = (body && body.error) || {};
    const failure = Object.assign(new Error(e.message || `HTTP ${res.status}`), { status: res.status, code: e.code || "", details: e.details || null });
    if ((failure.auth = res.status === 401)) signOut(failure.message);
    throw failure;
  }

  function reload() {
    if (!token || !page || !page.load) return Promise.resolve();
    return Promise.resolve(page.load()).then(() => setStale(false)).catch(readFailed);
  }

  // An EventSource on one of the API's streams, signed with the token (EventSource sends no headers).
  function events(path) {
    const sep = path.includes("?") ? "&" : "?";
    return new EventSource(path + sep + "token=" + encodeURIComponent(token));
  }

  function connect() {
    if (!token || !page.stream) return;
    source = events(page.stream.path);
    for (const name of page.stream.events) source.addEventListener(name, () => { setStale(false); reload(); });
    source.addEventListener("ping", () => setStale(false));
    source.onopen = () => { setStale(false); if (lost) { lost = false; reload(); } };
    source.onerror = () => {
      setStale(true);
      lost = true;
      if (source.readyState === EventSource.CLOSED) { disconnect(); retry = setTimeout(connect, 3000); reload(); }
    };
  }
  function disconnect() { clearTimeout(retry); if (source) source.close(); source = null; }
  function signedIn(on) { $("#app").hidden = $("#signout").hidden = !on; $("#signin").hidden = on; }
  function signOut(message) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    disconnect();
    if (page && page.signedOut) page.signedOut();
    setStale(false);
    say(null);
    signedIn(false);
    Object.assign($("#signin-error"), { textContent: message || "", hidden: !message });
    $("#token").value = "";
    $("#token").focus();
  }
  // The pasted API token is traded for a session token that expires (POST /api/v1/sessions);
  // only the session token is kept, for this tab.
  async function exchange(apiToken) {
    const submit = $("#signin button[type=submit]");
    submit.disabled = true;
    try {
      const res = await fetch("/api/v1/sessions", { method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" }, body: JSON.stringify({ token: apiToken }) });
      const body = await res.json().catch(() => null);
      if (res.ok && body && body.token) signIn(body.token);
      else signOut(((body && body.error) || {}).message || `HTTP ${res.status}`);
    } catch (e) {
      signOut("Central is not reachable.");
    } finally {
      submit.disabled = false;
    }
  }
  function endSession() {
    if (token) fetch("/api/v1/sessions/current", { method: "DELETE", headers: { Authorization: "Bearer " + token } }).catch(() => {});
    signOut(null);
  }
  function signIn(t) {
    token = t;
    sessionStorage.setItem(TOKEN_KEY, t);
    signedIn(true);
    reload();
    connect();
    if (page.signedIn) page.signedIn();
  }

  // page: {load?: () => Promise, stream?: {path, events: [names]}, and for a page that reads and
  // follows streams its own way, signedIn?: () => void after sign-in, signedOut?: () => void}
  // What every signed-in desk page has around its <main>: the pages' nav in the top bar,
  // the stale banner, the message line and the sign-in form. Made here once, not in each page.
  const PAGES = [["/planner", "Planner"], ["/customers", "Customers"], ["/pipeline", "Pipeline"], ["/leads", "Leads"],
    ["/quotes", "Quotes"], ["/sales-orders", "Orders"], ["/my-day", "My day"], ["/trace", "Trace"],
    ["/import", "Import"], ["/sales-setup", "Setup"]];
  function chrome() {
    const bar = $(".topbar"), where = $(".topbar .where");
    if (bar && where && !$(".desk-nav")) {
      const nav = el("nav", "desk-nav");
      nav.setAttribute("aria-label", "pages");
      for (const [href, name] of PAGES) {
        const a = el("a", null, name);
        a.href = href;
        if (location.pathname === href || location.pathname.startsWith(href + "/")) a.setAttribute("aria-current", "page");
        nav.append(a);
      }
      where.after(nav);
    }
    if ($("#signin")) return;
    const stale = el("div", "banner banner-unreachable", "Live updates lost – this page may be out of date. Reconnecting…");
    Object.assign(stale, { id: "stale", hidden: true });
    stale.setAttribute("role", "alert");
    const message = el("div", "message-line");
    Object.assign(message, { id: "message", hidden: true });
    message.setAttribute("role", "status");
    message.setAttribute("aria-live", "polite");
    const form = el("form", "panel signin");
    Object.assign(form, { id: "signin", hidden: true, autocomplete: "off" });
    const hint = el("p", "hint", "Paste your API token (as ");
    hint.append(el("code", null, "floorsync central user add"), " printed it). It opens a session for this tab that ends after some hours, or when idle.");
    const label = el("label", null, "API token ");
    const input = el("input");
    Object.assign(input, { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: false, required: true });
    label.append(input);
    const error = el("p", "error");
    Object.assign(error, { id: "signin-error", hidden: true });
    error.setAttribute("role", "alert");
    const submit = el("button", "btn btn-primary", "Sign in");
    submit.type = "submit";
    form.append(el("h2", null, "Sign in"), hint, label, error, submit);
    bar.after(stale, message, form);
  }

  function start(spec) {
    page = spec;
    chrome();
    $("#signin").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("#token").value.trim();
      if (t) exchange(t);
    });
    $("#signout").addEventListener("click", endSession);
    if (token) signIn(token); else signOut(null);
  }

  const isSignedIn = () => token !== null;
  return {
    $, el, parse, when, date, money, pct, qty, say, setStale, failed, readFailed, table,
    api, events, isSignedIn, reload, start,
  };
})();
