// FloorSync sales orders: the list by number, filtered by status, customer, type and due
// window, paged on; each opens its own page. Values only for those who may see them (the API
// leaves them out and names them in hidden_fields). Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, money, say, failed, table } = FS;
  let next = null, rows = [];
  const words = (s) => (s ? s.replaceAll("_", " ") : s);

  function link(href, text) { const a = el("a", null, text); a.href = href; return a; }

  function filters() {
    const q = new URLSearchParams();
    if ($("#f-status").value) q.set("status", $("#f-status").value);
    if ($("#f-customer").value.trim()) q.set("customer", $("#f-customer").value.trim());
    if ($("#f-type").value) q.set("type", $("#f-type").value);
    if ($("#f-due-after").value) q.set("due_after", $("#f-due-after").value);
    if ($("#f-due-before").value) q.set("due_before", $("#f-due-before").value);
    return q;
  }

  async function loadList(append = false) {
    const q = filters();
    q.set("limit", "50");
    if (append && next !== null) q.set("after", String(next));
    const page = await FS.api(`/api/v1/sales-orders?${q}`);
    next = page.next;
    rows = append ? [...rows, ...page.items] : page.items;
    $("#orders-more").hidden = next === null;
    $("#orders-count").textContent = `${rows.length}${next !== null ? "+" : ""}`;
    const hidden = rows.some((r) => (r.hidden_fields || []).includes("value_cents"));
    const values = rows.some((r) => "value_cents" in r);
    $("#values-hidden").hidden = !hidden;
    const columns = [
      ["Order", (r) => link("/sales-orders/" + encodeURIComponent(r.number), r.number)],
      ["Customer", (r) => link("/customers/" + encodeURIComponent(r.customer), r.customer)],
      ["Type", (r) => words(r.type)],
      ["Status", (r) => (r.status === "held" ? el("span", "warn", "held") : words(r.status))],
      ["Reference", (r) => r.customer_reference],
      ["Due", (r) => date(r.due_date)],
      ["Created", (r) => when(r.created_at)],
    ];
    if (values) columns.push(["Value", (r) => money(r.value_cents)]);
    const t = table(columns, rows, "No orders match");
    if (t.tBodies) {
      [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.order = rows[i].number; tr.dataset.status = rows[i].status; });
    }
    $("#orders").replaceChildren(t);
  }

  // The file needs the bearer token, which a plain link cannot carry: fetch it, save the blob.
  async function exportCsv() {
    const q = filters();
    q.delete("type"); q.delete("due_after"); q.delete("due_before");  // the export knows status and customer
    q.set("format", "csv");
    $("#export").disabled = true;
    try {
      const res = await fetch(`/api/v1/exports/sales-orders?${q}`,
        { headers: { Authorization: "Bearer " + sessionStorage.getItem("floorsync.token") } });
      if (!res.ok) {
        const e = ((await res.json().catch(() => null)) || {}).error || {};
        throw Object.assign(new Error(e.message || `HTTP ${res.status}`), { status: res.status, code: e.code || "export" });
      }
      const a = el("a");
      a.href = URL.createObjectURL(await res.blob());
      a.download = `sales-orders-${new Date().toISOString().slice(0, 10)}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      say(failed(e), true);
    } finally {
      $("#export").disabled = false;
    }
  }

  // The customer picker's suggestions: a convenience, so a failure only leaves them empty.
  async function suggestions() {
    const customers = await FS.api("/api/v1/customers?limit=500");
    $("#customer-codes").replaceChildren(...customers.items.map((c) => { const o = el("option", null, c.name); o.value = c.code; return o; }));
  }

  const refresh = () => { say(null); loadList().catch(FS.readFailed); };
  $("#filters").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  for (const id of ["#f-status", "#f-type", "#f-due-after", "#f-due-before"]) $(id).addEventListener("change", refresh);
  $("#orders-more").addEventListener("click", () => loadList(true).catch(FS.readFailed));
  $("#export").addEventListener("click", exportCsv);
  const wanted = new URLSearchParams(location.search);
  if (wanted.get("customer")) $("#f-customer").value = wanted.get("customer");
  if (wanted.get("status")) $("#f-status").value = wanted.get("status");

  async function load() {
    await loadList();
    suggestions().catch(() => {});
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }
  FS.start({ load });
})();
