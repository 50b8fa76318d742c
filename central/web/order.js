// FloorSync sales order: its header, lines (made, shipped), production orders with each
// operation's progress, reservations, shipments, invoices and the customer's progress links,
// with the steps its status allows (confirm, override a credit hold, cancel, ship). Redrawn as
// the floor reports. The API decides who may: a refusal is shown as it comes. Server strings
// only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, money, pct, qty, say, failed, table } = FS;
  const number = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const base = `/api/v1/sales-orders/${encodeURIComponent(number)}`;
  const words = (s) => (s ? String(s).replaceAll("_", " ") : s);
  let order = null;
  let roles = null;  // the user's, from /me, once

  function link(href, text) { const a = el("a", null, text); a.href = href; return a; }
  function progressBar(share) {
    const cell = el("div", "bar-cell");
    const bar = el("div", "pbar");
    const fill = el("span");
    fill.style.width = `${Math.round(Math.min(1, share || 0) * 100)}%`;
    bar.append(fill);
    cell.append(bar, el("span", null, pct(share)));
    return cell;
  }
  const share = (done, of) => (of > 0 ? Math.min(1, done / of) : 0);
  const hidden = (o, field) => (o.hidden_fields || []).includes(field);

  function head(o) {
    const facts = el("dl", "facts");
    const fact = (k, v, id) => {
      const d = el("div"), dd = el("dd");
      if (id) d.id = id;
      dd.append(v === null || v === undefined ? "–" : v);  // text or a link; append never parses markup
      d.append(el("dt", null, k), dd);
      facts.append(d);
    };
    fact("Customer", link("/customers/" + encodeURIComponent(o.customer), o.customer));
    fact("Status", words(o.status), "status");
    fact("Type", words(o.type));
    fact("Due", date(o.due_date));
    fact("Customer's reference", o.customer_reference);
    if ("value_cents" in o) fact("Value", money(o.value_cents), "value");
    const sales = roles && (roles.includes("sales") || roles.includes("admin"));  // quotes are theirs to read
    if (o.quote) fact("From quote", sales ? link("/quotes/" + encodeURIComponent(o.quote), o.quote) : o.quote, "quote");
    const parts = [el("p", "title", o.number), facts];
    if (o.status === "held") {
      const why = el("p", "warn", o.hold_reason ? `Held: ${o.hold_reason}` : "Held on credit (the reason is for sales only).");
      why.id = "hold";
      parts.push(why);
    }
    const by = [`taken ${when(o.created_at)}`];
    if (o.confirmed_at) by.push(`confirmed ${when(o.confirmed_at)}`);
    if (hidden(o, "value_cents")) by.push("prices and invoices are for sales and admin only");
    parts.push(el("p", "hint", by.join(" · ")));
    $("#head").replaceChildren(...parts);
  }

  function lines(o) {
    const prices = o.lines.some((l) => "unit_price_cents" in l);
    const columns = [
      ["#", (l) => l.line_no],
      ["Item", (l) => l.item],
      ["Quantity", (l) => qty(l.quantity)],
      ["Made", (l) => qty(l.produced)],
      ["Shipped", (l) => qty(l.shipped)],
      ["Due", (l) => date(l.due_date || o.due_date)],
      ["Made so far", (l) => progressBar(share(l.produced, l.quantity))],
    ];
    if (prices) columns.splice(3, 0, ["Unit price", (l) => money(l.unit_price_cents)]);
    const t = table(columns, o.lines, "No lines");
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.line = String(o.lines[i].line_no); tr.dataset.produced = String(o.lines[i].produced); });
    $("#lines-count").textContent = `${o.lines.length}`;
    $("#lines").replaceChildren(t);
  }

  // Each production order: its operations in sequence, each with good of quantity.
  function production(o) {
    const made = o.production_orders;
    $("#production-count").textContent = made.length ? `${made.length} production order${made.length > 1 ? "s" : ""}` : "";
    if (!made.length) {
      $("#production").replaceChildren(el("p", "muted", o.status === "draft" || o.status === "held"
        ? "Nothing planned before the order is confirmed." : "No production orders: from stock or services."));
      return;
    }
    const blocks = made.map((m) => {
      const tasks = m.tasks || [];
      const done = tasks.length ? tasks.reduce((sum, t) => sum + share(t.good, t.quantity), 0) / tasks.length : 0;
      const block = el("div", "po");
      block.dataset.po = m.number;
      block.dataset.progress = String(done);
      const h = el("p", "po-head");
      h.append(el("strong", null, m.number), el("span", null, `${m.item} × ${qty(m.quantity)}`),
        el("span", m.status === "released" || m.status === "in_progress" ? "ok" : "muted", words(m.status)),
        el("span", "muted", m.parent ? `component for ${m.parent}` : m.sales_order_line ? `line ${m.sales_order_line}` : "for stock"),
        progressBar(done));
      const t = table([
        ["Operation", (t) => t.operation],
        ["Work center", (t) => t.work_center],
        ["Status", (t) => words(t.status)],
        ["Good of quantity", (t) => `${qty(t.good)} / ${qty(t.quantity)}`],
        ["Progress", (t) => progressBar(share(t.good, t.quantity))],
        ["Scrap", (t) => qty(t.scrap)],
        ["Rework", (t) => qty(t.rework)],
        ["Labour h", (t) => qty(t.labour_hours)],
        ["Planned", (t) => (t.planned_start ? `${when(t.planned_start)} – ${when(t.planned_end)}` : "–")],
        ["Actual", (t) => (t.actual_start ? `${when(t.actual_start)} – ${t.actual_end ? when(t.actual_end) : "…"}` : "–")],
      ], tasks, "No operations");
      if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.op = `${m.number}/${tasks[i].operation}`; tr.dataset.good = String(tasks[i].good); });
      block.append(h, t);
      return block;
    });
    $("#production").replaceChildren(...blocks);
  }

  function rest(o) {
    $("#reservations").replaceChildren(table([
      ["Item", (r) => r.item], ["Lot", (r) => r.lot || "–"], ["Location", (r) => r.location],
      ["Quantity", (r) => qty(r.quantity)],
      ["For", (r) => (r.production_order ? r.production_order : r.sales_order_line ? `line ${r.sales_order_line}` : "–")],
    ], o.reservations, "Nothing reserved"));
    $("#shipments").replaceChildren(table([
      ["Shipment", (s) => s.number], ["Shipped", (s) => when(s.shipped_at)], ["Carrier", (s) => s.carrier],
      ["Tracking", (s) => s.tracking], ["Invoice", (s) => s.invoice],
      ["Lines", (s) => (s.lines || []).map((x) => `${x.line_no}: ${qty(x.quantity)}${x.lot ? ` (${x.lot})` : ""}`).join(", ") || "–"],
    ], o.shipments, "Nothing shipped yet"));
    if (!("invoices" in o)) { $("#invoices").replaceChildren(el("p", "muted", "Invoices are for sales and admin only.")); return; }
    $("#invoices").replaceChildren(table([
      ["Invoice", (i) => i.number], ["Issued", (i) => date(i.issued_at)], ["Due", (i) => date(i.due_date)],
      ["Amount", (i) => money(i.amount_cents)], ["Open", (i) => money(i.open_cents)],
      ["Status", (i) => (i.overdue ? el("span", "bad", "overdue") : i.status)],
    ], o.invoices, "No invoices"));
  }

  // ---- what the status allows
  const STEPS = {
    draft: ["confirm", "override", "cancel"],
    held: ["confirm", "override", "cancel"],
    confirmed: ["ship", "cancel"],
    in_production: ["ship"],
    ready: ["ship"],
  };
  const LABEL = {
    confirm: "Confirm", override: "Confirm over the credit limit (admin)", cancel: "Cancel…", ship: "Ship…",
  };
  function actions(o) {
    const admin = roles && roles.includes("admin");
    const sales = admin || (roles && roles.includes("sales"));
    const steps = sales ? (STEPS[o.status] || []).filter((s) => s !== "override" || admin) : [];
    $("#actions").replaceChildren(...steps.map((step) => {
      const b = el("button", step === "confirm" || step === "ship" ? "btn btn-primary btn-thin" : "btn btn-secondary btn-thin",
        o.status === "held" && step === "confirm" ? "Confirm again (check credit)" : LABEL[step]);
      b.type = "button";
      b.dataset.step = step;
      b.addEventListener("click", () => begin(step, b));
      return b;
    }));
    if (!sales) $("#actions").append(el("span", "muted", "Only sales and admin may confirm, cancel or ship an order, or make links."));
    else if (!steps.length) $("#actions").append(el("span", "muted", o.status === "cancelled" ? "Cancelled." : "Nothing more to do."));
    if (!steps.includes("cancel")) $("#cancel-form").hidden = true;
    if (!steps.includes("ship")) $("#ship-form").hidden = true;
    const linkable = sales && o.status !== "cancelled";
    $("#link-form").hidden = !linkable;
  }
  function begin(step, button) {
    if (step === "cancel") {
      $("#ship-form").hidden = true;
      $("#cancel-what").textContent = `Cancel ${order.number}? Its planned production orders, reservations and open purchase suggestions go with it.`;
      $("#cancel-form").hidden = false;
      $("#cancel-keep").focus();
      return;
    }
    if (step === "ship") { $("#cancel-form").hidden = true; $("#ship-form").hidden = false; $("#s-carrier").focus(); return; }
    run(button, "confirm", step === "override" ? { override_credit: true } : undefined);
  }
  async function run(button, step, body) {
    button.disabled = true;
    try {
      const answer = await FS.api(`${base}/${step}`, { method: "POST", ...(body ? { body: JSON.stringify(body) } : {}) });
      if (step === "confirm" && answer.status === "held") say(`Held: ${answer.hold_reason || "over the customer's credit limit"}`, true);
      else if (step === "confirm") {
        const made = answer.production_orders || [];
        say(`${answer.number}: ${words(answer.status)}${made.length ? ` · production orders ${made.join(", ")}` : ""}.`);
      } else if (step === "ship") say(`Shipped: ${answer.number}${answer.invoice ? `, invoice ${answer.invoice}` : ""}.`);
      else say(`${answer.number}: ${words(answer.status)}.`);
      $("#cancel-form").hidden = true;
      $("#ship-form").hidden = true;
      await FS.reload();
    } catch (e) {
      if (!e.auth) say(failed(e), true);
    } finally {
      button.disabled = false;
    }
  }
  $("#cancel-go").addEventListener("click", () => run($("#cancel-go"), "cancel"));
  $("#cancel-keep").addEventListener("click", () => { $("#cancel-form").hidden = true; });
  $("#ship-go").addEventListener("click", () => {
    const body = {};
    if ($("#s-carrier").value.trim()) body.carrier = $("#s-carrier").value.trim();
    if ($("#s-tracking").value.trim()) body.tracking = $("#s-tracking").value.trim();
    run($("#ship-go"), "ship", body);
  });

  // ---- the customer's progress links: the token is in the answer that made it, and only there
  function links(items) {
    const t = table([
      ["Link", (k) => `#${k.id}`],
      ["Made", (k) => `${when(k.created_at)} by ${k.created_by}`],
      ["Expires", (k) => (k.expires_at ? when(k.expires_at) : "when revoked")],
      ["Views", (k) => `${k.views}${k.last_seen_at ? `, last ${when(k.last_seen_at)}` : ""}`],
      ["State", (k) => (k.active ? el("span", "ok", "active") : el("span", "muted", k.revoked_at ? "revoked" : "expired"))],
      ["", (k) => {
        if (!k.active) return "";
        const b = el("button", "btn btn-secondary btn-thin", "Revoke");
        b.type = "button";
        b.addEventListener("click", () => revoke(k.id, b));
        return b;
      }],
    ], items, "No links yet");
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.link = String(items[i].id); tr.dataset.active = String(items[i].active); });
    $("#links").replaceChildren(t);
  }
  async function revoke(id, button) {
    button.disabled = true;
    try {
      await FS.api(`${base}/links/${id}/revoke`, { method: "POST" });
      say(`Link #${id} revoked: it stops working at once.`);
      if ($("#new-link").dataset.link === String(id)) $("#new-link").hidden = true;
      links((await FS.api(`${base}/links`)).items);
    } catch (e) {
      if (!e.auth) say(failed(e), true);
      button.disabled = false;
    }
  }
  $("#link-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const days = $("#l-days").value.trim();
    if (days && !(Number.isInteger(+days) && +days >= 1 && +days <= 3650)) { say("Expires in days: a whole number from 1 to 3650, or empty for until revoked.", true); return; }
    $("#l-go").disabled = true;
    try {
      const made = await FS.api(`${base}/links`, { method: "POST", body: JSON.stringify({ expires_in_days: days ? +days : null }) });
      $("#link-url").value = location.origin + made.path;
      $("#new-link").dataset.link = String(made.id);
      $("#new-link").hidden = false;
      $("#link-url").select();
      say(`Link #${made.id} made${made.expires_at ? `, until ${when(made.expires_at)}` : ", until revoked"}.`);
      links((await FS.api(`${base}/links`)).items);
    } catch (err) {
      if (!err.auth) say(failed(err), true);
    } finally {
      $("#l-go").disabled = false;
    }
  });
  $("#link-copy").addEventListener("click", () => {
    $("#link-url").select();
    if (navigator.clipboard) navigator.clipboard.writeText($("#link-url").value).then(() => say("Copied."), () => {});
  });

  async function load() {
    if (!number || number === "sales-orders") { location.assign("/sales-orders"); return; }
    if (roles === null) roles = (await FS.api("/api/v1/me")).roles;
    const [found, linked] = await Promise.all([FS.api(base), FS.api(`${base}/links`)]);
    order = found;
    document.title = `${order.number} – FloorSync`;
    head(order); actions(order); lines(order); production(order); rest(order);
    links(linked.items);
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }
  FS.start({ load, stream: { path: "/api/v1/floor/stream", events: ["progress"] }, signedOut: () => { roles = null; } });
})();
