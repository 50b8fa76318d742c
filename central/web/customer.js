// FloorSync customer 360: one customer's orders (with production progress, live), shipments,
// receivables, tickets, repairs, RFM segment, decision map and change history; for sales the
// record, contacts, addresses and tags to edit, and for admins merging a duplicate into it.
// Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, money, pct, qty, table } = FS;
  const code = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const open = new Set();  // orders whose lines are unfolded, kept across live redraws
  const base = `/api/v1/customers/${encodeURIComponent(code)}`;
  let current = null;     // the overview last drawn: what the edit forms start from
  let me = null;          // the signed-in user's name and roles
  let editing = null;     // the contact being edited, or null: the form adds one

  function progressBar(share, risk) {
    const cell = el("div", "bar-cell");
    const bar = el("div", risk ? "pbar risk" : "pbar");
    const fill = el("span");
    fill.style.width = `${Math.round((share || 0) * 100)}%`;
    bar.append(fill);
    cell.append(bar, el("span", null, pct(share)));
    return cell;
  }
  function link(code, name) {
    const a = el("a", null, name);
    a.href = "/customers/" + encodeURIComponent(code);
    return a;
  }
  function flag(on, text, cls = "bad") { return on ? el("span", cls, text) : el("span", "muted", "–"); }

  function head(v) {
    const c = v.customer, r = v.rfm;
    const facts = el("dl", "facts");
    const fact = (k, value) => { const d = el("div"); d.append(el("dt", null, k), el("dd", null, value)); facts.append(d); };
    fact("Code", c.code);
    fact("Territory", c.territory || "–");
    fact("Credit limit", c.credit_limit_cents === null ? "none" : money(c.credit_limit_cents));
    fact("Exposure", money(c.exposure_cents));
    fact("Payment terms", `${c.payment_terms_days} days`);
    fact("Open orders", `${v.orders.open} of ${v.orders.total}`);
    const segment = el("div");
    segment.append(el("dt", null, "RFM segment"));
    const dd = el("dd");
    if (r) {
      const badge = el("span", "segment", r.segment);
      badge.id = "segment";
      dd.append(badge, el("span", "muted", `  R${r.r} F${r.f} M${r.m} · since ${date(r.since)}`));
    } else dd.append(el("span", "muted", "not scored"));
    segment.append(dd);
    facts.append(segment);
    const extra = el("p", "hint");
    const group = c.group || { parents: [], subsidiaries: [] };
    if (group.parents.length) {
      extra.append("part of ");
      group.parents.forEach((p, i) => { if (i) extra.append(" › "); extra.append(link(p.code, p.name)); });
      extra.append(" · ");
    }
    if (group.subsidiaries.length) {
      extra.append("subsidiaries: ");
      group.subsidiaries.forEach((p, i) => { if (i) extra.append(", "); extra.append(link(p.code, p.name)); });
    }
    const tagRow = el("p", "tags");
    tagRow.id = "tags";
    for (const t of (v.tags && v.tags.manual) || []) tagRow.append(el("span", "tag", t));
    for (const t of (v.tags && v.tags.rules) || []) tagRow.append(el("span", "tag tag-rule", t));
    const edit = el("button", "btn btn-secondary btn-thin sales-only", "Edit");
    Object.assign(edit, { type: "button", id: "edit-open", hidden: !mayEdit() });
    edit.addEventListener("click", openEdit);
    const title = el("p", "title", c.name);
    title.append(" ", edit);
    $("#head").replaceChildren(title, facts,
      el("p", "hint", [c.email, c.phone, c.address, c.owner && `account manager ${c.owner}`].filter(Boolean).join(" · ")),
      extra, tagRow);
  }

  function orders(v) {
    $("#orders-count").textContent = `newest ${v.orders.items.length} of ${v.orders.total}`;
    const t = table([
      ["Order", (o) => {
        const b = el("button", "btn btn-secondary btn-x", open.has(o.number) ? "−" : "+");
        b.title = "lines and operations";
        b.addEventListener("click", () => { open.has(o.number) ? open.delete(o.number) : open.add(o.number); orders(v); });
        const span = el("span"); span.append(b, " ", o.number); return span;
      }],
      ["Status", (o) => o.status],
      ["Due", (o) => date(o.due_date)],
      ["Expected ship", (o) => date(o.expected_ship)],
      ["Progress", (o) => progressBar(o.progress, o.at_risk)],
      ["", (o) => flag(o.at_risk, "at risk", "warn")],
      ["Value", (o) => money(o.value_cents)],
    ], v.orders.items, "No orders yet");
    if (t.tBodies) {
      [...t.tBodies[0].rows].forEach((tr, i) => {
        const o = v.orders.items[i];
        tr.dataset.order = o.number;
        tr.dataset.progress = String(o.progress);
        if (!open.has(o.number)) return;
        let after = tr;
        for (const line of o.lines) {
          const sub = el("tr", "sub");
          const ops = el("div", "ops");
          for (const op of line.operations || []) {
            const chip = el("span", "op", `${op.work_order} ${op.operation} ${op.work_center}: ${qty(op.good)}/${qty(op.quantity)}`);
            chip.dataset.status = op.status;
            ops.append(chip);
          }
          const first = el("td", null, `line ${line.line_no}`), what = el("td");
          what.colSpan = 3;
          what.append(el("div", null, `${line.item} · ${qty(line.quantity)} ordered, ${qty(line.produced)} made, ${qty(line.shipped)} shipped · expected ${date(line.expected_ship)}`), ops);
          const bar = el("td"); bar.colSpan = 3; bar.append(progressBar(line.progress, line.at_risk));
          sub.append(first, what, bar);
          after.after(sub);
          after = sub;
        }
      });
    }
    $("#orders").replaceChildren(t);
  }

  function rest(v) {
    const rec = v.receivables;
    $("#receivables-total").textContent = `${money(rec.open_cents)} open, ${money(rec.overdue_cents)} overdue`;
    $("#receivables").replaceChildren(table([
      ["Invoice", (i) => i.number], ["Order", (i) => i.sales_order], ["Due", (i) => date(i.due_date)],
      ["Open", (i) => money(i.open_cents)], ["", (i) => flag(i.overdue, "overdue")],
    ], rec.invoices, "Nothing open"));
    $("#shipments").replaceChildren(table([
      ["Shipment", (s) => s.number], ["Order", (s) => s.sales_order], ["Shipped", (s) => when(s.shipped_at)],
      ["Carrier", (s) => s.carrier], ["Tracking", (s) => s.tracking],
    ], v.shipments, "Nothing shipped yet"));
    $("#tickets-count").textContent = `${v.tickets.open} open`;
    $("#tickets").replaceChildren(table([
      ["Ticket", (t) => t.number], ["Kind", (t) => t.kind.replace("_", " ")], ["Priority", (t) => t.priority],
      ["Status", (t) => t.status], ["Subject", (t) => t.subject],
      ["SLA", (t) => (t.response_breached || t.resolution_breached)
        ? el("span", "bad", t.resolution_breached ? "resolution breached" : "response breached") : el("span", "ok", "ok")],
    ], v.tickets.items, "No tickets"));
    $("#repairs-count").textContent = `${v.repairs.open} open`;
    $("#repairs").replaceChildren(table([
      ["Repair", (r) => r.number], ["Kind", (r) => r.kind.replace("_", " ")], ["Status", (r) => r.status],
      ["Unit", (r) => `${r.item} ${r.lot || ""}`], ["Warranty", (r) => flag(r.under_warranty, "under warranty", "ok")],
      ["Technician", (r) => r.technician],
    ], v.repairs.items, "No repairs"));
    const addresses = v.addresses || [];
    const addressTable = table([
      ["Kind", (a) => a.kind + (a.is_default ? " (default)" : "")], ["Label", (a) => a.label],
      ["Address", (a) => [a.street, [a.postcode, a.city].filter(Boolean).join(" "), a.country].join(", ")],
      ...(mayEdit() ? [["", (a) => button("Delete", { deleteAddress: a.id }, (b) => removeAddress(b, a))]] : []),
    ], addresses, "No addresses");
    if (addressTable.tBodies) [...addressTable.tBodies[0].rows].forEach((tr, i) => { tr.dataset.address = String(addresses[i].id); });
    $("#addresses").replaceChildren(addressTable);
    const names = new Map(v.contacts.map((c) => [c.id, c.name]));
    const contactTable = table([
      ["Name", (c) => c.name], ["Title", (c) => c.role],
      ["Buying role", (c) => (c.buying_role ? ROLE[c.buying_role] || c.buying_role : null)],
      ["Reports to", (c) => names.get(c.reports_to_id)],
      ["Email, phone", (c) => [c.email, c.phone].filter(Boolean).join(" · ") || null],
      ...(mayEdit() ? [["", (c) => button("Edit", { editContact: c.id }, () => editContact(c))]] : []),
    ], v.contacts, "No contacts");
    if (contactTable.tBodies) [...contactTable.tBodies[0].rows].forEach((tr, i) => { tr.dataset.contact = String(v.contacts[i].id); });
    $("#contacts").replaceChildren(contactTable);
    bosses(v.contacts);
    $("#rfm-history").replaceChildren(table([
      ["When", (h) => when(h.at)], ["From", (h) => h.previous || "(first scoring)"], ["To", (h) => h.segment],
    ], (v.rfm && v.rfm.history) || [], "Not scored yet"));
  }

  // ---- timeline: newest first; "Older" follows the cursor
  let timelineNext = null;
  function entryText(e) {
    const what = { order: "Order", shipment: "Shipment", invoice: "Invoice", payment: "Payment",
      quote: "Quote", opportunity: "Opportunity", ticket: "Ticket", repair: "Repair" }[e.source];
    if (e.source === "interaction") return `${e.kind}${e.direction ? ` (${e.direction})` : ""}: ${e.title}${e.contact ? ` – ${e.contact}` : ""}`;
    const money = e.amount_cents !== undefined ? ` ${FS.money(e.amount_cents)}` : "";
    return `${what} ${e.reference}${money}${e.title && e.source !== "order" ? ` – ${e.title}` : ""}${e.detail ? ` (${e.detail})` : ""}`;
  }
  function timelineRows(items, append) {
    const list = append ? $("#timeline ul") : el("ul", "timeline");
    for (const e of items) {
      const li = el("li");
      li.dataset.source = e.source;
      li.append(el("span", "muted", when(e.at)), " ", el("span", null, entryText(e)), e.by ? el("span", "muted", ` · ${e.by}`) : "");
      list.append(li);
    }
    if (!append) $("#timeline").replaceChildren(items.length ? list : el("p", "muted", "Nothing yet"));
  }
  async function loadTimeline(append = false) {
    const q = new URLSearchParams({ limit: "15" });
    if (append && timelineNext) q.set("after", timelineNext);
    const page = await FS.api(`/api/v1/customers/${encodeURIComponent(code)}/timeline?${q}`);
    timelineRows(page.items, append);
    timelineNext = page.next;
    $("#timeline-more").hidden = !timelineNext;
  }
  $("#timeline-more").addEventListener("click", () => loadTimeline(true).catch((e) => FS.say(FS.failed(e), true)));
  $("#log").addEventListener("submit", (e) => {
    e.preventDefault();
    const subject = $("#log-subject").value.trim();
    if (!subject) return;
    const kind = $("#log-kind").value;
    FS.api(`/api/v1/customers/${encodeURIComponent(code)}/interactions`, { method: "POST", body: JSON.stringify({ kind, subject }) })
      .then(() => { $("#log-subject").value = ""; return loadTimeline(); })
      .catch((err) => FS.say(FS.failed(err), true));
  });

  // ---- the account: contacts by buying role (who reports to whom), and its audit history
  const ROLE = { decision_maker: "decision maker", influencer: "influencer", user: "user", technical: "technical", purchasing: "purchasing" };
  function person(p) {
    const li = el("li");
    li.dataset.contact = String(p.id);
    li.append(el("span", p.buying_role ? "tag" : "tag tag-rule", p.buying_role ? ROLE[p.buying_role] || p.buying_role : "no role"),
      " ", el("strong", null, p.name), p.role ? el("span", "muted", ` · ${p.role}`) : "");
    if (p.reports.length) {
      const below = el("ul", "decision-tree");
      for (const r of p.reports) below.append(person(r));
      li.append(below);
    }
    return li;
  }
  function decisionMap(m) {
    $("#decision-missing").textContent = m.missing_roles.length ? `no ${m.missing_roles.map((r) => ROLE[r]).join(", no ")} yet` : "";
    if (!m.tree.length) { $("#decision-map").replaceChildren(el("p", "muted", "No contacts yet")); return; }
    const roles = el("p", "hint");
    for (const [role, names] of Object.entries(m.by_role)) if (names.length) roles.append(`${ROLE[role] || role}: ${names.join(", ")} · `);
    if (m.unassigned.length) roles.append(`no buying role: ${m.unassigned.join(", ")}`);
    const tree = el("ul", "decision-tree");
    for (const p of m.tree) tree.append(person(p));
    $("#decision-map").replaceChildren(tree, roles);
  }
  let historyNext = null;
  function shown(value) {
    if (value === null || value === undefined) return "–";
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return text.length > 120 ? text.slice(0, 117) + "…" : text;
  }
  async function loadHistory(append = false) {
    const q = new URLSearchParams({ limit: "20" });
    if (append && historyNext) q.set("after", String(historyNext));
    const page = await FS.api(`/api/v1/history/customer/${encodeURIComponent(code)}?${q}`);
    const rows = append ? [...(loadHistory.rows || []), ...page.items] : page.items;
    loadHistory.rows = rows;
    historyNext = page.next;
    $("#history-more").hidden = !historyNext;
    const t = table([
      ["When", (h) => when(h.at)],
      ["What", (h) => h.action.replace(/_/g, " ")],
      ["Who", (h) => h.user],
      ["Changed", (h) => {
        const ul = el("ul", "timeline");
        for (const [field, [before, after]] of Object.entries(h.changes || {})) ul.append(el("li", null, `${field}: ${shown(before)} → ${shown(after)}`));
        return ul;
      }],
    ], rows, "No changes recorded");
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.action = rows[i].action; });
    $("#history").replaceChildren(t);
  }
  $("#history-more").addEventListener("click", () => loadHistory(true).catch((e) => FS.say(FS.failed(e), true)));
  async function loadAccount() {
    const [map] = await Promise.all([FS.api(`/api/v1/customers/${encodeURIComponent(code)}/decision-map`), loadHistory()]);
    decisionMap(map);
  }

  // ---- changing the account (sales and admin): each change redraws the 360
  const mayEdit = () => !!me && me.roles.some((r) => r === "sales" || r === "admin");
  const isAdmin = () => !!me && me.roles.includes("admin");
  const text = (sel) => $(sel).value.trim() || null;
  function button(label, data, click) {
    const b = el("button", "btn btn-secondary btn-thin", label);
    b.type = "button";
    Object.assign(b.dataset, data);
    b.addEventListener("click", () => click(b));
    return b;
  }
  async function act(b, work) {
    b.disabled = true;
    try {
      const done = await work();
      await load();
      if (done) FS.say(done);
    } catch (e) { if (!e.auth) FS.say(FS.failed(e), true); } finally { b.disabled = false; }
  }
  const send = (path, method, body) => FS.api(base + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });

  // The record: PUT replaces every field, so the form starts from all the current values. The
  // credit limit goes along only when this user can see it (else the API keeps it as it is).
  const EDITED = ["name", "tax_id", "email", "phone", "territory", "tier", "owner", "parent", "address"];
  function openEdit() {
    const c = current.customer;
    const values = { ...c, parent: c.group && c.group.parents.length ? c.group.parents[0].code : null };
    for (const f of EDITED) $(`#e-${f}`).value = values[f] ?? "";
    $("#e-payment_terms_days").value = String(c.payment_terms_days);
    const creditShown = !(c.hidden_fields || []).includes("credit_limit_cents");
    $("#e-credit-label").hidden = !creditShown;
    $("#e-credit").value = creditShown && c.credit_limit_cents !== null ? (c.credit_limit_cents / 100).toFixed(2) : "";
    $("#t-tags").value = (current.tags.manual || []).join(", ");
    $("#edit-panel").hidden = false;
    $("#e-name").focus();
  }
  $("#e-cancel").addEventListener("click", () => { $("#edit-panel").hidden = true; });
  $("#edit").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = {};
    for (const f of EDITED) body[f] = f === "address" ? $("#e-address").value.trim() || null : text(`#e-${f}`);
    body.payment_terms_days = parseInt($("#e-payment_terms_days").value, 10);
    if (!$("#e-credit-label").hidden) {
      const credit = $("#e-credit").value;
      body.credit_limit_cents = credit === "" ? null : Math.round(parseFloat(credit) * 100);
    }
    act($("#e-go"), async () => {
      await send("", "PUT", body);
      $("#edit-panel").hidden = true;
      return `${code} saved.`;
    });
  });
  $("#tag-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const tags = $("#t-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
    act($("#t-go"), async () => { await send("/tags", "PUT", { tags }); return "Tags set."; });
  });

  // A contact: the form adds one, or edits the one picked in the table.
  function bosses(people) {
    const select = $("#k-reports_to"), was = select.value;
    const options = [el("option", null, "nobody")];
    options[0].value = "";
    for (const p of people) {
      if (editing && p.id === editing.id) continue;
      const o = el("option", null, p.name);
      o.value = String(p.id);
      options.push(o);
    }
    select.replaceChildren(...options);
    select.value = [...select.options].some((o) => o.value === was) ? was : "";
  }
  function contactForm(c) {
    editing = c;
    for (const f of ["name", "role", "email", "phone", "buying_role"]) $(`#k-${f}`).value = (c && c[f]) ?? "";
    bosses(current ? current.contacts : []);
    $("#k-reports_to").value = c && c.reports_to_id ? String(c.reports_to_id) : "";
    $("#k-title").textContent = c ? `Edit ${c.name}` : "Add a contact";
    $("#k-go").textContent = c ? "Save contact" : "Add contact";
    $("#k-cancel").hidden = !c;
  }
  function editContact(c) { contactForm(c); $("#k-name").focus(); }
  $("#k-cancel").addEventListener("click", () => contactForm(null));
  $("#contact").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { name: $("#k-name").value.trim(), role: text("#k-role"), email: text("#k-email"), phone: text("#k-phone"),
      buying_role: $("#k-buying_role").value || null, reports_to: $("#k-reports_to").value ? parseInt($("#k-reports_to").value, 10) : null };
    const was = editing;
    act($("#k-go"), async () => {
      if (was) await send(`/contacts/${was.id}`, "PUT", body);
      else await send("/contacts", "POST", body);
      contactForm(null);
      return was ? `${body.name} saved.` : `${body.name} added.`;
    });
  });

  $("#address").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { kind: $("#a-kind").value, label: text("#a-label"), street: $("#a-street").value.trim(),
      postcode: text("#a-postcode"), city: $("#a-city").value.trim(), country: $("#a-country").value.trim().toUpperCase(),
      is_default: $("#a-default").checked };
    act($("#a-go"), async () => {
      await send("/addresses", "POST", body);
      $("#address").reset();
      return "Address added.";
    });
  });
  function removeAddress(b, a) {
    act(b, async () => { await send(`/addresses/${a.id}`, "DELETE"); return `Address ${a.street}, ${a.city} deleted.`; });
  }

  // Merging (admin): the duplicate's code, then a confirm step naming both; the duplicate goes.
  let merging = null;
  async function duplicateCandidates() {
    const c = current.customer, q = new URLSearchParams();
    for (const f of ["name", "tax_id", "email", "phone"]) if (c[f]) q.set(f, c[f]);
    const found = (await FS.api(`/api/v1/customer-duplicates?${q}`)).items.filter((d) => d.code !== code);
    const t = table([
      ["Code", (d) => link(d.code, d.code)], ["Name", (d) => d.name], ["Why", (d) => d.reasons.join(", ").replaceAll("_", " ")],
      ["", (d) => button("Merge…", { mergeFrom: d.code }, () => { $("#m-from").value = d.code; askMerge(); })],
    ], found, "No likely duplicates found: enter a code below.");
    $("#merge-candidates").replaceChildren(t);
  }
  async function askMerge() {
    const from = $("#m-from").value.trim();
    if (!from) return;
    if (from === code) { FS.say("A customer cannot be merged into itself.", true); return; }
    try {
      const dup = await FS.api(`/api/v1/customers/${encodeURIComponent(from)}`);
      merging = dup.code;
      $("#m-what").textContent = `Move everything of ${dup.code} (${dup.name}) to ${code} (${current.customer.name}) and delete ${dup.code}? This cannot be undone.`;
      $("#merge-confirm").hidden = false;
    } catch (e) { if (!e.auth) FS.say(FS.failed(e), true); }
  }
  $("#merge").addEventListener("submit", (e) => { e.preventDefault(); askMerge(); });
  $("#m-no").addEventListener("click", () => { merging = null; $("#merge-confirm").hidden = true; });
  $("#m-yes").addEventListener("click", () => {
    const from = merging;
    if (!from) return;
    act($("#m-yes"), async () => {
      await FS.api(`/api/v1/customers/${encodeURIComponent(from)}/merge`, { method: "POST", body: JSON.stringify({ into: code }) });
      merging = null;
      $("#merge-confirm").hidden = true;
      $("#m-from").value = "";
      return `${from} merged into ${code}.`;
    });
  });

  async function load() {
    if (!code || code === "customers") { FS.say("Open a customer by its code above."); return; }
    const [v, tags, who] = await Promise.all([FS.api(base + "/overview"), FS.api(base + "/tags"), me || FS.api("/api/v1/me")]);
    me = who;
    v.tags = tags;
    current = v;
    for (const node of document.querySelectorAll("form.sales-only, h3.sales-only")) node.hidden = !mayEdit();
    $("#merge-panel").hidden = !isAdmin();
    document.title = `${v.customer.name} – FloorSync`;
    head(v); orders(v); rest(v);
    await Promise.all([loadTimeline(), loadAccount(), isAdmin() ? duplicateCandidates() : null]);
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
    FS.say(null);
  }

  $("#lookup").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = $("#lookup-code").value.trim();
    if (c) location.assign("/customers/" + encodeURIComponent(c));
  });
  // another user may sign in next: what they may do is asked again
  FS.start({ load, stream: { path: "/api/v1/floor/stream", events: ["progress"] }, signedOut: () => { me = null; } });
})();
