// FloorSync edge pages: sign-in by badge (and a supervisor's PIN) for a session token.
// The token stays in this tab's sessionStorage and goes out as a header (streams: ?token=),
// never as a cookie. Any 401 locks the page again. Server strings go through textContent.
"use strict";

window.EdgeSignIn = (() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  let key = "", token = null, me = null, onReady = null, onLock = null, lineOnly = false;
  let pinTimer = null;

  function el(tag, cls, text, props) {
    const node = Object.assign(document.createElement(tag), props);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // the overlay: built here so both pages share it
  const form = el("form", "signin panel", undefined, { id: "signin", autocomplete: "off", hidden: true });
  const title = el("h2", null, "Sign in");
  const hint = el("p", "hint", "");
  const badge = el("input", null, undefined, { id: "signin-badge", name: "badge", type: "text", autocomplete: "off", spellcheck: false, inputMode: "none" });
  const pinLabel = el("label", null, "PIN ");
  const pin = el("input", null, undefined, { id: "signin-pin", name: "pin", type: "password", inputMode: "numeric", autocomplete: "off" });
  pinLabel.append(pin);
  const badgeLabel = el("label", null, "Badge ");
  badgeLabel.append(badge);
  const error = el("p", "signin-error", "", { id: "signin-error", role: "alert" });
  const submit = el("button", "btn btn-primary", "Sign in", { type: "submit" });
  form.append(title, hint, badgeLabel, pinLabel, error, submit);

  const who = el("span", "who", "", { id: "who" });
  const out = el("button", "btn btn-secondary btn-small", "Sign out", { type: "button", id: "signout", hidden: true });

  // At a terminal the PIN field shows only for a supervisor's badge, and not for long: the
  // next worker's scan must not land in it as a wrong PIN.
  function showPin(on) {
    pinLabel.hidden = !on; pin.required = on;
    clearTimeout(pinTimer);
    if (on && !lineOnly) pinTimer = setTimeout(() => { form.reset(); showPin(false); error.textContent = ""; focusField(); }, 30000);
  }
  function focusField() { (pinLabel.hidden || !badge.value ? badge : pin).focus({ preventScroll: true }); }

  function lock(message) {
    token = null; me = null;
    if (onLock) onLock();  // the page stops its live view
    sessionStorage.removeItem(key);
    document.body.classList.add("locked");
    form.hidden = false; out.hidden = true; who.textContent = "";
    form.reset(); showPin(lineOnly);
    error.textContent = message || "";
    focusField();
  }

  function unlock(t, who_) {
    token = t; me = who_;
    sessionStorage.setItem(key, t);
    document.body.classList.remove("locked");
    form.hidden = true; out.hidden = false;
    who.textContent = me.name + (me.role === "supervisor" ? " (supervisor)" : "");
    if (onReady) onReady(me);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!pinLabel.hidden && pin.value && !/^[0-9]+$/.test(pin.value.trim())) {
      badge.value = pin.value;  // a badge scanned into the PIN field: the next one signing in
      pin.value = "";
      if (!lineOnly) showPin(false);
    }
    const body = { badge: badge.value.trim(), station: lineOnly ? null : station() };
    if (!body.badge) { focusField(); return; }
    if (!pinLabel.hidden && pin.value) body.pin = pin.value;
    submit.disabled = true;
    fetch("/api/v1/sessions", { method: "POST", headers: { Accept: "application/json", "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(async (res) => {
        const data = await res.json().catch(() => null);
        if (res.ok && data && data.token) { unlock(data.token, data); if (data.message && window.EdgeSignIn.onMessage) window.EdgeSignIn.onMessage(data.message); return; }
        const err = data && data.error;
        if (err && err.code === "pin_needed") { showPin(true); error.textContent = err.message; pin.focus(); return; }
        pin.value = "";
        badge.value = "";  // the next scan starts afresh
        showPin(lineOnly);
        error.textContent = err ? err.message : "The edge answered HTTP " + res.status;
        focusField();
      })
      .catch(() => { error.textContent = "No answer from the edge: try again."; })
      .finally(() => { submit.disabled = false; });
  });
  badge.addEventListener("keydown", (e) => {
    // a supervisor's badge scan ends with Enter: go on to the PIN rather than submit without one
    if (e.key === "Enter" && !pinLabel.hidden && !pin.value) { e.preventDefault(); pin.focus(); }
  });
  out.addEventListener("click", () => {
    if (token) fetch("/api/v1/sessions/current", { method: "DELETE", headers: { Authorization: "Bearer " + token } }).catch(() => {});
    lock("Signed out.");
  });

  let stationName = null;
  const station = () => stationName;

  return {
    // station: the terminal's station, or null for the line dashboard (supervisors only)
    start(options) {
      stationName = options.station || null;
      lineOnly = !stationName;
      onReady = options.onReady;
      onLock = options.onLock || null;
      key = "floorsync.edge.token." + (stationName || "line");
      title.textContent = lineOnly ? "Line dashboard: supervisor sign-in" : "Station " + stationName + ": sign in";
      hint.textContent = lineOnly ? "Scan your supervisor badge, then enter your PIN." : "Scan your badge. A supervisor also enters the PIN.";
      document.body.append(form);
      const bar = $("header.bar");
      if (bar) bar.append(who, out);
      const saved = sessionStorage.getItem(key);
      if (!saved) { lock(""); return; }
      fetch("/api/v1/sessions/current", { headers: { Authorization: "Bearer " + saved, Accept: "application/json" } })
        .then(async (res) => { if (res.ok) unlock(saved, await res.json()); else lock(""); })
        .catch(() => lock("No answer from the edge: try again."));
    },
    headers(more) { return Object.assign({ Authorization: "Bearer " + (token || "") }, more || {}); },
    streamUrl(path) { return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token || ""); },
    signedIn: () => !!token,
    me: () => me,
    focus: focusField,
    locked: () => !form.hidden,
    // a 401 anywhere: the sign-in ended (idle, its hours, logged out at the station)
    token: () => token,
    // a 401 anywhere: the sign-in ended (idle, its hours, logged out at the station);
    // ``used``: the token that request carried, so a late answer to the last user's
    // request cannot lock the next one out
    lost(message, used) {
      if (used !== undefined && used !== token) return;
      if (token || form.hidden) lock(message || "Your sign-in ended: scan your badge again.");
    },
    onMessage: null,
  };
})();
