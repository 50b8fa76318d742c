// FloorSync traceability: a lot or serial traced backward (how it was made, as a tree down
// through the made lots it consumed) or forward (where it went: the recall list). The address
// bar keeps the query (?lot=...&direction=...). Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, qty, table } = FS;
  const OPEN_DEPTH = 1;  // made lots this deep are unfolded at first; deeper ones on a click
  const intro = [...$("#result").childNodes];

  function query() {
    const q = new URLSearchParams(location.search);
    return { lot: (q.get("lot") || "").trim(), direction: q.get("direction") === "forward" ? "forward" : "backward" };
  }

  async function load() {
    const { lot, direction } = query();
    $("#lot").value = lot;
    for (const r of document.querySelectorAll('input[name="direction"]')) r.checked = r.value === direction;
    const out = $("#result");
    if (!lot) { out.replaceChildren(...intro); return; }
    FS.say(null);
    out.replaceChildren(el("p", "muted", `Tracing ${lot}…`));
    let data;
    try {
      data = await FS.api(`/api/v1/trace/${direction}?lot=${encodeURIComponent(lot)}`);
    } catch (e) {
      if (e.status === 404) { out.replaceChildren(el("p", "notfound", `No lot or serial “${lot}” is known here.`)); return; }
      out.replaceChildren();
      throw e;
    }
    out.replaceChildren(...(direction === "forward" ? forward(data) : backward(data)));
  }

  // ---- small pieces
  const who = (p) => (p ? (p.name ? `${p.name} (${p.badge})` : p.badge) : "–");
  const span = (cls, text) => el("span", cls, text);
  function card(title, body, id, count) {
    const s = el("section", "panel card");
    if (id) s.id = id;
    const h = el("h2", null, title);
    if (count !== undefined) h.append(" ", span("count", count));
    s.append(h, body);
    return s;
  }
  function facts(pairs) {
    const dl = el("dl", "facts");
    for (const [k, v] of pairs) { const d = el("div"); d.append(el("dt", null, k), el("dd", null, v)); dl.append(d); }
    return dl;
  }
  function madeFor(o) {
    if (o.made_for) return `${o.made_for.sales_order}/${o.made_for.line_no} for ${o.made_for.customer.name} (${o.made_for.customer.code})`;
    return o.parent_work_order ? `component of ${o.parent_work_order}` : "stock";
  }
  function shipmentsTable(rows, withOrder) {
    const cols = [
      ["Shipment", (s) => s.shipment],
      ["Shipped", (s) => when(s.shipped_at)],
      ["Customer", (s) => `${s.customer.name} (${s.customer.code})`],
      ["Sales order", (s) => s.sales_order],
      ["Item", (s) => s.item],
      ["Lot", (s) => s.lot || "(untracked)"],
      ["Qty", (s) => qty(s.quantity)],
      ["Carrier", (s) => [s.carrier, s.tracking].filter(Boolean).join(" ") || "–"],
    ];
    if (withOrder) cols.splice(5, 0, ["Made by", (s) => s.work_order]);
    return table(cols, rows, "Not shipped");
  }

  // ---- backward: the order, its operations, materials with made lots nested, inspections
  function backward(t) {
    const item = t.item || {};
    const head = el("section", "panel card head");
    head.append(el("p", "title", `${t.lot}`),
      el("p", null, `${item.code}${item.description ? " · " + item.description : ""}${t.serial ? " · serial" : ""}`));
    const o = t.production_order;
    if (!o) {
      head.append(facts([["Made here", "no (bought)"], ["Tracking", item.tracking || "–"]]));
      return [head,
        card("Purchases", table([["Reference", (p) => p.reference], ["Qty", (p) => qty(p.quantity)], ["At", (p) => when(p.at)]],
          t.purchases, "No purchase on record"), "purchases"),
        card("Shipments", shipmentsTable(t.shipments), "shipments", t.shipments.length)];
    }
    head.append(facts([
      ["Work order", o.work_order],
      ["Made", `${qty(o.received)} of ${qty(o.quantity)} ${o.unit}`],
      ["Status", o.status],
      ["Made for", madeFor(o)],
      ["Started", when(o.started_at)],
      ["Completed", when(o.completed_at)],
    ]));
    const tree = el("ul", "tree");
    tree.id = "tree";
    tree.append(node(o, 0));
    return [head, card("Genealogy", tree, "genealogy"),
      card("Shipments", shipmentsTable(t.shipments), "shipments", t.shipments.length)];
  }

  function node(o, depth) {
    const li = el("li", "node");
    li.dataset.workOrder = o.work_order;
    if (o.cycle || o.truncated) {
      li.append(span("wo", o.work_order), " ", span("warn", o.cycle ? "already above: a cycle in the records" : "deeper than shown"),
        " ", span("muted", (o.lots || []).join(", ")));
      return li;
    }
    const box = el("details");
    box.open = depth <= OPEN_DEPTH;
    const sum = el("summary");
    sum.append(span("wo", o.work_order), " ", span("item", o.item), " ", span("muted", o.description || ""),
      " · ", `${qty(o.received)}/${qty(o.quantity)} ${o.unit}`, " · ", span(`status status-${o.status}`, o.status));
    if (o.lots.some((l) => l !== o.work_order)) sum.append(" · ", span("serials", o.lots.join(", ")));
    box.append(sum);

    const body = el("ul", "branches");
    body.append(branch("Operations", o.operations.map(operation)));
    const components = new Map(o.components.map((c) => [c.work_order, c]));
    const shown = new Set();
    body.append(branch("Materials", o.materials.map((m) => {
      const li = el("li", "material");
      li.dataset.lot = m.lot;
      li.append(span("item", m.item), " lot ", span("lot", m.lot), ` · ${qty(m.quantity)}`,
        span("muted", ` · op ${m.operation} at ${m.station} · ${when(m.at)}`));
      const by = m.operators.map(who).join(", ");
      if (by) li.append(span("muted", ` · by ${by}`));
      if (m.over_issue_approved_by) li.append(" ", span("warn", `over-issue approved by ${who(m.over_issue_approved_by)}`));
      if (!m.made_by) li.append(" ", span("tag", "bought"));
      else if (shown.has(m.made_by)) li.append(" ", span("tag", `made: ${m.made_by}, above`));
      else if (components.has(m.made_by)) {
        shown.add(m.made_by);
        const below = el("ul", "tree");
        below.append(node(components.get(m.made_by), depth + 1));
        li.append(" ", span("tag made", "made here"), below);
      }
      return li;
    }), "No material issued"));
    body.append(branch("Inspections", o.inspections.length ? [inspections(o.inspections)] : [], "No inspection"));
    box.append(body);
    li.append(box);
    return li;
  }

  function branch(title, children, empty = "None") {
    const li = el("li", "branch");
    li.append(el("h3", null, title));
    const ul = el("ul");
    if (children.length) ul.append(...children); else ul.append(el("li", "muted", empty));
    li.append(ul);
    return li;
  }

  function operation(op) {
    const li = el("li", "operation");
    li.dataset.operation = op.operation;
    li.append(span("op-no", `Op ${op.operation}`), " ", span(`status status-${op.status}`, op.status), " ",
      `${op.work_center.code} ${op.work_center.name}`,
      span("muted", ` · stations ${op.stations.join(", ") || "–"}`),
      ` · good ${qty(op.good)}, scrap ${qty(op.scrap)}`, op.rework ? `, rework ${qty(op.rework)}` : "",
      span("muted", ` · ${when(op.actual_start)} – ${when(op.actual_end)}`));
    const details = el("ul");
    if (op.machines.length) {
      const m = el("li", "machines");
      m.append(span("muted", "Machines: "), op.machines.map((x) => `${x.machine} at ${x.station} (${x.state})`).join(", "));
      details.append(m);
    }
    for (const c of op.operators) {
      const p = el("li", "operator");
      p.dataset.badge = c.badge;
      p.append(span("person", who(c)), span("muted", ` at ${c.station}: `),
        `${qty(c.good)} good, ${qty(c.scrap)} scrap, ${qty(c.labour_hours)} h`,
        span("muted", ` · ${when(c.first_at)} – ${when(c.last_at)}`));
      details.append(p);
    }
    if (!op.operators.length) details.append(el("li", "muted", "No crew reported"));
    li.append(details);
    return li;
  }

  function inspections(rows) {
    const li = el("li");
    li.append(table([
      ["Op", (i) => i.operation],
      ["At", (i) => when(i.at)],
      ["Station", (i) => i.station],
      ["Inspected", (i) => `${qty(i.inspected)} (${i.sampling})`],
      ["Result", (i) => span(i.result === "pass" ? "ok" : "bad", i.result)],
      ["Disposition", (i) => i.disposition + (i.rework_operation ? ` → op ${i.rework_operation}` : "")],
      ["Defects", (i) => {
        if (!i.defects.length) return "–";
        const ul = el("ul", "defects");
        for (const d of i.defects) ul.append(el("li", null, `${d.code}${d.description ? " – " + d.description : ""} ×${d.quantity}`));
        return ul;
      }],
      ["Inspector", (i) => who(i.inspector)],
      ["Unit", (i) => (i.serial ? (i.names_serial ? span("tag this-unit", `${i.serial} (this unit)`) : i.serial) : i.lot || "–")],
    ], rows));
    return li;
  }

  // ---- forward: the recall list first, then what was made of it and the shipments
  function forward(t) {
    const item = t.item || {};
    const head = el("section", "panel card head");
    const n = t.totals;
    head.append(el("p", "title", t.lot),
      el("p", null, `${item.code || "?"}${item.description ? " · " + item.description : ""}${t.production_order ? " · made by " + t.production_order : ""}`),
      facts([
        ["Work orders", n.work_orders], ["Lots made", n.lots], ["Shipments", n.shipments],
        ["Customers", n.customers], ["Shipped", qty(n.shipped)], ["Still on hand", qty(n.on_hand)],
      ]));
    if (t.truncated) head.append(el("p", "warn", "The trace goes deeper than is shown: search a lot of the last level to follow it."));
    const recall = table([
      ["Customer", (c) => c.code],
      ["Name", (c) => c.name],
      ["Shipments", (c) => c.shipments.join(", ")],
      ["Lots", (c) => c.lots.map((l) => l || "(untracked)").join(", ")],
      ["Qty", (c) => qty(c.quantity)],
    ], t.customers, "No customer received any of it");
    const lots = table([
      ["Level", (r) => r.level],
      ["Lot", (r) => traceLink(r.lot)],
      ["Item", (r) => `${r.item} ${r.description || ""}`],
      ["Work order", (r) => r.work_order],
      ["Shipped", (r) => qty(r.shipped)],
      ["On hand", (r) => (r.on_hand > 0 ? span("warn", qty(r.on_hand)) : qty(r.on_hand))],
    ], t.lots, "Nothing made of it");
    const orders = table([
      ["Level", (w) => w.level],
      ["Work order", (w) => w.work_order],
      ["Item", (w) => w.item || span("muted", "not known here")],
      ["Consumed", (w) => w.consumed.map((c) => `${c.lot}: ${qty(c.quantity)}`).join(", ")],
      ["Made", (w) => (w.item ? `${qty(w.received)}/${qty(w.quantity)} ${w.unit}` : "–")],
      ["Made for", (w) => (w.item ? madeFor(w) : "–")],
    ], t.work_orders, "Not consumed by any work order");
    return [head,
      card("Recall list: customers who received it", recall, "customers", t.customers.length),
      card("Affected lots and serials", lots, "lots", t.lots.length),
      card("Work orders it went into", orders, "work-orders", t.work_orders.length),
      card("Shipments", shipmentsTable(t.shipments, true), "shipments", t.shipments.length)];
  }

  function traceLink(lot) {
    const a = el("a", null, lot);
    a.href = `?${new URLSearchParams({ lot, direction: "backward" })}`;
    a.addEventListener("click", (e) => { e.preventDefault(); go(lot, "backward"); });
    return a;
  }

  function go(lot, direction) {
    history.pushState(null, "", `?${new URLSearchParams({ lot, direction })}`);
    FS.reload();
  }

  $("#search").addEventListener("submit", (e) => {
    e.preventDefault();
    const lot = $("#lot").value.trim();
    const direction = new FormData(e.target).get("direction") || "backward";
    if (lot) go(lot, direction);
  });
  window.addEventListener("popstate", () => FS.reload());
  FS.start({ load });
})();
