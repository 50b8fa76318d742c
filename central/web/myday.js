// FloorSync my day: the signed-in user's overdue, today's and coming tasks (each to edit or
// mark done), a task to add or change, opportunities closing soon, sent quotes about to
// expire and service contracts up for renewal. Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, money, say, failed, table } = FS;
  const UPCOMING = 200;  // coming tasks listed; more are said to exist
  const KINDS = { quote_follow_up: "quote follow-up" };
  const LINKS = ["customer", "opportunity", "quote"];
  let editing = null;  // the task the form changes; null: the form adds one

  // <input type="datetime-local"> speaks local wall-clock time without a zone; the API, instants.
  const local = (t) => { const d = new Date(t); return new Date(d - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16); };
  const instant = (value) => new Date(value).toISOString();
  function nextHour() { const d = new Date(); d.setHours(d.getHours() + 1, 0, 0, 0); return local(d); }

  function blank() {
    editing = null;
    $("#task").reset();
    $("#t-due").value = nextHour();
    $("#task-heading").textContent = "New task";
    $("#t-go").textContent = "Add task";
    $("#t-cancel").hidden = true;
  }
  function edit(task) {
    editing = task;
    $("#t-kind").value = task.kind;
    $("#t-title").value = task.title;
    $("#t-due").value = local(task.due_at);
    for (const f of LINKS) $(`#t-${f}`).value = task[f] || "";
    $("#t-notes").value = task.notes || "";
    $("#task-heading").textContent = `Change task: ${task.title}`;
    $("#t-go").textContent = "Save task";
    $("#t-cancel").hidden = false;
    $("#t-title").focus();
  }

  // A new task: what is filled in. A change: only the fields that differ (an emptied link: null).
  function taskBody() {
    const typed = {
      kind: $("#t-kind").value,
      title: $("#t-title").value.trim(),
      due_at: instant($("#t-due").value),
      notes: $("#t-notes").value.trim() || null,
    };
    for (const f of LINKS) typed[f] = $(`#t-${f}`).value.trim() || null;
    if (!editing) return Object.fromEntries(Object.entries(typed).filter(([, v]) => v !== null));
    const body = {};
    for (const [k, v] of Object.entries(typed)) {
      const same = k === "due_at" ? Date.parse(v) === Date.parse(editing.due_at) : v === (editing[k] ?? null);
      if (!same) body[k] = v;
    }
    return body;
  }
  $("#task").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = taskBody();
    if (editing && !Object.keys(body).length) { say("Nothing changed."); return; }
    $("#t-go").disabled = true;
    try {
      const saved = editing
        ? await FS.api(`/api/v1/tasks/${editing.id}`, { method: "PATCH", body: JSON.stringify(body) })
        : await FS.api("/api/v1/tasks", { method: "POST", body: JSON.stringify(body) });
      say(`${editing ? "Saved" : "Added"}: ${saved.title}, due ${when(saved.due_at)}.`);
      blank();
      await FS.reload();
    } catch (err) {
      if (!err.auth) say(failed(err), true);
    } finally {
      $("#t-go").disabled = false;
    }
  });
  $("#t-cancel").addEventListener("click", () => { blank(); say(null); });

  async function done(task, button) {
    button.disabled = true;
    try {
      await FS.api(`/api/v1/tasks/${task.id}/complete`, { method: "POST" });
      say(`Done: ${task.title}`);
      if (editing && editing.id === task.id) blank();
    } catch (e) {
      if (!e.auth) say(failed(e), true);
    }
    await FS.reload();
  }

  function tasks(rows, empty) {
    const button = (cls, text, click) => { const b = el("button", `btn ${cls} btn-thin`, text); b.type = "button"; b.addEventListener("click", () => click(b)); return b; };
    const t = table([
      ["Task", (r) => `${KINDS[r.kind] || r.kind} · ${r.title}`],
      ["Due", (r) => when(r.due_at)],
      ["For", (r) => LINKS.map((f) => r[f]).filter(Boolean).join(" · ") || null],
      ["Notes", (r) => r.notes],
      ["", (r) => {
        const cell = el("span", "task-buttons");
        cell.append(button("btn-primary t-done", "Done", (b) => done(r, b)), button("btn-secondary t-edit", "Edit", () => edit(r)));
        return cell;
      }],
    ], rows, empty);
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.task = String(rows[i].id); });
    return t;
  }

  async function load() {
    const day = await FS.api("/api/v1/my-day");
    // my day ends at midnight UTC: what is due from then on is coming up
    const tomorrow = new Date(Date.parse(day.date) + 86400e3).toISOString();
    const q = new URLSearchParams({ owner: day.user, open: "true", due_from: tomorrow, limit: String(UPCOMING) });
    const coming = await FS.api(`/api/v1/tasks?${q}`);
    const upcoming = [...coming.items].sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at) || a.id - b.id);
    $("#overdue-count").textContent = String(day.overdue.length);
    $("#today-count").textContent = String(day.today.length);
    $("#upcoming-count").textContent = `${upcoming.length}${coming.next !== null ? "+" : ""}`;
    $("#overdue").replaceChildren(tasks(day.overdue, "Nothing overdue"));
    $("#today").replaceChildren(tasks(day.today, "Nothing else due today"));
    $("#upcoming").replaceChildren(tasks(upcoming, "Nothing planned after today"));
    if (coming.next !== null) $("#upcoming").append(el("p", "hint", `Only the first ${UPCOMING} are listed.`));
    $("#closing").replaceChildren(table([
      ["Opportunity", (o) => `${o.number} · ${o.name}`],
      ["Customer", (o) => o.customer],
      ["Stage", (o) => o.stage],
      ["Amount", (o) => money(o.amount_cents)],
      ["Expected close", (o) => date(o.expected_close)],
    ], day.closing, "No deals closing this week"));
    $("#quotes").replaceChildren(table([
      ["Quote", (q) => `${q.number} v${q.version}`],
      ["Customer", (q) => q.customer],
      ["Valid until", (q) => date(q.valid_until)],
    ], day.quotes_expiring, "No quotes about to expire"));
    $("#renewals").replaceChildren(table([
      ["Contract", (s) => s.number],
      ["Customer", (s) => s.customer],
      ["Status", (s) => s.status],
      ["Due", (s) => date(s.due_date)],
    ], day.renewals, "No renewals coming up"));
    $("#updated").textContent = `${day.user} · ${date(day.date)}`;
  }

  blank();
  FS.start({ load });
})();
