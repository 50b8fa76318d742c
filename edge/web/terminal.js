// FloorSync station terminal: renders the edge's station view and sends scans and forms.
// Server strings only ever go through textContent: they come from barcodes.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const segments = location.pathname.split("/").filter(Boolean);
  const station = decodeURIComponent(segments[segments.length - 1] || "");
  const api = "/api/v1/stations/" + encodeURIComponent(station);

  let view = null;
  let seenMessageId = null;  // the message already shown, so a re-sent view does not flash it again
  let firstView = true;
  let jobKey = null, defectsKey = null, operationsKey = null;
  let scanned = {};  // code -> quantity of the defect scans the edge holds (view.defects), already in the form
  let queue = Promise.resolve();  // POSTs go one after another, in scan order

  // el("li", "cls", "text" | [children], {props})
  function el(tag, cls, content, props) {
    const node = Object.assign(document.createElement(tag), props);
    if (cls) node.className = cls;
    if (Array.isArray(content)) node.append(...content);
    else if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }
  const set = (sel, text) => { $(sel).textContent = text; };
  const now = () => new Date().toISOString();
  const qty = (n) => (n === null || n === undefined ? "–" : String(Math.round(Number(n) * 1000) / 1000));
  const pct = (x) => (x === null || x === undefined ? "–" : (x * 100).toFixed(1) + " %");
  const clock = (iso) => (iso && !isNaN(Date.parse(iso)) ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "");

  // ---- focus: the scan input has the keyboard unless someone is filling a form field
  const isField = (node) => !!node && !!node.matches && node.matches("input, select, textarea");
  function home() {  // while an approval is pending, the supervisor's badge and PIN come first
    if ($("#approval-form").hidden) return $("#scan");
    return $("#approval-badge").value ? $("#approval-pin") : $("#approval-badge");
  }
  const refocus = () => {
    if (EdgeSignIn.locked()) { EdgeSignIn.focus(); return; }
    if (document.activeElement !== home()) home().focus({ preventScroll: true });
  };
  document.addEventListener("click", (e) => {
    if (!isField(e.target) && !e.target.closest("[data-jump]")) setTimeout(refocus, 0);
  });
  const focusLost = () => { const a = document.activeElement; return !a || a === document.body || !!a.closest("[hidden]"); };
  document.addEventListener("focusout", () => setTimeout(() => { if (focusLost()) refocus(); }, 0));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { refocus(); return; }
    // A scanner typing while a button has focus: its characters belong in the scan input.
    if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey && !isField(document.activeElement)) {
      if (EdgeSignIn.locked()) EdgeSignIn.focus(); else $("#scan").focus({ preventScroll: true });
    }
  });
  window.addEventListener("focus", () => setTimeout(refocus, 0));

  // ---- message band
  function showBand({ accepted, text, reason, id, at }, animate) {
    const band = $("#message");
    band.classList.remove("accepted", "refused", "flash");
    band.classList.add(accepted ? "accepted" : "refused");
    band.dataset.reason = reason || "";
    $(".message-text", band).textContent = text || (accepted ? "OK" : "Refused");
    $(".message-reason", band).textContent = [reason, clock(at)].filter(Boolean).join(" · ");
    document.body.dataset.messageId = id === null || id === undefined ? "" : String(id);
    if (animate) { void band.offsetWidth; band.classList.add("flash"); }  // the reflow restarts the animation
  }
  function showAnswer(answer, m) {
    const text = answer.message || (m && m.text) || "";
    const same = !!m && m.text === text;
    if (same && m.id === seenMessageId) return;  // the stream already showed it
    if (same) seenMessageId = m.id;
    showBand({ accepted: answer.accepted !== false, text, reason: same ? m.reason_code : null,
      id: same ? m.id : null, at: same ? m.at : now() }, true);
  }
  function showError(status, data) {
    const err = data && data.error;
    const text = err ? err.message : "The edge answered HTTP " + status;
    const band = $("#message");
    if (band.classList.contains("refused") && $(".message-text", band).textContent === text) return;  // the stream was first
    showBand({ accepted: false, text, reason: err ? err.code : "http_" + status, at: now() }, true);
  }
  const refuseLocally = (text) => showBand({ accepted: false, text, reason: "invalid_input", at: now() }, true);

  // ---- rendering
  function render(v, answer) {
    view = v;
    const me = EdgeSignIn.me();
    if (me && me.role === "operator" && !(v.crew || []).some((c) => c.badge === me.badge)) {
      EdgeSignIn.lost(me.name + " is logged out of this station: the next one scans their badge.");
    }
    set("#station", v.station || station);
    document.title = "FloorSync " + (v.station || station);
    set("#machine", v.machine || "–");
    set("#machine-state", v.machine_state || "–");
    $("#machine-state").dataset.state = v.machine_state || "unknown";
    $("#offline").hidden = v.online !== false;
    renderCrew(v.crew || []);
    renderJob(v.job);
    renderNext(v.next || {}, v.pending);
    renderOrders(v.orders || []);
    renderInspectionChoices(v.defect_codes || [], v.operations || []);
    if (Array.isArray(v.defects)) syncScanned(v.defects);
    const m = v.message;
    if (answer) showAnswer(answer, m);
    else if (m && m.id !== seenMessageId) {
      seenMessageId = m.id;
      showBand({ accepted: m.accepted, text: m.text, reason: m.reason_code, id: m.id, at: m.at }, !firstView);
    }
    firstView = false;
    document.body.dataset.viewAt = String(Date.now());
    if (focusLost()) refocus();
  }

  function renderCrew(crew) {
    $("#crew").replaceChildren(...(crew.length ? crew.map((c) => el("span", "crew-member", [
      el("strong", null, c.name || c.badge), el("span", "crew-badge", c.badge),
      el("span", "crew-since", c.since ? "since " + clock(c.since) : "")]))
      : [el("span", "crew-none", "Nobody logged in")]));
  }

  function renderJob(j) {
    $(".job-empty").hidden = !!j;
    $(".job-body").hidden = !j;
    for (const id of ["#report-form", "#inspection-form", "#close-form", ".jump"]) $(id).hidden = !j;
    if (!j) { jobKey = null; return; }
    set(".job-wo", j.work_order);
    set(".job-item", j.item);
    set(".job-sub", [j.operation + (j.description ? " – " + j.description : ""),
      j.work_center ? "Work center " + j.work_center : ""].filter(Boolean).join(" · "));
    set("#good", qty(j.good));
    set("#scrap", qty(j.scrap));
    set("#target", qty(j.target));
    $(".progress-fill").style.width = (j.target > 0 ? Math.min(100, (100 * j.good) / j.target) : 0) + "%";
    set(".job-yield", pct(j.yield));
    const u = j.unreported || {};
    set(".job-unreported", u.good || u.scrap ? `Since last report: ${qty(u.good)} good, ${qty(u.scrap)} scrap` : "");
    const insp = j.inspection;
    const due = !!insp && insp.required && !insp.done;
    set(".job-inspection", insp && insp.required
      ? `Inspection (${insp.check}): ${qty(insp.inspected)} inspected – ${insp.done ? "done" : "due"}` : "");
    $(".job-inspection").classList.toggle("due", due);
    const materials = j.materials || [];
    $(".materials").hidden = !materials.length;
    $(".materials tbody").replaceChildren(...materials.map((m) => el("tr", m.issued >= m.required ? "complete" : "", [
      el("td", null, [el("strong", null, m.component), el("span", "muted", m.description ? " " + m.description : "")]),
      el("td", "qty", `${qty(m.issued)} / ${qty(m.required)} ${m.unit || ""}`),
      el("td", "qty muted", qty(m.limit))])));
    const key = j.work_order + "/" + j.operation;
    if (key !== jobKey) { jobKey = key; resetInspection(insp && insp.check); }
  }

  function renderNext(next, pending) {
    set("#next", next.prompt || "");
    $("#next").dataset.expect = next.expect || "none";
    const quantity = next.expect === "quantity";
    $("#scan").inputMode = quantity ? "decimal" : "none";  // no on-screen keyboard just for a scanner
    $("#scan").placeholder = quantity ? "type the quantity, then Enter" : "scan here";
    $("#pending").hidden = !(pending && pending.text);
    set("#pending", pending ? pending.text || "" : "");
    $("#cancel").hidden = !pending;
    const approval = !!pending && pending.kind === "approval";
    const form = $("#approval-form");
    const appearing = form.hidden && approval;
    if (appearing) form.reset();
    form.hidden = !approval;
    set(".approval-text", approval ? pending.text || "" : "");
    if (appearing) refocus();  // the supervisor's badge scan goes into the approval form
  }

  function renderOrders(orders) {
    $("#orders").replaceChildren(...(orders.length ? orders.map((o) => {
      const b = el("button", "order", [el("strong", null, o.work_order), el("span", "qty", `${qty(o.good)} / ${qty(o.target)}`),
        el("span", null, `${o.item} · ${o.operation}`), el("span", "order-status", o.status)],
      { type: "button", disabled: o.status === "done" });
      Object.assign(b.dataset, { workOrder: o.work_order, status: o.status });
      b.addEventListener("click", () => scan(o.work_order));
      return el("li", null, [b]);
    }) : [el("li", "muted", "No work orders for this station")]));
  }

  function renderInspectionChoices(codes, operations) {
    const dKey = JSON.stringify(codes);
    if (dKey !== defectsKey) {  // rebuilt only on change, so typed quantities survive a new view
      defectsKey = dKey;
      $("#inspection-defects").replaceChildren(...codes.map((d) => {
        const input = el("input", "defect-qty", null, { type: "number", min: "0", step: "1", inputMode: "numeric", placeholder: "0" });
        input.dataset.code = d.code;
        input.setAttribute("aria-label", `${d.code} ${d.description || ""} quantity`);
        const [minus, plus] = ["−", "+"].map((t, i) => {
          const b = el("button", "btn btn-small", t, { type: "button", tabIndex: -1 });
          b.addEventListener("click", () => bumpDefect(d.code, i ? 1 : -1));
          return b;
        });
        const name = el("span", "defect-name", [el("strong", null, d.code), el("span", null, " " + (d.description || ""))]);
        return el("div", "defect", [name, minus, input, plus]);
      }));
    }
    const oKey = JSON.stringify(operations);
    if (oKey !== operationsKey) {
      operationsKey = oKey;
      const select = $("#inspection-rework");
      const keep = select.value;
      select.replaceChildren(...operations.map((op) => el("option", null, op, { value: op })));
      if (operations.includes(keep)) select.value = keep;
    }
  }

  // Defect codes scanned at the edge add to what was typed or tapped in the form; cancel takes them out again.
  function syncScanned(list) {
    const next = Object.fromEntries(list.map((d) => [d.code, d.quantity]));
    for (const code of new Set([...Object.keys(scanned), ...Object.keys(next)])) bumpDefect(code, (next[code] || 0) - (scanned[code] || 0));
    scanned = next;
  }

  function bumpDefect(code, by) {
    const input = $$(".defect-qty").find((i) => i.dataset.code === code);
    if (!input) return;
    input.value = String(Math.max(0, (parseInt(input.value, 10) || 0) + by));
    if (by > 0) $('#inspection-form input[name="result"][value="fail"]').checked = true;
  }

  function resetInspection(check) {
    const form = $("#inspection-form");
    form.reset();
    scanned = {};
    $(`input[name="check"][value="${check === "full" ? "full" : "sample"}"]`, form).checked = true;
    $("#inspection-rework").disabled = true;
  }

  // ---- talking to the edge
  function post(path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const used = EdgeSignIn.token();
    const run = () => fetch(api + path, { method: "POST", headers: EdgeSignIn.headers(headers), body: body === undefined ? undefined : JSON.stringify(body) })
      .then(async (res) => {
        const data = await res.json().catch(() => null);
        if (res.status === 401) { EdgeSignIn.lost(undefined, used); return false; }
        if (!res.ok) { showError(res.status, data); return false; }
        if (data && data.view) render(data.view, data);
        else showBand({ accepted: true, text: (data && data.message) || "OK", at: now() }, true);
        return !data || data.accepted !== false;
      })
      .catch(() => {
        showBand({ accepted: false, text: "No answer from the edge: it may or may not have recorded this. Check the screen before scanning again.", reason: "unreachable", at: now() }, true);
        return false;
      });
    const mine = queue = queue.then(run, run);
    document.body.classList.add("busy");
    mine.finally(() => { if (queue === mine) document.body.classList.remove("busy"); });
    return mine;
  }

  function scan(input) {
    return post("/scan", { input }).then((ok) => {
      if (!ok || !view || Array.isArray(view.defects)) return ok;
      const code = (view.defect_codes || []).find((d) => d.code.toUpperCase() === input.toUpperCase());
      if (code) bumpDefect(code.code, 1);  // an edge that does not send view.defects: mirror the scan here
      return ok;
    });
  }

  function load() {
    const before = streamViews;
    const used = EdgeSignIn.token();
    return fetch(api + "/view", { headers: EdgeSignIn.headers({ Accept: "application/json" }) })
      .then(async (res) => {
        const data = await res.json().catch(() => null);
        if (res.status === 401) EdgeSignIn.lost(undefined, used);
        else if (!res.ok) showError(res.status, data);
        else if (streamViews === before) render(data);  // else a newer view came by the stream meanwhile
      })
      .catch(() => setUnreachable(true));
  }

  // ---- the stream
  let source = null, lost = false, streamViews = 0, lastHeard = Date.now(), pinged = false;
  const heard = () => { lastHeard = Date.now(); };
  const setUnreachable = (on) => { $("#unreachable").hidden = !on; document.body.classList.toggle("unreachable", on); };
  function connect() {
    if (source) source.close();
    if (!EdgeSignIn.signedIn()) return;
    source = new EventSource(EdgeSignIn.streamUrl(api + "/stream"));
    source.addEventListener("view", (e) => { heard(); streamViews += 1; render(JSON.parse(e.data)); });
    source.addEventListener("ping", () => { pinged = true; heard(); });
    source.onopen = () => { heard(); setUnreachable(false); if (lost) { lost = false; load(); } };
    source.onerror = () => {
      setUnreachable(true);
      lost = true;
      // closed: a 5xx while the edge restarts, or the sign-in ended (the load says which)
      if (source.readyState === EventSource.CLOSED) { load(); restart(3000); }
    };
  }
  function restart(delay) { if (source) source.close(); setTimeout(() => { if (EdgeSignIn.signedIn()) connect(); }, delay); }
  // Comment heartbeats are invisible to EventSource: only an "event: ping" lets the page notice a silently dead link.
  setInterval(() => {
    if (pinged && Date.now() - lastHeard > 20000) { pinged = false; lost = true; setUnreachable(true); restart(0); }
  }, 5000);

  // ---- wiring
  $("#scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("#scan").value.trim();
    $("#scan").value = "";
    if (input) scan(input);
  });
  for (const b of $$("#cancel, .js-cancel")) b.addEventListener("click", () => post("/cancel"));
  for (const b of $$("[data-jump]")) {
    b.addEventListener("click", () => {
      const target = $(b.dataset.jump);
      target.scrollIntoView({ block: "start" });
      const field = $('input:not([type="radio"])', target);
      if (field) field.focus({ preventScroll: true });
    });
  }

  const count = (input) => {  // a whole number >= 0, empty meaning 0; null when it is not one
    const raw = input.value.trim();
    const n = raw === "" ? 0 : Number(raw);
    return Number.isInteger(n) && n >= 0 ? n : null;
  };
  const after = (form, promise, onRefused) => promise.then((ok) => { if (ok) form.reset(); else if (onRefused) onRefused(); refocus(); });

  $("#report-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const [good, scrap] = [count($("#report-good")), count($("#report-scrap"))];
    if (good === null || scrap === null) { refuseLocally("Good and scrap must be whole numbers, 0 or more"); return; }
    after(e.target, post("/report", { good, scrap }));
  });

  $("#inspection-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.target;
    const inspected = count($("#inspection-inspected"));
    if (!inspected) { refuseLocally("Enter how many pieces were inspected (1 or more)"); return; }
    const defects = [];
    for (const input of $$(".defect-qty", form)) {
      const n = count(input);
      if (n === null) { refuseLocally(`Defect ${input.dataset.code}: the quantity must be a whole number`); return; }
      if (n > 0) defects.push({ code: input.dataset.code, quantity: n });
    }
    const pick = (name) => $(`input[name="${name}"]:checked`, form).value;
    const disposition = pick("disposition");
    const rework = disposition === "rework" ? $("#inspection-rework").value || null : null;
    if (disposition === "rework" && !rework) { refuseLocally("Pick the operation to rework at"); return; }
    const body = { inspected, check: pick("check"), result: pick("result"), defects, disposition, rework_operation: rework };
    post("/inspection", body).then((ok) => {
      if (ok) resetInspection(view && view.job && view.job.inspection && view.job.inspection.check);
      refocus();
    });
  });
  $("#inspection-form").addEventListener("change", (e) => {
    if (e.target.name === "disposition") $("#inspection-rework").disabled = e.target.value !== "rework";
  });

  $("#approval-badge").addEventListener("keydown", (e) => {
    // A badge scan ends with Enter: go on to the PIN rather than submit without one.
    if (e.key === "Enter" && !$("#approval-pin").value) { e.preventDefault(); $("#approval-pin").focus(); }
  });
  $("#approval-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const [supervisor, pin] = [$("#approval-badge").value.trim(), $("#approval-pin").value.trim()];
    if (!supervisor || !pin) { refuseLocally("Supervisor badge and PIN are both needed"); return; }
    after(e.target, post("/approve", { supervisor, pin }), () => { $("#approval-pin").value = ""; });
  });

  $("#close-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const [supervisor, pin] = [$("#close-supervisor").value.trim() || null, $("#close-pin").value.trim() || null];
    after(e.target, post("/close", { supervisor, pin }), () => { $("#close-pin").value = ""; });
  });

  set("#station", station);
  EdgeSignIn.onMessage = (text) => showBand({ accepted: true, text, at: now() }, true);
  EdgeSignIn.start({
    station,
    onReady: () => { load(); connect(); refocus(); },
    onLock: () => { if (source) { source.close(); source = null; } },
  });
})();
