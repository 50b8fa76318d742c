// FloorSync quotes: the list (latest version of each, filtered by status and customer) and a
// new quote for a customer with its lines (item, quantity, discount %); a new quote opens on
// its own page. Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, money, say, failed, table } = FS;
  let next = null, rows = [];
  const STATUS = { pending_approval: "pending approval" };

  // Technical specs are an object; people type them as "key: value; key: value" (as quote.js).
  function specsOf(text) {
    const specs = {};
    for (const part of text.split(/[;\n]/).map((p) => p.trim()).filter(Boolean)) {
      const at = part.indexOf(":");
      const [k, v] = at > 0 ? [part.slice(0, at).trim(), part.slice(at + 1).trim()] : ["note", part];
      specs[k] = k in specs ? `${specs[k]}; ${v}` : v;
    }
    return Object.keys(specs).length ? specs : null;
  }

  function quoteLink(number) {
    const a = el("a", null, number);
    a.href = "/quotes/" + encodeURIComponent(number);
    return a;
  }
  function customerLink(code) {
    const a = el("a", null, code);
    a.href = "/customers/" + encodeURIComponent(code);
    return a;
  }

  async function loadList(append = false) {
    const q = new URLSearchParams({ limit: "50" });
    if ($("#f-status").value) q.set("status", $("#f-status").value);
    if ($("#f-customer").value.trim()) q.set("customer", $("#f-customer").value.trim());
    if (append && next !== null) q.set("after", String(next));
    const page = await FS.api(`/api/v1/quotes?${q}`);
    next = page.next;
    rows = append ? [...rows, ...page.items] : page.items;
    $("#quotes-more").hidden = next === null;
    $("#quotes-count").textContent = `${rows.length}${next !== null ? "+" : ""}`;
    const t = table([
      ["Quote", (r) => quoteLink(r.number)],
      ["Version", (r) => `v${r.version}`],
      ["Customer", (r) => customerLink(r.customer)],
      ["Status", (r) => STATUS[r.status] || r.status],
      ["Type", (r) => r.order_type.replace("_", " ")],
      ["Valid until", (r) => date(r.valid_until)],
      ["Net", (r) => money(r.totals.net_cents)],
      ["Discount", (r) => money(r.totals.discount_cents)],
      ["Approval", (r) => (r.needs_approval ? el("span", r.approved ? "ok" : "warn", r.approved ? "approved" : "needed") : "–")],
      ["Created", (r) => when(r.created_at)],
    ], rows, "No quotes match");
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.quote = rows[i].number; });
    $("#quotes").replaceChildren(t);
  }

  // ---- the new quote's lines: one row of inputs each
  function addLine() {
    const tr = el("tr");
    const item = el("input"); Object.assign(item, { type: "text", maxLength: 64, size: 16, required: true, className: "l-item" });
    item.setAttribute("list", "item-codes");
    item.setAttribute("aria-label", "item code");
    const quantity = el("input"); Object.assign(quantity, { type: "number", min: "0", step: "any", value: "1", required: true, className: "l-qty" });
    quantity.setAttribute("aria-label", "quantity");
    const discount = el("input"); Object.assign(discount, { type: "number", min: "0", max: "100", step: "any", value: "0", className: "l-discount" });
    discount.setAttribute("aria-label", "discount %");
    const drop = el("button", "btn btn-secondary btn-x", "×");
    drop.type = "button";
    drop.title = "remove the line";
    drop.addEventListener("click", () => { if ($("#n-lines").rows.length > 1) tr.remove(); });
    for (const node of [item, quantity, discount, drop]) { const td = el("td"); td.append(node); tr.append(td); }
    $("#n-lines").append(tr);
    return item;
  }
  $("#n-add").addEventListener("click", () => addLine().focus());

  $("#new-quote").addEventListener("submit", async (e) => {
    e.preventDefault();
    const lines = [...$("#n-lines").rows].map((tr) => ({
      item: tr.querySelector(".l-item").value.trim(),
      quantity: parseFloat(tr.querySelector(".l-qty").value),
      discount_pct: parseFloat(tr.querySelector(".l-discount").value || "0"),
    }));
    const body = { customer: $("#n-customer").value.trim(), order_type: $("#n-type").value, lines };
    if ($("#n-valid").value) body.valid_until = $("#n-valid").value;
    const specs = specsOf($("#n-specs").value);
    if (specs) body.technical_specs = specs;
    if ($("#n-notes").value.trim()) body.notes = $("#n-notes").value.trim();
    $("#n-go").disabled = true;
    try {
      const made = await FS.api("/api/v1/quotes", { method: "POST", body: JSON.stringify(body) });
      location.assign("/quotes/" + encodeURIComponent(made.number));
    } catch (err) {
      if (!err.auth) say(failed(err), true);
    } finally {
      $("#n-go").disabled = false;
    }
  });

  // The pickers' suggestions: a convenience, so a failure only leaves them empty.
  async function suggestions() {
    const [customers, items] = await Promise.all([
      FS.api("/api/v1/customers?limit=500"), FS.api("/api/v1/items?limit=500"),
    ]);
    const options = (list, label) => list.map((x) => { const o = el("option", null, label(x)); o.value = x.code; return o; });
    $("#customer-codes").replaceChildren(...options(customers.items, (c) => c.name));
    $("#item-codes").replaceChildren(...options(items.items, (i) => `${i.description}${i.price_cents !== undefined ? ` · ${money(i.price_cents)}` : ""}`));
  }

  $("#filters").addEventListener("submit", (e) => { e.preventDefault(); loadList().catch(FS.readFailed); });
  $("#f-status").addEventListener("change", () => loadList().catch(FS.readFailed));
  $("#quotes-more").addEventListener("click", () => loadList(true).catch(FS.readFailed));
  const wanted = new URLSearchParams(location.search).get("customer");
  if (wanted) { $("#f-customer").value = wanted; $("#n-customer").value = wanted; }
  addLine();

  async function load() {
    await loadList();
    suggestions().catch(() => {});
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }
  FS.start({ load });
})();
