// FloorSync planner: the Gantt chart of the open orders, what-if scheduling runs and drag-to-pin.
// Sign-in, the API and messages are common.js's (FS); the planner reads and follows its own
// streams. Server strings only ever go through textContent.
"use strict";

(() => {
  const { $, el, parse, say, setStale, failed, api } = FS;
  const MIN = 60e3, HOUR = 60 * MIN, DAY = 24 * HOUR;
  const LANE = 30;  // px per lane; a row has as many lanes as its overlapping bars need
  const ZOOMS = {
    shift: { span: 8 * HOUR, tick: HOUR, snap: 15 * MIN },
    day: { span: DAY, tick: 2 * HOUR, snap: 15 * MIN },
    week: { span: 7 * DAY, tick: DAY, snap: HOUR },
    month: { span: 30 * DAY, tick: DAY, snap: 4 * HOUR },
  };

  const state = { by: "work_center", zoom: "day", start: 0, data: null, proposal: null, focus: null };
  const pins = new Map();      // "WO/20" -> asked start (ms), sent with every run until saved or discarded
  const info = new WeakMap();  // .bar element -> its bar from /gantt
  let drag = null, reloadWanted = false;

  // ---- small helpers
  const iso = (ms) => new Date(ms).toISOString();
  const span = () => ZOOMS[state.zoom].span;
  const opId = (x) => `${x.work_order}/${x.operation}`;
  const hm = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const day = (ms) => `${new Date(ms).toLocaleDateString([], { weekday: "short" })} ${new Date(ms).getDate()}`;
  const when = (ms) => (ms === null ? "–" : new Date(ms).toLocaleString([],
    { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }));
  const range = (a, b) => `${when(a)} – ${b === null ? "now" : b - a < DAY ? hm(b) : when(b)}`;
  function minutes(m) {
    if (m === null || m === undefined) return "–";
    const a = Math.round(Math.abs(m)), d = Math.floor(a / 1440), h = Math.floor((a % 1440) / 60);
    return (m < 0 ? "−" : "") + (d ? `${d} d ${h} h` : h ? `${h} h ${a % 60} min` : `${a % 60} min`);
  }
  const movedMap = () => new Map(((state.proposal && state.proposal.moved) || []).map((m) => [m.operation, m]));

  // A load does not clear the stale banner: that says the stream is down, and only it can tell.
  let loadSeq = 0, loadTimer = null;
  function load() {
    if (!FS.isSignedIn()) return;
    if (drag) { reloadWanted = true; return; }
    const seq = ++loadSeq;  // only the latest answer is drawn
    // One span either side, so panning by half a view redraws at once from what is here.
    const q = new URLSearchParams({ by: state.by, start: iso(state.start - span()), end: iso(state.start + 2 * span()) });
    api("/api/v1/gantt?" + q)
      .then((v) => { if (seq === loadSeq) { state.data = v; draw(); } })
      .catch(FS.readFailed);
  }
  function loadSoon() { clearTimeout(loadTimer); loadTimer = setTimeout(load, 250); }

  // ---- drawing
  function barSpan(b) {
    const ps = parse(b.planned_start), pe = parse(b.planned_end), as = parse(b.actual_start);
    if (ps !== null && pe !== null) return [ps, pe];
    return as === null ? null : [as, parse(b.actual_end) ?? Date.now()];
  }

  // First-fit lanes so overlapping bars (parallel machines) sit one above the other.
  function pack(items, lanes) {
    const at = new Map();
    for (const it of [...items].sort((x, y) => x.s - y.s)) {
      let lane = lanes.findIndex((end) => end <= it.s);
      if (lane < 0) lane = lanes.push(0) - 1;
      lanes[lane] = it.e;
      at.set(it.id, lane);
    }
    return at;
  }

  function draw() {
    const v = state.data;
    if (!v || v.by !== state.by || drag) return;
    const t0 = state.start, t1 = t0 + span();
    const pos = (ms) => ((ms - t0) / span()) * 100;
    const ghosts = new Map();
    for (const op of (state.proposal && state.proposal.operations) || []) {
      const key = state.by === "order" ? op.work_order : op.work_center;
      ghosts.set(key, [...(ghosts.get(key) || []), op]);
    }
    const bars = new Map(v.rows.map((r) => [r.key, r.bars]));
    const keys = [...new Set([...bars.keys(), ...ghosts.keys()])].sort();
    const risk = new Set((v.predictions || []).filter((p) => p.at_risk).map((p) => p.work_order));
    const ctx = { pos, risk, moved: movedMap(), px: trackWidth() / 100 };

    const inner = el("div", "gantt-inner");
    inner.append(axis(t0, t1, pos), ...keys.map((k) => row(k, bars.get(k) || [], ghosts.get(k) || [], ctx)));
    if (!keys.length) inner.append(el("p", "muted empty", "No open operations in this window."));
    const overlay = el("div", "overlay");
    for (const t of ticks(t0, t1)) {
      const line = el("div", new Date(t).getHours() === 0 ? "gridline midnight" : "gridline");
      line.style.left = pos(t) + "%";
      overlay.append(line);
    }
    overlay.append(el("div", "now-line"));
    inner.append(overlay);
    const gantt = $("#gantt");
    const scrollTop = gantt.scrollTop;
    gantt.dataset.by = state.by;
    gantt.replaceChildren(inner);
    gantt.scrollTop = scrollTop;
    moveNow();
    $("#range").textContent = `${when(t0)} – ${when(t1)}`;
    predictions(v.predictions || []);
    workLoad(v.load || []);
    $("#tip").hidden = true;
    document.body.dataset.viewAt = String(Date.now());
  }

  function ticks(t0, t1) {
    const tick = ZOOMS[state.zoom].tick, out = [];
    const d = new Date(t0 - DAY);
    d.setHours(0, 0, 0, 0);  // ticks on local midnights and whole hours, whatever the scroll
    for (let t = d.getTime(); t < t1;) {
      if (t >= t0) out.push(t);
      if (tick >= DAY) { d.setDate(d.getDate() + 1); t = d.getTime(); } else t += tick;
    }
    return out;
  }

  function axis(t0, t1, pos) {
    const track = el("div", "axis-track");
    for (const t of ticks(t0, t1)) {
      const first = state.zoom === "week" || new Date(t).getHours() === 0;
      const label = el("span", "tick", state.zoom === "month" ? new Date(t).getDate() : first ? day(t) : hm(t));
      label.style.left = pos(t) + "%";
      track.append(label);
    }
    const head = el("div", "g-row axis");
    head.append(el("div", "row-label", state.by === "order" ? "Order" : "Work center"), track);
    return head;
  }

  function row(key, bars, ghostOps, ctx) {
    const inView = (se) => se && se[1] > state.start && se[0] < state.start + span();
    const items = bars.map((b) => ({ b, id: opId(b), se: barSpan(b) })).filter((x) => inView(x.se));
    const lanes = [];
    const laneOf = pack(items.map((x) => ({ id: x.id, s: x.se[0], e: x.se[1] })), lanes);
    const real = lanes.length;
    // A ghost shares its bar's lane, so a move reads as a sideways shift; a ghost without a bar here gets lanes below.
    const shown = ghostOps.map((g) => ({ id: opId(g), s: parse(g.start), e: parse(g.end) })).filter((g) => inView([g.s, g.e]));
    const extra = [];
    const ghostLane = pack(shown.filter((g) => !laneOf.has(g.id)), extra);
    const laneFor = (id) => laneOf.get(id) ?? real + ghostLane.get(id);

    const track = el("div", "track");
    track.style.height = `${Math.max(1, real + extra.length) * LANE + 6}px`;
    const place = (node, lane, s, e) => {
      Object.assign(node.style, { top: `${lane * LANE + 4}px`, left: ctx.pos(s) + "%", width: `max(3px, ${ctx.pos(e) - ctx.pos(s)}%)` });
      track.append(node);
    };
    for (const { b, id, se } of items) place(barNode(b, id, se, ctx), laneOf.get(id), se[0], se[1]);
    for (const g of shown) {
      const node = el("div", "ghost");
      Object.assign(node.dataset, { op: g.id, moved: String(ctx.moved.has(g.id)) });
      place(node, laneFor(g.id), g.s, g.e);
    }
    for (const [id, t] of pins) {
      if (laneOf.has(id) || ghostLane.has(id)) place(Object.assign(el("div", "pin"), { title: `asked ${when(t)}` }), laneFor(id), t, t);
    }
    const due = state.by === "order" && bars.length ? parse(bars[0].due) : null;
    if (due !== null) place(Object.assign(el("div", "due-mark"), { title: "due " + when(due) }), 0, due, due);

    const r = el("div", "g-row");
    const atRisk = bars.some((b) => ctx.risk.has(b.work_order));
    Object.assign(r.dataset, { row: key, late: String(bars.some((b) => b.late)), atRisk: String(atRisk) });
    r.append(el("div", "row-label", key), track);
    return r;
  }

  function barNode(b, id, [s, e], ctx) {
    const node = el("div", b.work_order === state.focus ? "bar focus" : "bar");
    info.set(node, b);
    Object.assign(node.dataset, {
      op: id, wo: b.work_order, status: b.status, late: String(!!b.late),
      atRisk: String(ctx.risk.has(b.work_order)), draggable: String(b.status === "pending" && !!b.planned_start),
    });
    node.tabIndex = 0;
    node.setAttribute("aria-label", [id, ...tipLines(b).map((l) => l.join(" "))].join("; "));
    const wide = !ctx.px || (ctx.pos(e) - ctx.pos(s)) * ctx.px > 40;  // a label cut to "…0" is only noise
    const label = el("span", "bar-label", wide ? (state.by === "order" ? `${b.operation} · ${b.work_center}` : id) : "");
    // The actual track: when it really ran (or runs, till now), filled by the share of good quantity.
    const progress = el("div", "progress");
    const as = parse(b.actual_start);
    if (as !== null) {
      const ae = parse(b.actual_end) ?? Date.now();
      Object.assign(progress.style, { left: `${((as - s) / (e - s)) * 100}%`, width: `${(Math.max(ae - as, 0) / (e - s)) * 100}%` });
      progress.dataset.actual = "true";
    }
    const fill = el("div", "progress-fill");
    fill.style.width = `${Math.round((b.progress || 0) * 100)}%`;
    progress.append(fill);
    node.append(label, progress);
    return node;
  }

  function moveNow() { const line = $(".now-line"); if (line) line.style.left = ((Date.now() - state.start) / span()) * 100 + "%"; }

  // ---- tooltip
  function tipLines(b) {
    const lines = [["Work center", b.work_center], ["Status", b.status],
      ["Planned", b.planned_start ? range(parse(b.planned_start), parse(b.planned_end)) : "not planned"],
      ["Actual", b.actual_start ? range(parse(b.actual_start), parse(b.actual_end)) : "not started"],
      ["Progress", Math.round((b.progress || 0) * 100) + " %"], ["Due", when(parse(b.due))]];
    const m = movedMap().get(opId(b));  // per bar, but a few hundred at most
    if (m) lines.push(["Proposal", range(parse(m.to[0]), parse(m.to[1]))]);
    if (pins.has(opId(b))) lines.push(["Asked start", when(pins.get(opId(b)))]);
    return lines;
  }
  function showTip(node, x, y, only) {
    const b = info.get(node), tip = $("#tip"), head = el("div", "tip-head"), dl = el("dl");
    head.append(el("strong", null, opId(b)));
    if (b.late) head.append(el("span", "badge badge-late", "late"));
    if (node.dataset.atRisk === "true") head.append(el("span", "badge badge-risk", "at risk"));
    for (const [k, v] of only ? [only] : tipLines(b)) dl.append(el("dt", null, k), el("dd", null, v));
    tip.replaceChildren(head, dl);
    tip.hidden = false;
    const r = tip.getBoundingClientRect();
    tip.style.left = Math.min(x + 14, innerWidth - r.width - 8) + "px";
    tip.style.top = (y + 18 + r.height > innerHeight ? y - r.height - 10 : y + 18) + "px";
  }

  // ---- drag a pending bar sideways: a pin, proposed at once
  function trackWidth() { const t = $("#gantt .axis-track"); return t ? t.getBoundingClientRect().width : 0; }
  function dragTo(d, clientX) {
    const snap = ZOOMS[state.zoom].snap;
    return Math.round((parse(info.get(d.node).planned_start) + ((clientX - d.x) / (d.width || 1)) * span()) / snap) * snap;
  }
  function endDrag(e, commit) {
    const d = drag;
    drag = null;
    if (commit && d.moved) { pins.set(d.node.dataset.op, dragTo(d, e.clientX)); showPins(); run(false); }
    if (reloadWanted) { reloadWanted = false; load(); } else if (d.moved) draw();
  }

  // ---- predictions: at risk first, the latest slip on top
  function predictions(list) {
    const slip = (p) => (parse(p.predicted_end) ?? 0) - (parse(p.due) ?? Infinity);
    const sorted = [...list].sort((a, b) => b.at_risk - a.at_risk || slip(b) - slip(a) || a.work_order.localeCompare(b.work_order));
    $("#predictions").replaceChildren(...(sorted.length ? sorted.map((p) => {
      const item = el("li", p.work_order === state.focus ? "prediction focus" : "prediction");
      Object.assign(item.dataset, { workOrder: p.work_order, atRisk: String(!!p.at_risk) });
      const top = el("div", "prediction-top"), facts = el("dl", "prediction-facts");
      top.append(el("strong", null, p.work_order),
        el("span", p.at_risk ? "badge badge-risk" : "badge badge-ok", p.at_risk ? "at risk" : "on time"));
      if (p.at_risk && isFinite(slip(p))) top.append(el("span", "slip", "+" + minutes(slip(p) / MIN)));
      for (const [k, t] of [["Due", parse(p.due)], ["Planned", parse(p.planned_end)], ["Predicted", parse(p.predicted_end)]]) {
        facts.append(el("dt", null, k), el("dd", null, t === null ? "–" : `${day(t)} ${hm(t)}`));
      }
      item.append(top, facts);
      return item;
    }) : [el("li", "muted", "No predictions")]));
  }

  // ---- work-center load: backlog hours, and the next 24 h planned against capacity
  function workLoad(list) {
    $("#load").replaceChildren(...(list.length ? list.map((w) => {
      const item = el("li", w.load_24h > 1 ? "load over" : "load");
      item.dataset.workCenter = w.work_center;
      const top = el("div", "prediction-top");
      top.append(el("strong", null, w.work_center), el("span", "muted", `${w.backlog_hours.toFixed(1)} h to do`));
      if (w.machines_down) top.append(el("span", "badge badge-late", `${w.machines_down} down`));
      const meter = el("span", "meter"), fill = el("span", "meter-fill");
      fill.style.width = `${Math.min(100, Math.round(w.load_24h * 100))}%`;
      meter.append(fill);
      const row = el("div", "util");
      row.append(meter, el("span", null, `${Math.round(w.load_24h * 100)} % of 24 h`));
      item.append(top, row);
      return item;
    }) : [el("li", "muted", "No work centers")]));
  }

  // ---- scheduling runs
  function runBody(save) {
    const f = $("#run-form").elements;
    const body = {
      direction: f.direction.value, strategy: f.strategy.value, optimise: f.optimise.checked,
      objective: f.objective.value, time_limit_s: Number(f.time_limit_s.value) || 10, save,
    };
    if (pins.size) body.pins = [...pins].map(([operation, t]) => ({ operation, start: iso(t) }));
    return body;
  }
  function busy(on) {
    $("#run-form").classList.toggle("busy", on);
    for (const b of $("#run-form").querySelectorAll("button")) b.disabled = on;
  }

  let running = false, again = false;  // a drag during a run is proposed right after it
  async function run(save) {
    if (running) { again = again || !save; return; }
    running = true;
    const body = runBody(save);
    busy(true);
    say(save ? "Saving the plan…" : `Asking the scheduler…${body.optimise ? ` (up to ${body.time_limit_s} s)` : ""}`);
    try {
      const answer = await api("/api/v1/schedule-runs", { method: "POST", body: JSON.stringify(body) });
      state.proposal = answer.saved ? null : answer;
      if (answer.saved) { pins.clear(); load(); }
      result(answer);
      say(null);
    } catch (e) {
      if (!e.auth) say(failed(e), true);
    } finally {
      running = false;
      busy(false);
      showPins();
      draw();
      if (again) { again = false; run(false); }
    }
  }

  function result(a) {
    const k = a.kpis || {};
    $("#result").hidden = false;
    $("#result-title").textContent = a.saved ? "Saved plan" : "Proposal – not saved";
    $("#result-note").hidden = true;
    $("#discard").hidden = a.saved;
    const facts = [["Makespan", minutes(k.makespan_minutes)], ["Tardiness", minutes(k.total_tardiness_minutes)],
      ["Late orders", k.late_orders], ["Work centers", k.work_centers_used], ["Machines", k.machines_used], ["Peak crew", k.peak_crew]];
    const sv = a.solver;
    if (sv) facts.push(["Solver", `${sv.status} · ${sv.objective} ${sv.value} (bound ${sv.bound}) · ${sv.seconds} s`]);
    const dl = $("#kpis");
    dl.replaceChildren(...facts.flatMap(([name, value]) => [el("dt", null, name), el("dd", null, value ?? "–")]));
    for (const [wc, ratio] of Object.entries(k.utilisation || {})) {
      const dd = el("dd", "util"), meter = el("span", "meter"), fill = el("span", "meter-fill");
      fill.style.width = Math.min(100, ratio * 100) + "%";
      meter.append(fill);
      dd.append(meter, el("span", null, Math.round(ratio * 100) + " %"));
      dd.dataset.workCenter = wc;
      dl.append(el("dt", "util-name", wc), dd);
    }
    const moved = a.moved || [];
    $("#moved").replaceChildren(...(moved.length ? moved.map((m) => {
      const item = el("li"), to = parse(m.to[0]), from = m.from ? parse(m.from[0]) : null;
      item.dataset.op = m.operation;
      item.append(el("strong", null, m.operation),
        el("span", null, from === null ? `new: ${range(to, parse(m.to[1]))}` : `${when(from)} → ${when(to)}`));
      if (from !== null) item.append(el("span", "shift-by", (to >= from ? "+" : "") + minutes((to - from) / MIN)));
      return item;
    }) : [el("li", "muted", "Nothing moves")]));
    const late = (a.orders || []).filter((o) => o.late);
    $("#late-orders").replaceChildren(...(late.length ? late.map((o) => {
      const item = el("li");
      item.dataset.workOrder = o.work_order;
      item.append(el("strong", null, o.work_order), el("span", "slip", "+" + minutes(o.lateness_minutes)),
        el("div", "reason", o.reason || ""));
      return item;
    }) : [el("li", "muted", "No late orders")]));
  }

  // Each pin with where the last proposal really put it: precedence or capacity may push it later.
  function showPins() {
    const placed = new Map(((state.proposal && state.proposal.operations) || []).map((o) => [opId(o), parse(o.start)]));
    $("#pins").replaceChildren(...[...pins].map(([id, t]) => {
      const item = el("li"), text = el("span", null, `${id}: asked ${when(t)}`), drop = el("button", "btn btn-secondary btn-x", "×");
      item.dataset.op = id;
      if (placed.has(id) && placed.get(id) !== t) text.append(el("strong", "later-than-asked", `placed ${when(placed.get(id))}`));
      Object.assign(drop, { type: "button", title: "Remove this pin" });
      drop.addEventListener("click", () => { pins.delete(id); showPins(); if (state.proposal) run(false); else draw(); });
      item.append(text, drop);
      return item;
    }));
  }

  // ---- the live streams, opened on sign-in and closed on sign-out (FS.start below)
  let source = null, lastHeard = 0, lost = false, retry = null;
  function connect() {
    if (!FS.isSignedIn()) return;
    source = FS.events("/api/v1/planning/stream");
    lastHeard = Date.now();
    const heard = () => { lastHeard = Date.now(); setStale(false); };
    source.addEventListener("gantt", () => {
      heard();
      const note = "The plan changed after this proposal – propose again before saving.";
      if (state.proposal) Object.assign($("#result-note"), { textContent: note, hidden: false });
      load();
    });
    source.addEventListener("ping", heard);
    source.onopen = () => { heard(); if (lost) { lost = false; load(); } };
    source.onerror = () => {
      setStale(true);
      lost = true;
      // Closed for good (e.g. refused): retry ourselves; the fetch tells a 401 apart from a dead server.
      if (source.readyState === EventSource.CLOSED) { drop(); retry = setTimeout(connect, 3000); load(); }
    };
  }
  function drop() { clearTimeout(retry); if (source) source.close(); source = null; }  // the plan's stream only
  // The floor's progress (pieces counted, operations done) moves bars without a new plan.
  let floor = null;
  function follow() {
    if (!FS.isSignedIn()) return;
    floor = FS.events("/api/v1/floor/stream");
    floor.addEventListener("progress", loadSoon);
    floor.onerror = () => { if (floor.readyState === EventSource.CLOSED) { floor.close(); floor = null; setTimeout(follow, 3000); } };
  }
  function disconnect() {
    drop();
    if (floor) floor.close();
    floor = null;
  }

  // ---- wiring
  function pan(ms) { state.start += ms; draw(); loadSoon(); }
  function wire() {
    const gantt = $("#gantt"), form = $("#run-form");
    $("#by").addEventListener("change", (e) => { state.by = e.target.value; load(); });
    $("#zoom").addEventListener("change", (e) => {
      const center = state.start + span() / 2;  // zoom about the middle of the view
      state.zoom = e.target.value;
      state.start = center - span() / 2;
      draw();
      load();
    });
    $("#earlier").addEventListener("click", () => pan(-span() / 2));
    $("#later").addEventListener("click", () => pan(span() / 2));
    $("#now").addEventListener("click", () => pan(Date.now() - span() / 4 - state.start));
    gantt.addEventListener("wheel", (e) => {
      const dx = e.shiftKey ? e.deltaY || e.deltaX : Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : 0;
      if (dx) { e.preventDefault(); pan((dx / (trackWidth() || 1)) * span()); }
    }, { passive: false });

    gantt.addEventListener("pointerdown", (e) => {
      const node = e.target.closest('.bar[data-draggable="true"]');
      if (!node || e.button !== 0) return;
      drag = { node, x: e.clientX, width: trackWidth(), moved: false };
      node.setPointerCapture(e.pointerId);
    });
    gantt.addEventListener("pointermove", (e) => {
      const node = drag ? drag.node : e.target.closest(".bar");
      if (!node) { $("#tip").hidden = true; return; }
      if (!drag) { showTip(node, e.clientX, e.clientY); return; }
      drag.moved = drag.moved || Math.abs(e.clientX - drag.x) > 4;
      if (!drag.moved) return;
      node.classList.add("dragging");
      node.style.transform = `translateX(${e.clientX - drag.x}px)`;
      showTip(node, e.clientX, e.clientY, ["Start at", when(dragTo(drag, e.clientX))]);
    });
    gantt.addEventListener("pointerup", (e) => { if (drag) endDrag(e, true); });
    gantt.addEventListener("pointercancel", (e) => { if (drag) endDrag(e, false); });
    gantt.addEventListener("pointerleave", () => { if (!drag) $("#tip").hidden = true; });
    gantt.addEventListener("focusin", (e) => {
      const node = e.target.closest(".bar");
      if (node) { const r = node.getBoundingClientRect(); showTip(node, r.left, r.bottom); }
    });
    gantt.addEventListener("focusout", () => { $("#tip").hidden = true; });

    // A click on a prediction marks that order's bars and brings its predicted finish into view.
    $("#predictions").addEventListener("click", (e) => {
      const item = e.target.closest("[data-work-order]");
      if (!item) return;
      const p = (state.data.predictions || []).find((x) => x.work_order === item.dataset.workOrder);
      const t = p ? parse(p.predicted_end) ?? parse(p.planned_end) : null;
      state.focus = state.focus === item.dataset.workOrder ? null : item.dataset.workOrder;
      if (state.focus && t !== null) pan(t - span() / 2 - state.start); else draw();
    });

    form.addEventListener("submit", (e) => { e.preventDefault(); run(!!e.submitter && e.submitter.name === "save"); });
    form.elements.optimise.addEventListener("change", (e) => {
      form.elements.objective.disabled = form.elements.time_limit_s.disabled = !e.target.checked;
    });
    $("#discard").addEventListener("click", () => { state.proposal = null; pins.clear(); showPins(); $("#result").hidden = true; draw(); });

    const tick = () => {
      $("#clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      moveNow();
      // The stream pings every 10 s: silence for longer than two pings means a dead link.
      if (source && Date.now() - lastHeard > 25000) { drop(); setStale(true); lost = true; connect(); }
    };
    tick();
    setInterval(tick, 1000);
    setInterval(() => { if (!drag) draw(); }, 60000);  // running bars grow with the clock
  }

  state.start = Date.now() - span() / 4;
  wire();
  FS.start({ signedIn: () => { load(); connect(); follow(); }, signedOut: disconnect });
})();
