// FloorSync customers: the list (search by code or name, filter by owner, territory and tag,
// "More" pages on) and a new customer, asked about when it looks like one we have already.
// Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, say, failed, table } = FS;
  const FIELDS = ["code", "name", "tax_id", "email", "phone", "territory", "tier", "owner", "parent"];
  const FILTERS = { q: "#q", owner: "#f-owner", territory: "#f-territory", tag: "#f-tag" };
  const REASONS = { same_name: "same name", similar_name: "similar name", tax_id: "same tax id",
    email: "same email", contact_email: "a contact has this email", phone: "same phone" };
  let next = null;   // the list's cursor for "More"
  let rows = [];
  let asked = 0;     // the newest list request: an older answer arriving late is dropped

  const customerLink = (code, text) => { const a = el("a", null, text); a.href = "/customers/" + encodeURIComponent(code); return a; };

  async function loadList(append = false) {
    const q = new URLSearchParams({ limit: "50" });
    for (const [name, sel] of Object.entries(FILTERS)) { const v = $(sel).value.trim(); if (v) q.set(name, v); }
    if (append && next !== null) q.set("after", next);
    const mine = ++asked;
    const page = await FS.api(`/api/v1/customers?${q}`);
    if (mine !== asked) return;
    next = page.next;
    rows = append ? [...rows, ...page.items] : page.items;
    $("#customers-more").hidden = next === null;
    const t = table([
      ["Code", (c) => customerLink(c.code, c.code)],
      ["Name", (c) => c.name],
      ["Territory", (c) => c.territory],
      ["Tier", (c) => c.tier],
      ["Owner", (c) => c.owner],
      ["Parent", (c) => (c.parent ? customerLink(c.parent, c.parent) : null)],
      ["Contact", (c) => [c.email, c.phone].filter(Boolean).join(" · ") || null],
    ], rows, "No customers match");
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.customer = rows[i].code; });
    $("#customers-count").textContent = `${rows.length}${next !== null ? "+" : ""}`;
    $("#customers").replaceChildren(t);
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  let typing = null;
  $("#q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => loadList().catch(FS.readFailed), 250); });
  $("#filters").addEventListener("submit", (e) => { e.preventDefault(); loadList().catch(FS.readFailed); });
  for (const sel of ["#f-owner", "#f-territory", "#f-tag"]) $(sel).addEventListener("change", () => loadList().catch(FS.readFailed));
  $("#customers-more").addEventListener("click", () => loadList(true).catch(FS.readFailed));

  // ---- a new customer: one that looks like an existing one is the user's call
  function body(anyway) {
    const made = {};
    for (const f of FIELDS) { const v = $(`#n-${f}`).value.trim(); if (v) made[f] = v; }
    if (anyway) made.allow_duplicate = true;
    return made;
  }
  async function create(button, anyway) {
    if (!$("#new").reportValidity()) return;
    button.disabled = true;
    try {
      const made = await FS.api("/api/v1/customers", { method: "POST", body: JSON.stringify(body(anyway)) });
      location.assign("/customers/" + encodeURIComponent(made.code));
    } catch (e) {
      if (e.auth) return;
      if (e.code === "possible_duplicate") duplicates((e.details && e.details.candidates) || []);
      else say(failed(e), true);
    } finally { button.disabled = false; }
  }
  function duplicates(found) {
    const t = table([
      ["Code", (c) => customerLink(c.code, c.code)],
      ["Name", (c) => c.name],
      ["Why", (c) => c.reasons.map((r) => REASONS[r] || r).join(", ")],
    ], found, "No candidates listed");
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.candidate = found[i].code; });
    $("#candidates").replaceChildren(t);
    $("#duplicates").hidden = false;
    say(`${$("#n-name").value.trim()} may be a customer already: open it, or create anyway.`);
  }
  $("#new").addEventListener("submit", (e) => { e.preventDefault(); create($("#n-go"), false); });
  $("#n-anyway").addEventListener("click", () => create($("#n-anyway"), true));
  // "Create anyway" is for what was checked: a changed form is checked again
  $("#new").addEventListener("input", () => { $("#duplicates").hidden = true; });

  // Making customers is for sales and admin: others see the list only (the API refuses them too).
  async function loadRoles() {
    const me = await FS.api("/api/v1/me");
    $("#new-box").hidden = !me.roles.some((r) => r === "sales" || r === "admin");
  }
  FS.start({ load: () => Promise.all([loadList(), loadRoles()]), signedOut: () => { $("#new-box").hidden = true; } });
})();
