// A customer's view of one sales order, opened by its secret link: progress per line, the
// expected ship date and shipments, updated live. No sign-in: the link is the key.
"use strict";

(() => {
  const { $, el, when, date, qty, pct, table } = FS;
  const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const base = "/api/v1/track/" + encodeURIComponent(token);

  function progressBar(share) {
    const cell = el("div", "bar-cell"), bar = el("div", "pbar"), fill = el("span");
    fill.style.width = `${Math.round((share || 0) * 100)}%`;
    bar.append(fill);
    cell.append(bar, el("span", null, pct(share)));
    return cell;
  }

  function draw(v) {
    const facts = el("dl", "facts");
    const fact = (k, value) => { const d = el("div"); d.append(el("dt", null, k), el("dd", null, value)); facts.append(d); };
    fact("Order", v.order);
    if (v.customer_reference) fact("Your reference", v.customer_reference);
    fact("Status", v.status);
    fact("Ordered", date(v.ordered_at));
    fact("Due", date(v.due_date));
    fact("Expected ship", date(v.expected_ship));
    fact("Progress", pct(v.progress));
    $("#head").replaceChildren(el("p", "title", v.customer), facts);
    const lines = table([
      ["Line", (l) => l.line_no], ["Item", (l) => l.description], ["Ordered", (l) => qty(l.quantity)],
      ["Made", (l) => qty(l.produced)], ["Shipped", (l) => qty(l.shipped)],
      ["Progress", (l) => progressBar(l.progress)], ["Expected ship", (l) => date(l.expected_ship)],
    ], v.lines);
    if (lines.tBodies) [...lines.tBodies[0].rows].forEach((tr, i) => { tr.dataset.progress = String(v.lines[i].progress); });
    $("#lines").replaceChildren(lines);
    $("#shipments").replaceChildren(table([
      ["Shipment", (s) => s.number], ["Shipped", (s) => when(s.shipped_at)], ["Carrier", (s) => s.carrier],
      ["Tracking", (s) => s.tracking], ["Lines", (s) => s.lines.map((l) => `line ${l.line_no}: ${qty(l.quantity)}`).join(", ")],
    ], v.shipments, "Nothing shipped yet"));
    $("#updated").textContent = "as of " + new Date(v.as_of).toLocaleTimeString();
  }

  let source = null, gone = false, retry = null;
  async function load(refresh = false) {
    const url = refresh ? base + "?refresh=true" : base;  // a redraw is not another visit
    const res = await fetch(url, { headers: { Accept: "application/json" } }).catch(() => null);
    if (!res) { $("#stale").hidden = false; return; }
    if (res.status === 404) {
      gone = true;
      clearTimeout(retry);
      if (source) source.close();
      $("#app").hidden = true;
      $("#stale").hidden = true;
      FS.say("This link does not work (any more). Ask your contact for a new one.", true);
      return;
    }
    if (!res.ok) { FS.say(`The page could not be loaded (HTTP ${res.status}).`, true); return; }
    draw(await res.json());
    $("#app").hidden = false;
    $("#stale").hidden = true;
    FS.say(null);
  }

  function connect() {
    if (gone) return;
    source = new EventSource(base + "/stream");
    source.addEventListener("progress", () => load(true));
    source.addEventListener("ping", () => { $("#stale").hidden = true; });
    source.onerror = () => {
      if (gone) return;
      $("#stale").hidden = false;
      // closed for good: the fetch tells a revoked link (stop) from a server away (retry)
      if (source.readyState === EventSource.CLOSED) { source.close(); retry = setTimeout(connect, 3000); load(true); }
    };
  }
  load().then(() => { if (!$("#app").hidden) connect(); });
})();
