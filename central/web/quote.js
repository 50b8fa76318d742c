// FloorSync quote: one quote's lines, totals and approval, its versions and history, its PDF,
// and the steps its status allows (submit, approve, send, revise, accept into a sales order,
// reject). A draft's fields and lines are changed here too, saved with PUT. The API decides
// who may: a refusal (say 403 for approving without the admin role) is shown as it comes.
// Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, money, qty, say, failed, table } = FS;
  const number = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const version = new URLSearchParams(location.search).get("version");
  const base = `/api/v1/quotes/${encodeURIComponent(number)}`;
  const STATUS = { pending_approval: "pending approval" };
  const APPROVAL = { not_required: "not needed", required: "needed: submit it", pending: "waiting for an admin", approved: "approved" };
  let quote = null;
  let pendingReason = null;  // the path a reason is asked for: reject or reject-approval
  let dirty = false;  // the draft form holds changes not saved yet

  function link(href, text) { const a = el("a", null, text); a.href = href; return a; }
  // Technical specs are an object; people read and type them as "key: value; key: value".
  const specsText = (specs) => (specs ? Object.entries(specs)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ") : "");
  function specsOf(text) {
    const specs = {};
    for (const part of text.split(/[;\n]/).map((p) => p.trim()).filter(Boolean)) {
      const at = part.indexOf(":");
      const [k, v] = at > 0 ? [part.slice(0, at).trim(), part.slice(at + 1).trim()] : ["note", part];
      specs[k] = k in specs ? `${specs[k]}; ${v}` : v;
    }
    return Object.keys(specs).length ? specs : null;
  }

  function head(q) {
    const facts = el("dl", "facts");
    const fact = (k, v, id) => {
      const d = el("div"), dd = el("dd");
      if (id) d.id = id;
      dd.append(v);  // text or a link; append never parses markup
      d.append(el("dt", null, k), dd);
      facts.append(d);
    };
    fact("Customer", link("/customers/" + encodeURIComponent(q.customer), q.customer));
    fact("Status", STATUS[q.status] || q.status, "status");
    fact("Version", `${q.version} of ${Math.max(...q.versions)}`);
    fact("Order type", q.order_type.replace("_", " "));
    fact("Valid until", date(q.valid_until));
    fact("Net", money(q.totals.net_cents), "net");
    const a = q.approval;
    fact(`Approval (over ${a.limit_pct} %)`, a.state === "approved" && a.approved_by
      ? `approved by ${a.approved_by}` : APPROVAL[a.state] || a.state, "approval");
    const pdf = el("button", "btn btn-secondary btn-thin", "PDF");
    pdf.type = "button";
    pdf.id = "pdf";
    pdf.addEventListener("click", openPdf);
    const by = [`made by ${q.created_by || "–"} ${when(q.created_at)}`];
    if (q.opportunity) by.push(`for ${q.opportunity}`);
    if (q.sent_at) by.push(`sent ${when(q.sent_at)}`);
    if (q.decided_at) by.push(`decided ${when(q.decided_at)}`);
    const title = el("p", "title", `${q.number} v${q.version}`);
    title.append(" ", pdf);
    const parts = [title, facts, el("p", "hint", by.join(" · "))];
    if (q.technical_specs) parts.push(el("p", "hint", `technical specs: ${specsText(q.technical_specs)}`));
    if (q.notes) parts.push(el("p", "hint", `notes: ${q.notes}`));
    $("#head").replaceChildren(...parts);
  }

  // The PDF needs the bearer token, which a plain link cannot carry: fetch it, show the blob.
  async function openPdf() {
    const tab = window.open("about:blank", "_blank");
    try {
      const q = version ? `?version=${encodeURIComponent(version)}` : "";
      const res = await fetch(`${base}/pdf${q}`, { headers: { Authorization: "Bearer " + sessionStorage.getItem("floorsync.token") } });
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, code: "pdf" });
      const url = URL.createObjectURL(await res.blob());
      if (tab) tab.location.href = url; else location.assign(url);
    } catch (e) {
      if (tab) tab.close();
      say(failed(e), true);
    }
  }

  function lines(q) {
    const t = q.totals;
    $("#totals").textContent = `list ${money(t.list_cents)} · discount ${money(t.discount_cents)} · net ${money(t.net_cents)}`;
    const grid = table([
      ["#", (l) => l.line_no],
      ["Item", (l) => `${l.item} · ${l.description}`],
      ["Quantity", (l) => `${qty(l.quantity)} ${l.unit || ""}`],
      ["List price", (l) => money(l.list_price_cents)],
      ["Discount", (l) => (l.needs_approval ? el("span", "warn", `${qty(l.discount_pct)} %`) : `${qty(l.discount_pct)} %`)],
      ["Unit price", (l) => money(l.unit_price_cents)],
      ["Line total", (l) => money(l.line_total_cents)],
      ["Specs", (l) => specsText(l.technical_specs) || null],
    ], q.lines, "No lines");
    $("#lines").replaceChildren(grid);
  }

  // ---- changing a draft: its fields and lines, all sent with PUT (which replaces them)
  const editable = (q) => q.status === "draft" && q.version === Math.max(...q.versions);
  function editForm(q) {
    const on = editable(q);
    $("#edit-box").hidden = !on;
    dirty = false;
    if (!on) return;
    $("#e-type").value = q.order_type;
    $("#e-valid").value = q.valid_until || "";
    $("#e-opportunity").value = q.opportunity || "";
    $("#e-specs").value = specsText(q.technical_specs);
    $("#e-notes").value = q.notes || "";
    $("#e-lines").replaceChildren(...q.lines.map(lineRow));
    approvalNote(q);
    removable();
    suggestions().catch(() => {});  // a convenience: without it, codes are typed
  }
  // One row per line. A saved line keeps what it was (its exact discount, or its price when
  // above list, and its specs) unless its inputs are changed: an untouched line saves as it was.
  function lineRow(line) {
    const tr = el("tr");
    const saved = line || null;
    tr.dataset.by = saved && saved.unit_price_cents > saved.list_price_cents ? "price" : "discount";
    const input = (cls, label, attrs) => {
      const node = el("input", cls);
      Object.assign(node, { type: "number", min: "0", step: "any", ...attrs });
      node.setAttribute("aria-label", label);
      return node;
    };
    let item;
    if (saved) {
      tr.dataset.item = saved.item;
      item = el("span", null, `${saved.item} · ${saved.description}`);
    } else {
      item = el("input", "l-item");
      Object.assign(item, { type: "text", maxLength: 64, size: 16, required: true });
      item.setAttribute("list", "item-codes");
      item.setAttribute("aria-label", "item code");
    }
    const quantity = input("l-qty", "quantity", { value: saved ? String(saved.quantity) : "1", required: true });
    const discount = input("l-discount", "discount %", { max: "100", value: saved ? (tr.dataset.by === "discount" ? String(+saved.discount_pct.toFixed(4)) : "") : "0" });
    const price = input("l-price", "unit price", { step: "0.01",
      value: saved && tr.dataset.by === "price" ? (saved.unit_price_cents / 100).toFixed(2) : "",
      placeholder: saved ? (saved.unit_price_cents / 100).toFixed(2) : "the list price" });
    discount.addEventListener("input", () => { tr.dataset.by = "discount"; price.value = ""; priced(tr); });
    price.addEventListener("input", () => { tr.dataset.by = price.value === "" ? "discount" : "price"; discount.value = ""; priced(tr); });
    const drop = el("button", "btn btn-secondary btn-x", "×");
    Object.assign(drop, { type: "button", title: "remove the line" });
    drop.setAttribute("aria-label", "remove the line");
    drop.addEventListener("click", () => { tr.remove(); changed(); removable(); });
    const over = el("span", "warn over");
    const cells = [saved ? String(saved.line_no) : "new", item, quantity, [discount, over], price,
      saved ? money(saved.list_price_cents) : "–", drop];
    for (const c of cells) { const td = el("td"); td.append(...[c].flat()); tr.append(td); }
    rowState.set(tr, { saved, touched: false });
    priced(tr);
    return tr;
  }
  const rowState = new WeakMap();
  // A line's discount beyond the limit shows while typing; the API has the last word on save.
  function priced(tr) {
    const state = rowState.get(tr);
    const d = tr.querySelector(".l-discount").value, p = tr.querySelector(".l-price").value;
    const list = state && state.saved ? state.saved.list_price_cents : null;
    const pct = tr.dataset.by === "price"
      ? (list && p !== "" ? Math.max(0, (list - Math.round(parseFloat(p) * 100)) * 100 / list) : 0)
      : parseFloat(d || "0");
    const limit = quote.approval.limit_pct;
    tr.classList.toggle("over-limit", pct > limit);
    tr.querySelector(".over").textContent = pct > limit ? ` over ${limit} %: needs approval` : "";
  }
  function removable() {
    const rows = [...$("#e-lines").rows];
    for (const tr of rows) tr.querySelector(".btn-x").disabled = rows.length === 1;  // a quote has a line
  }
  function changed() { dirty = true; $("#e-approval").hidden = true; }
  function approvalNote(q) {
    const over = q.lines.filter((l) => l.needs_approval).map((l) => `line ${l.line_no}`);
    const note = $("#e-approval");
    note.hidden = !over.length;
    note.textContent = over.length
      ? `Needs approval: ${over.join(", ")} discounted beyond ${q.approval.limit_pct} %. Submitted, it waits for an admin.`
      : "";
  }
  function lineBody(tr) {
    const state = rowState.get(tr);
    const saved = state.saved;
    const line = { item: saved ? saved.item : tr.querySelector(".l-item").value.trim(),
      quantity: parseFloat(tr.querySelector(".l-qty").value) };
    const d = tr.querySelector(".l-discount").value, p = tr.querySelector(".l-price").value;
    if (saved && !state.touched) {
      if (tr.dataset.by === "price") line.unit_price_cents = saved.unit_price_cents;
      else line.discount_pct = saved.discount_pct;
    } else if (tr.dataset.by === "price" && p !== "") line.unit_price_cents = Math.round(parseFloat(p) * 100);
    else line.discount_pct = parseFloat(d || "0");
    if (saved && saved.technical_specs) line.technical_specs = saved.technical_specs;
    return line;
  }
  function editBody() {
    const body = { order_type: $("#e-type").value, lines: [...$("#e-lines").rows].map(lineBody) };
    if ($("#e-valid").value) body.valid_until = $("#e-valid").value;
    body.opportunity = $("#e-opportunity").value.trim() || null;
    const specs = $("#e-specs").value.trim();
    body.technical_specs = specs === specsText(quote.technical_specs) ? quote.technical_specs : specsOf(specs);
    body.notes = $("#e-notes").value.trim() || null;
    return body;
  }
  $("#edit").addEventListener("input", (e) => {
    const tr = e.target.closest("#e-lines tr");
    if (tr && !e.target.classList.contains("l-qty")) rowState.get(tr).touched = true;
    changed();
  });
  $("#e-add").addEventListener("click", () => {
    const tr = lineRow(null);
    $("#e-lines").append(tr);
    changed();
    removable();
    tr.querySelector(".l-item").focus();
  });
  $("#e-undo").addEventListener("click", () => { editForm(quote); say(null); });
  $("#edit").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#e-save").disabled = true;
    try {
      const saved = await FS.api(base, { method: "PUT", body: JSON.stringify(editBody()) });
      say(`${saved.number} saved: net ${money(saved.totals.net_cents)}${saved.needs_approval ? " – it will need an admin's approval" : ""}.`);
      await FS.reload();
    } catch (err) {
      if (!err.auth) say(failed(err), true);
    } finally {
      $("#e-save").disabled = false;
    }
  });
  // The item picker's suggestions, read once.
  let suggested = null;
  function suggestions() {
    suggested = suggested || FS.api("/api/v1/items?limit=500").then((items) => {
      $("#item-codes").replaceChildren(...items.items.map((i) => {
        const o = el("option", null, `${i.description}${i.price_cents !== undefined ? ` · ${money(i.price_cents)}` : ""}`);
        o.value = i.code;
        return o;
      }));
    }).catch((e) => { suggested = null; throw e; });
    return suggested;
  }

  function versions(q) {
    const list = el("ul", "plain");
    for (const v of [...q.versions].reverse()) {
      const li = el("li");
      if (v === q.version) li.append(el("strong", null, `v${v} (shown)`));
      else li.append(link(`/quotes/${encodeURIComponent(q.number)}${v === Math.max(...q.versions) ? "" : `?version=${v}`}`, `v${v}`));
      list.append(li);
    }
    $("#versions").replaceChildren(list);
  }

  function shown(value) {
    if (value === null || value === undefined) return "–";
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return text.length > 120 ? text.slice(0, 117) + "…" : text;
  }
  function historyRows(items) {
    return table([
      ["When", (h) => when(h.at)],
      ["What", (h) => h.action],
      ["Who", (h) => h.user],
      ["Changed", (h) => {
        const ul = el("ul", "changes");
        for (const [field, [before, after]] of Object.entries(h.changes || {})) {
          ul.append(el("li", null, `${field}: ${shown(before)} → ${shown(after)}`));
        }
        return ul;
      }],
    ], items, "No changes recorded");
  }

  // ---- what the status allows, on the latest version only
  const STEPS = {
    draft: ["submit"],
    pending_approval: ["approve", "reject-approval", "revise"],
    approved: ["send", "revise"],
    sent: ["accept", "reject", "revise"],
    expired: ["reject", "revise"],
    rejected: ["revise"],
  };
  const LABEL = {
    submit: "Submit", approve: "Approve (admin)", "reject-approval": "Refuse approval (admin)", send: "Send to the customer",
    revise: "Revise: new version", accept: "Accept…", reject: "Customer rejected…",
  };
  function actions(q) {
    const latest = q.version === Math.max(...q.versions);
    const steps = latest ? STEPS[q.status] || [] : [];
    $("#actions").replaceChildren(...steps.map((step) => {
      const b = el("button", step === "approve" || step === "accept" || step === "send" || step === "submit"
        ? "btn btn-primary btn-thin" : "btn btn-secondary btn-thin", LABEL[step]);
      b.type = "button";
      b.dataset.step = step;
      b.addEventListener("click", () => begin(step, b));
      return b;
    }));
    if (!latest) $("#actions").append(el("span", "muted", "An older version: "), link(`/quotes/${encodeURIComponent(q.number)}`, "open the latest"));
    else if (!steps.length) $("#actions").append(el("span", "muted", q.status === "accepted" ? "Accepted." : "Nothing more to do."));
    $("#accept-form").hidden = true;
    $("#reason-form").hidden = true;
    const order = $("#order");
    order.hidden = !q.sales_order;
    if (q.sales_order) {
      order.replaceChildren("Sales order ", el("span", null, q.sales_order), " – see it on ",
        link(`/customers/${encodeURIComponent(q.customer)}`, "the customer's page"), ".");
      order.dataset.order = q.sales_order;
    }
  }
  function begin(step, button) {
    if (dirty) { say("Save or undo the changes to the draft first.", true); return; }
    if (step === "accept") { $("#reason-form").hidden = true; $("#accept-form").hidden = false; $("#a-confirm").focus(); return; }
    if (step === "reject" || step === "reject-approval") {
      pendingReason = step;
      $("#reason-what").textContent = step === "reject" ? "Why did the customer turn it down?" : "What must change before it can be approved?";
      $("#r-go").textContent = step === "reject" ? "Mark rejected" : "Send back to draft";
      $("#accept-form").hidden = true;
      $("#reason-form").hidden = false;
      $("#r-text").focus();
      return;
    }
    run(button, step, undefined);
  }
  async function run(button, step, body) {
    button.disabled = true;
    try {
      const answer = await FS.api(`${base}/${step}`, { method: "POST", ...(body ? { body: JSON.stringify(body) } : {}) });
      if (step === "revise") { location.assign(`/quotes/${encodeURIComponent(answer.number)}`); return; }
      const c = answer.confirmation;
      say(step === "accept"
        ? `Accepted: sales order ${answer.sales_order}${c ? ` (${c.status})` : " (draft)"}.`
        : `${answer.number}: ${STATUS[answer.status] || answer.status}.`);
      await FS.reload();
    } catch (e) {
      if (!e.auth) say(failed(e), true);
    } finally {
      button.disabled = false;
    }
  }
  $("#a-go").addEventListener("click", () => {
    const body = { confirm: $("#a-confirm").checked };
    if ($("#a-due").value) body.due_date = $("#a-due").value;
    if ($("#a-ref").value.trim()) body.customer_reference = $("#a-ref").value.trim();
    run($("#a-go"), "accept", body);
  });
  $("#r-go").addEventListener("click", () => {
    const reason = $("#r-text").value.trim();
    if (!reason) { $("#r-text").focus(); return; }
    run($("#r-go"), pendingReason, { reason }).then(() => { $("#r-text").value = ""; });
  });

  async function load() {
    if (!number || number === "quotes") { location.assign("/quotes"); return; }
    const q = version ? `?version=${encodeURIComponent(version)}` : "";
    const [found, history] = await Promise.all([
      FS.api(base + q), FS.api(`/api/v1/history/quote/${encodeURIComponent(number)}?limit=50`),
    ]);
    quote = found;
    document.title = `${quote.number} v${quote.version} – FloorSync`;
    head(quote); lines(quote); versions(quote); actions(quote); editForm(quote);
    $("#history").replaceChildren(historyRows(history.items));
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }
  FS.start({ load });
})();
