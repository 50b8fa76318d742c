// FloorSync pipeline board: a column per open stage with its totals, won / lost drop zones,
// cards dragged between them (or moved with the stage select on each card, from the
// keyboard), and the weighted forecast by month. Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, date, money, pct, say, failed } = FS;
  let stages = [];  // every stage the cards' selects offer: open ones, then won and lost
  let pendingLost = null;  // the card waiting for a lost reason

  async function move(number, stage) {
    if (stage === currentStage(number)) return;
    if (stages.find((s) => s.stage === stage && s.outcome === "lost")) {
      pendingLost = { number, stage };
      $("#lost-what").textContent = number;
      $("#lost-form").hidden = false;
      $("#lost-reason").focus();
      return;
    }
    await send(number, { stage });
  }
  async function send(number, body) {
    const card = document.querySelector(`.deal[data-number="${CSS.escape(number)}"]`);
    if (card) card.classList.add("moving");
    try {
      await FS.api(`/api/v1/opportunities/${encodeURIComponent(number)}/stage`, { method: "POST", body: JSON.stringify(body) });
      say(`${number} moved to ${body.stage}.`);
    } catch (e) {
      if (!e.auth) say(failed(e), true);
    }
    await FS.reload();
  }
  function currentStage(number) {
    const card = document.querySelector(`.deal[data-number="${CSS.escape(number)}"]`);
    return card ? card.dataset.stage : null;
  }

  function dropZone(node, stage) {
    node.dataset.drop = stage;
    node.addEventListener("dragover", (e) => { e.preventDefault(); node.classList.add("over"); });
    node.addEventListener("dragleave", () => node.classList.remove("over"));
    node.addEventListener("drop", (e) => {
      e.preventDefault();
      node.classList.remove("over");
      const number = e.dataTransfer.getData("text/plain");
      if (number) move(number, stage);
    });
  }

  function card(o, stage) {
    const node = el("article", "deal");
    node.draggable = true;
    Object.assign(node.dataset, { number: o.number, stage, amount: String(o.amount_cents) });
    node.addEventListener("dragstart", (e) => { e.dataTransfer.setData("text/plain", o.number); e.dataTransfer.effectAllowed = "move"; });
    const pick = el("select");
    pick.setAttribute("aria-label", `Stage of ${o.number}`);
    for (const s of stages) {
      const opt = el("option", null, s.name);
      opt.value = s.stage;
      opt.selected = s.stage === stage;
      pick.append(opt);
    }
    pick.addEventListener("change", () => move(o.number, pick.value));
    node.append(
      el("div", "name", o.name),
      el("div", "meta", `${o.number} · ${o.customer}`),
      el("div", "meta", `${money(o.amount_cents)} (weighted ${money(o.weighted_cents)}) · closes ${date(o.expected_close)}`),
      el("div", "meta", o.owner ? `owner ${o.owner}` : "unassigned"),
      pick,
    );
    return node;
  }

  function column(c) {
    const node = el("section", "column");
    node.setAttribute("aria-label", c.name);
    const sum = el("div", "sum", `${c.count} · ${money(c.amount_cents)} · weighted ${money(c.weighted_cents)}`);
    Object.assign(sum.dataset, { count: String(c.count), amount: String(c.amount_cents), weighted: String(c.weighted_cents) });
    node.append(el("h2", null, `${c.name} · ${pct(c.probability)}`), sum);
    for (const o of c.opportunities) node.append(card(o, c.stage));
    const hidden = c.count - c.opportunities.length;
    if (hidden > 0) node.append(el("p", "more", `+ ${hidden} more, closing later`));
    dropZone(node, c.stage);
    return node;
  }

  function totals(board, forecast) {
    const facts = $("#totals");
    facts.replaceChildren();
    const fact = (id, k, v) => { const d = el("div"); d.id = id; d.append(el("dt", null, k), el("dd", null, v)); facts.append(d); };
    fact("total-count", "Open deals", String(board.count));
    fact("total-amount", "Pipeline", money(board.amount_cents));
    fact("total-weighted", "Weighted forecast", money(board.weighted_cents));
    fact("total-won", "Won (12 months)", money(forecast.total.won_cents));
    $("#months").replaceChildren(...forecast.rows.map((r) =>
      el("span", null, `${r.month}: ${money(r.weighted_cents)} weighted of ${money(r.amount_cents)}${r.won_cents ? ` · won ${money(r.won_cents)}` : ""}`)));
  }

  async function load() {
    const [board, forecast] = await Promise.all([FS.api("/api/v1/pipeline"), FS.api("/api/v1/forecast?by=month")]);
    stages = [...board.stages.map((s) => ({ stage: s.stage, name: s.name, outcome: null })), ...board.outcomes];
    $("#board").replaceChildren(...board.stages.map(column));
    $("#outcomes").replaceChildren(...board.outcomes.map((s) => {
      const zone = el("div", "outcome", `Drop here: ${s.name}`);
      zone.dataset.outcome = s.outcome;
      dropZone(zone, s.stage);
      return zone;
    }));
    totals(board, forecast);
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  function closeLost() { pendingLost = null; $("#lost-form").hidden = true; $("#lost-reason").value = ""; }
  $("#lost-cancel").addEventListener("click", () => { closeLost(); FS.reload(); });
  $("#lost-ok").addEventListener("click", () => {
    const reason = $("#lost-reason").value.trim();
    if (!reason || !pendingLost) { $("#lost-reason").focus(); return; }
    const { number, stage } = pendingLost;
    closeLost();
    send(number, { stage, lost_reason: reason });
  });
  $("#lost-reason").addEventListener("keydown", (e) => { if (e.key === "Enter") $("#lost-ok").click(); });

  FS.start({ load });
})();
