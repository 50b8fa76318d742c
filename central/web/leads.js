// FloorSync leads: a new lead by hand, the list (filtered by status and source), one lead's
// qualification (BANT, contact fields, status) and its conversion to account, contact and
// opportunity. A company that may already be a customer is asked about: attach to one, or
// make a new customer. Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, say, failed, table } = FS;
  const TEXT = ["company", "contact_name", "email", "phone", "territory", "owner", "need", "timeframe"];
  let next = null;   // the list's cursor for "Older"
  let lead = null;   // the lead open below the list
  let announce = null;  // what to say once the lead just added is open

  const selected = () => decodeURIComponent(location.hash.slice(1));
  function open(number) { location.hash = encodeURIComponent(number); }

  // ---- the list
  async function loadList(append = false) {
    const q = new URLSearchParams({ limit: "50" });
    if ($("#f-status").value) q.set("status", $("#f-status").value);
    if ($("#f-source").value) q.set("source", $("#f-source").value);
    if (append && next !== null) q.set("after", String(next));
    const page = await FS.api(`/api/v1/leads?${q}`);
    next = page.next;
    $("#leads-more").hidden = next === null;
    const rows = append ? [...(loadList.rows || []), ...page.items] : page.items;
    loadList.rows = rows;
    const t = table([
      ["Lead", (l) => {
        const a = el("a", null, l.number);
        a.href = "#" + encodeURIComponent(l.number);
        return a;
      }],
      ["Company", (l) => l.company],
      ["Contact", (l) => [l.contact_name, l.email].filter(Boolean).join(" · ") || null],
      ["Source", (l) => l.source.replace("_", " ")],
      ["Status", (l) => l.status],
      ["Product line", (l) => l.product_line],
      ["Owner", (l) => l.owner],
      ["Came in", (l) => when(l.created_at)],
    ], rows, "No leads match");
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.lead = rows[i].number; });
    $("#leads-count").textContent = `${rows.length}${next !== null ? "+" : ""}`;
    $("#leads").replaceChildren(t);
    markSelected();
  }
  // The open lead's row stands out in the list.
  function markSelected() {
    for (const tr of document.querySelectorAll("#leads tr[data-lead]")) {
      const on = tr.dataset.lead === selected();
      tr.classList.toggle("selected", on);
      if (on) tr.setAttribute("aria-current", "true"); else tr.removeAttribute("aria-current");
    }
  }

  // ---- a new lead by hand: the list shows it, open and selected
  const NEW_FIELDS = ["company", "contact_name", "email", "phone", "territory", "product_line", "owner", "need", "message"];
  function newLeadShown(on) {
    $("#new-lead-box").hidden = !on;
    $("#new-lead-open").hidden = on;
    lineError(null);
    if (on) $("#nl-company").focus();
  }
  // The error line under the form; the field the API names is marked and focused.
  function lineError(e) {
    for (const node of $("#new-lead").elements) node.removeAttribute("aria-invalid");
    const line = $("#nl-error");
    Object.assign(line, { textContent: e ? failed(e) : "", hidden: !e });
    const field = e && (Array.isArray(e.details) ? (e.details[0] || {}).where || "" : (e.details || {}).field || "");
    const input = field && $(`#nl-${field.replace(/^body\./, "").split(".")[0]}`);
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }
  $("#new-lead-open").addEventListener("click", () => newLeadShown(true));
  $("#nl-cancel").addEventListener("click", () => newLeadShown(false));
  $("#new-lead").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { source: $("#nl-source").value };
    for (const f of NEW_FIELDS) { const v = $(`#nl-${f}`).value.trim(); if (v) body[f] = v; }
    act($("#nl-go"), async () => {
      let made;
      try {
        made = await FS.api("/api/v1/leads", { method: "POST", body: JSON.stringify(body) });
      } catch (err) {
        if (!err.auth) lineError(err);
        return;
      }
      $("#new-lead").reset();
      newLeadShown(false);
      announce = `${made.number} added: ${made.company}${made.owner ? `, owner ${made.owner}` : ""}.`;
      $("#f-status").value = $("#f-source").value = "";  // the new lead is in the list however it was filtered
      await loadList();
      open(made.number);
    });
  });

  // ---- one lead
  async function loadLead() {
    const number = selected();
    if (!number) { lead = null; $("#lead").hidden = true; return; }
    lead = await FS.api(`/api/v1/leads/${encodeURIComponent(number)}`);
    show();
  }
  function show() {
    const l = lead;
    $("#lead").hidden = false;
    $("#lead").dataset.status = l.status;
    $("#lead-title").textContent = `${l.number} · ${l.company} · ${l.status}`;
    const facts = [`source ${l.source.replace("_", " ")}`, `came in ${when(l.created_at)}`];
    if (l.product_line) facts.push(`product line ${l.product_line}`);
    if (l.message) facts.push(`message: ${l.message}`);
    if (l.disqualified_reason) facts.push(`disqualified: ${l.disqualified_reason}`);
    $("#lead-facts").textContent = facts.join(" · ");
    for (const f of TEXT) $(`#q-${f}`).value = l[f] ?? "";
    $("#q-budget").value = l.budget_cents === null ? "" : (l.budget_cents / 100).toFixed(2);
    $("#q-authority").value = l.authority === null ? "" : String(l.authority);
    $("#q-status").value = l.status;
    $("#q-reason").value = l.disqualified_reason ?? "";
    reasonShown();
    const closed = l.status === "converted";
    for (const node of $("#qualify").elements) node.disabled = closed;
    $("#convert-box").hidden = closed || l.status === "disqualified";
    $("#duplicates").hidden = true;
    $("#c-name").placeholder = l.company;
    if (!$("#c-close").value) {
      const in90 = new Date(Date.now() + 90 * 86400e3);
      $("#c-close").value = in90.toISOString().slice(0, 10);
    }
    const done = $("#converted");
    done.hidden = !closed;
    if (closed) {
      const c = el("a", null, l.customer);
      c.href = "/customers/" + encodeURIComponent(l.customer);
      const o = el("a", null, l.opportunity);
      o.href = "/pipeline";
      done.replaceChildren("Converted ", date(l.converted_at), ": customer ", c, ", opportunity ", o, " (on the pipeline board).");
    }
  }
  function reasonShown() { $("#q-reason-label").hidden = $("#q-status").value !== "disqualified"; }
  $("#q-status").addEventListener("change", reasonShown);

  // Only what the user changed goes to the API: an untouched field is not checked again.
  function changes() {
    const body = {};
    for (const f of TEXT) {
      const v = $(`#q-${f}`).value.trim() || null;
      if (v !== (lead[f] ?? null)) body[f] = v;
    }
    const budget = $("#q-budget").value === "" ? null : Math.round(parseFloat($("#q-budget").value) * 100);
    if (budget !== lead.budget_cents) body.budget_cents = budget;
    const authority = { "": null, true: true, false: false }[$("#q-authority").value];
    if (authority !== lead.authority) body.authority = authority;
    if ($("#q-status").value !== lead.status) {
      body.status = $("#q-status").value;
      if (body.status === "disqualified") body.disqualified_reason = $("#q-reason").value.trim() || null;
    }
    return body;
  }
  async function act(button, work) {
    button.disabled = true;
    try { await work(); } catch (e) { if (!e.auth) say(failed(e), true); } finally { button.disabled = false; }
  }
  $("#qualify").addEventListener("submit", (e) => {
    e.preventDefault();
    const body = changes();
    if (!Object.keys(body).length) { say("Nothing changed."); return; }
    act($("#q-save"), async () => {
      lead = await FS.api(`/api/v1/leads/${encodeURIComponent(lead.number)}`, { method: "PATCH", body: JSON.stringify(body) });
      say(`${lead.number} saved.`);
      show();
      await loadList();
    });
  });

  // ---- converting: a possible duplicate is the user's call, never a guess
  function conversion(extra) {
    const body = {
      amount_cents: Math.round(parseFloat($("#c-amount").value || "0") * 100),
      expected_close: $("#c-close").value,
      ...extra,
    };
    const name = $("#c-name").value.trim();
    if (name) body.name = name;
    return body;
  }
  async function convert(button, extra = {}) {
    if (!$("#convert").reportValidity()) return;
    await act(button, async () => {
      try {
        const made = await post(`/api/v1/leads/${encodeURIComponent(lead.number)}/convert`, conversion(extra));
        lead = made;
        say(`${made.number} converted: customer ${made.customer}, opportunity ${made.opportunity}.`);
        show();
        await loadList();
      } catch (e) {
        if (e.code !== "possible_duplicate") throw e;
        await duplicates(e);
      }
    });
  }
  // FS.api keeps no error details, and the candidates are in them: this one call reads them.
  // A 401 goes through FS.api again, which signs out with the API's message.
  async function post(path, body) {
    const options = { method: "POST", body: JSON.stringify(body) };
    const res = await fetch(path, { ...options, headers: {
      Accept: "application/json", "Content-Type": "application/json",
      Authorization: "Bearer " + sessionStorage.getItem("floorsync.token") } });
    const answer = await res.json().catch(() => null);
    if (res.ok) return answer;
    if (res.status === 401) return FS.api(path, options);
    const e = (answer && answer.error) || {};
    throw Object.assign(new Error(e.message || `HTTP ${res.status}`), { status: res.status, code: e.code || "", details: e.details || {} });
  }
  async function duplicates(e) {
    const found = e.details.candidates || [];
    const t = table([
      ["Code", (c) => c.code],
      ["Name", (c) => c.name],
      ["Email", (c) => c.email],
      ["", (c) => {
        const b = el("button", "btn btn-primary btn-thin", `Attach to ${c.code}`);
        b.type = "button";
        b.dataset.attach = c.code;
        b.addEventListener("click", () => convert(b, { customer: c.code }));
        return b;
      }],
    ], found, "No candidates listed: make a new customer below.");
    $("#candidates").replaceChildren(t);
    if (!$("#n-code").value) $("#n-code").value = lead.company.toUpperCase().replace(/[^A-Z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 24);
    if (!$("#n-name").value) $("#n-name").value = lead.company;
    $("#duplicates").hidden = false;
    say(`${lead.company} may be a customer already: attach the lead to one, or make a new customer.`);
  }
  $("#convert").addEventListener("submit", (e) => { e.preventDefault(); convert($("#c-go")); });
  $("#new-customer").addEventListener("submit", (e) => {
    e.preventDefault();
    const account = { code: $("#n-code").value.trim() };
    const name = $("#n-name").value.trim();
    if (name) account.name = name;
    convert($("#n-go"), { new_customer: account });
  });

  for (const f of ["#f-status", "#f-source"]) $(f).addEventListener("change", () => loadList().catch(FS.readFailed));
  $("#leads-more").addEventListener("click", () => loadList(true).catch(FS.readFailed));
  window.addEventListener("hashchange", () => {
    for (const id of ["#c-amount", "#c-name", "#n-code", "#n-name"]) $(id).value = "";
    say(announce);
    announce = null;
    markSelected();
    loadLead().catch(FS.readFailed);
  });

  async function load() {
    await Promise.all([loadList(), loadLead()]);
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }
  FS.start({ load });
})();
