// FloorSync my day: the signed-in user's overdue and today's tasks (each with a "done" button),
// opportunities closing soon, sent quotes about to expire and service contracts up for renewal.
// Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, when, date, money, say, failed, table } = FS;

  async function done(task, button) {
    button.disabled = true;
    try {
      await FS.api(`/api/v1/tasks/${task.id}/complete`, { method: "POST" });
      say(`Done: ${task.title}`);
    } catch (e) {
      if (!e.auth) say(failed(e), true);
    }
    await FS.reload();
  }

  function tasks(rows, empty) {
    const t = table([
      ["Task", (r) => `${r.kind} · ${r.title}`],
      ["Due", (r) => when(r.due_at)],
      ["For", (r) => [r.customer, r.opportunity, r.quote].filter(Boolean).join(" · ") || null],
      ["", (r) => {
        const b = el("button", "btn btn-primary btn-thin", "Done");
        b.type = "button";
        b.addEventListener("click", () => done(r, b));
        return b;
      }],
    ], rows, empty);
    if (t.tBodies) [...t.tBodies[0].rows].forEach((tr, i) => { tr.dataset.task = String(rows[i].id); });
    return t;
  }

  async function load() {
    const day = await FS.api("/api/v1/my-day");
    $("#overdue-count").textContent = String(day.overdue.length);
    $("#today-count").textContent = String(day.today.length);
    $("#overdue").replaceChildren(tasks(day.overdue, "Nothing overdue"));
    $("#today").replaceChildren(tasks(day.today, "Nothing else due today"));
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

  FS.start({ load });
})();
