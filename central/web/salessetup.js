// FloorSync sales setup: the pipeline's stages (code, name, position, probability, outcome)
// and the assignment rules that give new leads and deals an owner, each row edited in place.
// Only an admin may change them: anyone else sees them read-only, and a refusal from the API
// is shown as it comes. Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, say, failed } = FS;
  let admin = false;

  function input(cls, attrs, value) {
    const node = el("input", cls);
    Object.assign(node, attrs);
    if (value !== null && value !== undefined) node.value = String(value);
    node.disabled = !admin;
    return node;
  }
  function select(cls, options, value, label) {
    const node = el("select", cls);
    for (const [v, text] of options) { const o = el("option", null, text); o.value = v; node.append(o); }
    node.value = value === null || value === undefined ? "" : value;
    node.disabled = !admin;
    node.setAttribute("aria-label", label);
    return node;
  }
  function button(text, cls, onClick, name) {
    const b = el("button", `btn ${cls} btn-thin`, text);
    b.type = "button";
    b.dataset.act = name;
    b.disabled = !admin;
    b.addEventListener("click", () => onClick(b));
    return b;
  }
  function grid(headings, rows) {
    const t = el("table", "grid setup");
    const head = el("tr");
    for (const h of headings) head.append(el("th", null, h));
    t.append(el("thead"), el("tbody"));
    t.tHead.append(head);
    t.tBodies[0].append(...rows);
    return t;
  }
  function cells(tr, nodes) {
    for (const node of nodes) {
      const td = el("td");
      if (Array.isArray(node)) { td.className = "acts"; td.append(...node); } else td.append(node);
      tr.append(td);
    }
    return tr;
  }

  // One write; on success the lists are read again and the message says what happened.
  async function write(button, method, path, body, done) {
    button.disabled = true;
    try {
      await FS.api(path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
      say(done);
      await load();
    } catch (e) {
      if (!e.auth) say(e.status === 403 ? `${failed(e)} – only an admin may change the sales setup.` : failed(e), true);
    } finally {
      button.disabled = !admin;
    }
  }
  // A number from a field, or the reason it is not one (nothing is sent then).
  function number(node, what, min, max, whole) {
    const text = node.value.trim(), x = Number(text);
    if (!text || !Number.isFinite(x) || x < min || x > max || (whole && !Number.isInteger(x))) {
      say(`${what}: ${whole ? "a whole number" : "a number"} from ${min} to ${max}.`, true);
      node.focus();
      return null;
    }
    return x;
  }

  // ---- stages
  const OUTCOMES = [["", "open"], ["won", "won"], ["lost", "lost"]];
  function stageFields(tr) {
    const name = tr.querySelector(".s-name").value.trim();
    if (!name) { say("A stage needs a name.", true); tr.querySelector(".s-name").focus(); return null; }
    const position = number(tr.querySelector(".s-position"), "Position", 0, 1_000_000, true);
    if (position === null) return null;
    const probability = number(tr.querySelector(".s-probability"), "Probability %", 0, 100, false);
    if (probability === null) return null;
    const outcome = tr.querySelector(".s-outcome").value || null;
    return { name, position, probability: Math.round(probability * 100) / 10000, outcome };
  }
  function stageRow(s) {
    const tr = el("tr");
    const path = "/api/v1/pipeline-stages/" + encodeURIComponent(s.code);
    tr.dataset.stage = s.code;
    return cells(tr, [
      el("code", null, s.code),
      input("s-name", { type: "text", maxLength: 64 }, s.name),
      input("s-position", { type: "number", min: "0", step: "1" }, s.position),
      input("s-probability", { type: "number", min: "0", max: "100", step: "any" }, Math.round(s.probability * 10000) / 100),
      select("s-outcome", OUTCOMES, s.outcome, "outcome"),
      [button("Save", "btn-primary", (b) => {
        const body = stageFields(tr);
        if (body) write(b, "PUT", path, body, `Stage ${s.code} saved.`);
      }, "save"),
      button("Delete", "btn-secondary", (b) => write(b, "DELETE", path, null, `Stage ${s.code} deleted.`), "delete")],
    ]);
  }
  function newStageRow(next) {
    const tr = el("tr", "new");
    tr.id = "new-stage";
    const code = input("s-code", { type: "text", maxLength: 64, placeholder: "code", spellcheck: false });
    code.setAttribute("aria-label", "new stage code");
    return cells(tr, [
      code,
      input("s-name", { type: "text", maxLength: 64, placeholder: "name" }),
      input("s-position", { type: "number", min: "0", step: "1" }, next),
      input("s-probability", { type: "number", min: "0", max: "100", step: "any" }, 0),
      select("s-outcome", OUTCOMES, "", "outcome"),
      [button("Add stage", "btn-primary", (b) => {
        const c = code.value.trim();
        if (!c) { say("A stage needs a code.", true); code.focus(); return; }
        const body = stageFields(tr);
        if (body) write(b, "POST", "/api/v1/pipeline-stages", { code: c, ...body }, `Stage ${c} added.`);
      }, "add")],
    ]);
  }
  function stages(list) {
    $("#stages-count").textContent = `${list.length}`;
    const next = list.length ? Math.max(...list.map((s) => s.position)) + 10 : 10;
    const rows = list.map(stageRow);
    if (admin) rows.push(newStageRow(next));
    $("#stages").replaceChildren(grid(["Code", "Name", "Position", "Probability %", "Outcome", ""], rows),
      ...(list.length ? [] : [el("p", "muted", "No stages yet")]));
  }

  // ---- assignment rules
  const TIERS = [["", "any"], ["A", "A"], ["B", "B"], ["C", "C"]];
  function ruleFields(tr) {
    const position = number(tr.querySelector(".r-position"), "Position", 0, 1_000_000, true);
    if (position === null) return null;
    const owner = tr.querySelector(".r-owner").value.trim();
    if (!owner) { say("A rule needs an owner: a user's name.", true); tr.querySelector(".r-owner").focus(); return null; }
    const text = (cls) => tr.querySelector(cls).value.trim() || null;
    return { position, owner, territory: text(".r-territory"), product_line: text(".r-product"), tier: tr.querySelector(".r-tier").value || null };
  }
  function ruleInputs(r) {
    const owner = input("r-owner", { type: "text", maxLength: 64, placeholder: "user" }, r.owner);
    owner.setAttribute("list", "user-names");
    owner.setAttribute("aria-label", "owner");
    const any = { type: "text", maxLength: 64, placeholder: "any", spellcheck: false };
    return [
      input("r-position", { type: "number", min: "0", step: "1" }, r.position),
      input("r-territory", any, r.territory),
      input("r-product", any, r.product_line),
      select("r-tier", TIERS, r.tier, "tier"),
      owner,
    ];
  }
  function ruleRow(r) {
    const tr = el("tr");
    const path = `/api/v1/assignment-rules/${r.id}`;
    tr.dataset.rule = String(r.id);
    return cells(tr, [
      ...ruleInputs(r),
      [button("Save", "btn-primary", (b) => {
        const body = ruleFields(tr);
        if (body) write(b, "PUT", path, body, `Rule ${r.id} saved.`);
      }, "save"),
      button("Delete", "btn-secondary", (b) => write(b, "DELETE", path, null, `Rule ${r.id} deleted.`), "delete")],
    ]);
  }
  function newRuleRow(next) {
    const tr = el("tr", "new");
    tr.id = "new-rule";
    return cells(tr, [
      ...ruleInputs({ position: next }),
      [button("Add rule", "btn-primary", (b) => {
        const body = ruleFields(tr);
        if (body) write(b, "POST", "/api/v1/assignment-rules", body, `Rule for ${body.owner} added.`);
      }, "add")],
    ]);
  }
  function rules(list) {
    $("#rules-count").textContent = `${list.length}`;
    const next = list.length ? Math.max(...list.map((r) => r.position)) + 10 : 10;
    const rows = list.map(ruleRow);
    if (admin) rows.push(newRuleRow(next));
    $("#rules").replaceChildren(grid(["Position", "Territory", "Product line", "Tier", "Owner", ""], rows),
      ...(list.length ? [] : [el("p", "muted", "No rules yet: a new lead or deal without an owner stays without one")]));
  }

  async function load() {
    const [me, stageList, ruleList] = await Promise.all([
      FS.api("/api/v1/me"), FS.api("/api/v1/pipeline-stages"), FS.api("/api/v1/assignment-rules"),
    ]);
    admin = me.roles.includes("admin");
    const note = $("#readonly");
    note.hidden = admin;
    note.textContent = admin ? "" : `Read only: only an admin may change stages and assignment rules (you are ${me.name}, ${me.roles.join(", ") || "no role"}).`;
    stages(stageList);
    rules(ruleList);
    const owners = new Set(ruleList.map((r) => r.owner).concat(me.name));
    $("#user-names").replaceChildren(...[...owners].map((n) => { const o = el("option"); o.value = n; return o; }));
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }
  FS.start({ load });
})();
