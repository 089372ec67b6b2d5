"""The status page served at ``/`` of the stats HTTP endpoint: one self-contained HTML document.

Why server-rendered first: the table rows for the current snapshot are in the HTML itself, so
the page is useful without JavaScript, in ``curl`` and in a headless browser's DOM dump; a small
inline script then polls ``json`` (the same document uwsgitop reads) and ``history`` (the
server's per-second request totals, so the chart has the last minutes at once) and redraws. No
CDN, no build step, no external resource of any kind.
"""

from __future__ import annotations

import html
import json
from typing import Any


def _fmt_size(n: int) -> str:
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


def _worker_rows(doc: dict[str, Any]) -> str:
    rows = []
    for w in doc.get("workers", ()):
        cells = [w.get("id", 0), w.get("pid", 0), w.get("status", ""), w.get("requests", 0), "-",
                 f"{w.get('avg_rt', 0) / 1000:.1f}", _fmt_size(int(w.get("rss", 0))),
                 w.get("exceptions", 0), w.get("respawn_count", 0), w.get("harakiri_count", 0)]
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        rows.append(f'<tr class="worker {html.escape(str(w.get("status", "")))}">{tds}</tr>')
    return "".join(rows)


def _vassal_rows(doc: dict[str, Any]) -> str:
    rows = []
    for v in doc.get("vassals", ()):
        cells = [v.get("id", ""), v.get("pid", 0), v.get("state", "ready" if v.get("ready") else ""),
                 "yes" if v.get("accepting") else "no", v.get("respawns", 0)]
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        rows.append(f'<tr class="vassal">{tds}</tr>')
    return "".join(rows)


def render(doc: dict[str, Any], title: str) -> bytes:
    emperor = "vassals" in doc
    if emperor:
        head = "<th>vassal</th><th>pid</th><th>state</th><th>accepting</th><th>respawns</th>"
        rows = _vassal_rows(doc)
    else:
        head = ("<th>worker</th><th>pid</th><th>status</th><th>requests</th><th>req/s</th>"
                "<th>avg ms</th><th>RSS</th><th>exceptions</th><th>respawns</th><th>harakiri</th>")
        rows = _worker_rows(doc)
    initial = json.dumps(doc).replace("</", "<\\/")
    text = (_TEMPLATE.replace("@TITLE@", html.escape(title))
            .replace("@HEAD@", head).replace("@ROWS@", rows)
            .replace("@KIND@", "emperor" if emperor else "instance")
            .replace("@INITIAL@", initial))
    return text.encode("utf-8")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>satrap @TITLE@</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .3em} #summary{color:#555;margin-bottom:1em}
table{border-collapse:collapse;background:#fff;min-width:60%}
th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}
th:nth-child(3),td:nth-child(3),th:first-child,td:first-child{text-align:left}
tr.busy td:nth-child(3){color:#0a7d20;font-weight:bold} tr.cheap td:nth-child(3){color:#8a2be2}
#chartbox{margin:1em 0;background:#fff;border:1px solid #ddd;width:720px}
#chartbox div{padding:.3em .6em;color:#555} canvas{display:block}
</style></head>
<body data-kind="@KIND@">
<h1>satrap @TITLE@</h1>
<div id="summary">loading…</div>
<div id="chartbox"><div>requests/s, last minutes</div><canvas id="chart" width="720" height="160"></canvas></div>
<table><thead><tr>@HEAD@</tr></thead><tbody id="rows">@ROWS@</tbody></table>
<script id="initial" type="application/json">@INITIAL@</script>
<script>
"use strict";
var kind = document.body.dataset.kind, last = {}, lastT = 0;
function esc(s){return String(s).replace(/[&<>"]/g,function(c){return {"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c];});}
function size(n){if(n>=1<<30)return (n/(1<<30)).toFixed(1)+"G";if(n>=1<<20)return (n/(1<<20)).toFixed(1)+"M";if(n>=1024)return (n/1024).toFixed(1)+"K";return String(n);}
function row(cls, cells){return '<tr class="'+esc(cls)+'">'+cells.map(function(c){return "<td>"+esc(c)+"</td>";}).join("")+"</tr>";}
function show(doc){
  var now = Date.now()/1000, html = "", total = 0, busy = 0;
  if (kind === "emperor") {
    (doc.vassals||[]).forEach(function(v){
      html += row("vassal", [v.id, v.pid, v.state || (v.ready ? "ready" : ""), v.accepting ? "yes" : "no", v.respawns||0]);
    });
    document.getElementById("summary").textContent = "Emperor pid " + doc.pid + ", " + (doc.vassals||[]).length + " vassals";
  } else {
    (doc.workers||[]).forEach(function(w){
      var key = w.id + ":" + w.pid, rps = "-";
      if (lastT && last[key] !== undefined && now > lastT) rps = ((w.requests - last[key]) / (now - lastT)).toFixed(1);
      last[key] = w.requests; total += w.requests; if (w.status === "busy") busy++;
      html += row("worker " + w.status, [w.id, w.pid, w.status, w.requests, rps, (w.avg_rt/1000).toFixed(1),
                                         size(w.rss), w.exceptions, w.respawn_count, w.harakiri_count]);
    });
    lastT = now;
    var lq = doc.listen_queue || 0;
    document.getElementById("summary").textContent = "uWSGI " + doc.version + " compatible, master pid " + doc.pid +
      ", " + (doc.workers||[]).length + " workers (" + busy + " busy), " + total + " requests, listen queue " + lq;
  }
  document.getElementById("rows").innerHTML = html;
}
function chart(samples){
  var c = document.getElementById("chart"), g = c.getContext("2d"), w = c.width, h = c.height, pts = [];
  for (var i = 1; i < samples.length; i++) {
    var dt = samples[i][0] - samples[i-1][0], dr = samples[i][1] - samples[i-1][1];
    pts.push([samples[i][0], dt > 0 && dr >= 0 ? dr / dt : 0]);
  }
  g.clearRect(0, 0, w, h);
  var max = 1; pts.forEach(function(p){ if (p[1] > max) max = p[1]; });
  g.strokeStyle = "#ddd"; g.beginPath(); g.moveTo(0, h - 1); g.lineTo(w, h - 1); g.stroke();
  g.fillStyle = "#555"; g.font = "11px sans-serif"; g.fillText(max.toFixed(1) + " req/s", 4, 12);
  if (!pts.length) return;
  var t0 = pts[0][0], span = Math.max(1, pts[pts.length-1][0] - t0);
  g.strokeStyle = "#1565c0"; g.lineWidth = 2; g.beginPath();
  pts.forEach(function(p, j){
    var x = (p[0] - t0) / span * (w - 8) + 4, y = h - 4 - p[1] / max * (h - 20);
    if (j) g.lineTo(x, y); else g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#1565c0";
  pts.forEach(function(p){
    var x = (p[0] - t0) / span * (w - 8) + 4, y = h - 4 - p[1] / max * (h - 20);
    g.fillRect(x - 2, y - 2, 4, 4);
  });
}
function poll(){
  fetch("json", {cache: "no-store"}).then(function(r){ return r.json(); }).then(show).catch(function(){});
  fetch("history", {cache: "no-store"}).then(function(r){ return r.json(); })
    .then(function(d){ chart(d.samples || []); }).catch(function(){});
}
show(JSON.parse(document.getElementById("initial").textContent));
poll(); setInterval(poll, 2000);
</script>
</body></html>
"""
