// FloorSync import: a CSV or Excel file previewed (mapping, first rows, every bad row), then
// run with a progress bar. Server strings only go through textContent.
"use strict";

(() => {
  const { $, el, table, say, failed } = FS;
  let job = null;       // the previewed job
  let mapping = null;   // file column -> field, as shown; null: let central propose one
  let timer = null;

  // The upload is multipart, so it is sent here rather than through FS.api (which sends JSON).
  async function upload() {
    const file = $("#file").files[0];
    if (!file) { say("Choose a file first.", true); return; }
    const form = new FormData();
    form.append("kind", $("#kind").value);
    form.append("file", file, file.name);
    form.append("only_good_rows", $("#only-good").checked ? "true" : "false");
    if (mapping) form.append("mapping", JSON.stringify(mapping));
    const res = await fetch("/api/v1/imports", {
      method: "POST", body: form,
      headers: { Accept: "application/json", Authorization: "Bearer " + sessionStorage.getItem("floorsync.token") },
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const e = (body && body.error) || {};
      throw Object.assign(new Error(e.message || `HTTP ${res.status}`), { status: res.status, code: e.code || "" });
    }
    return body;
  }

  async function preview() {
    say(null);
    clearTimeout(timer);
    try { show(await upload()); } catch (e) { say(failed(e), true); }
  }

  function show(answer) {
    job = answer;
    mapping = { ...answer.mapping };
    for (const id of ["#mapping-card", "#summary-card", "#rows-card", "#errors-card"]) $(id).hidden = false;
    $("#progress-cell").hidden = true;
    $("#outcome").textContent = "";
    $("#run").disabled = false;
    drawMapping(answer);
    counts(answer);
    const fields = answer.fields.map((f) => f.name);
    $("#rows").replaceChildren(table(
      [["Row", (r) => r.row], ...fields.map((f) => [f, (r) => r[f]])], answer.rows, "No good rows"));
    $("#errors").replaceChildren();
    addErrors(answer.errors);
  }

  function drawMapping(answer) {
    const rows = answer.columns.map((column) => ({ column }));
    $("#mapping").replaceChildren(table([
      ["File column", (r) => r.column],
      ["Field", (r) => {
        const select = el("select");
        select.dataset.column = r.column;
        select.append(new Option("— not imported —", ""));
        for (const f of answer.fields) select.append(new Option(f.required ? `${f.name} *` : f.name, f.name));
        select.value = mapping[r.column] || "";
        select.addEventListener("change", () => {
          if (select.value) mapping[r.column] = select.value; else delete mapping[r.column];
          preview();
        });
        return select;
      }],
    ], rows, "The file has no columns"));
  }

  function counts(j) {
    $("#counts").textContent = `${j.total} rows: ${j.good} good, ${j.bad} bad`;
    $("#counts").dataset.good = String(j.good);
    $("#counts").dataset.bad = String(j.bad);
  }

  function addErrors(page) {
    const shown = $("#errors").querySelector("tbody");
    const t = table([["Row", (e) => e.row ?? "–"], ["Field", (e) => e.field ?? "–"], ["Problem", (e) => e.message]],
      page.items, "No bad rows");
    if (shown && t.tBodies) shown.append(...t.tBodies[0].rows); else $("#errors").replaceChildren(t);
    $("#error-count").textContent = `${job.error_count} problem${job.error_count === 1 ? "" : "s"}`;
    const more = $("#more-errors");
    more.hidden = page.next === null;
    more.onclick = async () => {
      try { addErrors((await FS.api(`/api/v1/imports/${job.id}?after=${page.next}&limit=100`)).errors); }
      catch (e) { say(failed(e), true); }
    };
  }

  async function run() {
    say(null);
    $("#run").disabled = true;
    try {
      const j = await FS.api(`/api/v1/imports/${job.id}/run`, {
        method: "POST", body: JSON.stringify({ only_good_rows: $("#only-good").checked }),
      });
      $("#progress-cell").hidden = false;
      progress(j);
      follow();
    } catch (e) {
      $("#run").disabled = false;
      say(e.code === "bad_rows" ? `${e.message}.` : failed(e), true);
    }
  }

  function progress(j) {
    const share = j.total ? j.done / j.total : 1;
    const pct = Math.round(share * 100);
    $("#progress").dataset.progress = String(pct);
    $("#progress span").style.width = `${pct}%`;
    $("#progress-text").textContent = `${pct} % · ${j.done} of ${j.total} rows`;
  }

  async function follow() {
    try {
      const j = await FS.api(`/api/v1/imports/${job.id}?limit=0`);
      progress(j);
      if (j.status === "running") { timer = setTimeout(follow, 500); return; }
      const outcome = $("#outcome");
      outcome.dataset.status = j.status;
      if (j.status === "done") {
        outcome.className = "ok";
        outcome.textContent = `Imported ${j.imported} rows${j.bad ? `; ${j.bad} bad rows passed over` : ""}.`;
      } else {
        outcome.className = "bad";
        const reason = await FS.api(`/api/v1/imports/${job.id}?after=${Math.max(0, j.error_count - 1)}&limit=1`);
        outcome.textContent = `Import ${j.status}: ${(reason.errors.items[0] || {}).message || ""}`;
        $("#run").disabled = false;
      }
    } catch (e) { FS.readFailed(e); timer = setTimeout(follow, 2000); }
  }

  $("#upload").addEventListener("submit", (e) => { e.preventDefault(); mapping = null; preview(); });
  $("#kind").addEventListener("change", () => { mapping = null; });
  $("#file").addEventListener("change", () => { mapping = null; });
  $("#run").addEventListener("click", run);
  FS.start({ signedOut: () => clearTimeout(timer) });
})();
