"""The results page: ``out/report.html``, one self-contained file to open from disk.

Built from the report's per-job rows: a card per job with its images, a playable
video or an audio player (relative links into ``files/``, so the folder can be
moved or zipped), the prompt, family, state, failure reason, and units estimated
and deducted; filters by state and family; a summary with totals; a slot timeline
per pack (inline SVG: slots in use from each task's create to its end, against the
capacity). No network, no CDN, no external script: inline CSS and a few lines of
inline JavaScript for the filters. Every text is HTML-escaped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kling_async._files import write_atomic
from kling_async._text import for_html, read_units
from kling_async.batch._report import units_shown
from kling_async.batch._states import JobState

if TYPE_CHECKING:
    from kling_async.batch._report import BatchReport

__all__ = ["render_page", "write_page"]

PAGE_NAME = "report.html"

_IMAGE = (".png", ".jpg", ".jpeg", ".webp", ".gif")
_VIDEO = (".mp4", ".mov", ".webm")
_AUDIO = (".mp3", ".wav", ".ogg", ".m4a")
_STATE_COLORS: dict[str, str] = {
    JobState.DOWNLOADED: "#1b7f3b",
    JobState.SUCCEEDED: "#2a6fb0",
    JobState.FAILED: "#b3261e",
    JobState.EXPIRED: "#8a5a00",
    JobState.QUEUED: "#666",
    JobState.CREATING: "#666",
    JobState.CREATED: "#7a4fb0",
}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
background:#f6f6f4;color:#1d1d1b}
header{background:#1d1d1b;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
main{padding:16px 24px}section{margin-bottom:20px}
table.sum{border-collapse:collapse}table.sum td,table.sum th{padding:3px 12px 3px 0;
text-align:left}
.filters{display:flex;gap:16px;align-items:center;margin:8px 0 14px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:14px}
.job{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;padding:10px;
overflow:hidden}.job[hidden]{display:none}
.job h3{margin:0 0 4px;font-size:15px;word-break:break-all}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px}
.meta{color:#555;font-size:12px}.prompt{margin:6px 0}.reason{color:#b3261e}
.media img,.media video{width:100%;border-radius:4px;background:#222;display:block;
margin-top:6px}.media audio{width:100%;margin-top:6px}
.flag{color:#b3261e;font-weight:600}svg text{font:11px system-ui,sans-serif}
"""

_JS = """
(function(){
  var state=document.getElementById('state-filter');
  var family=document.getElementById('family-filter');
  var shown=document.getElementById('shown');
  function apply(){
    var n=0;
    document.querySelectorAll('.job').forEach(function(card){
      var ok=(state.value==='all'||card.dataset.state===state.value)&&
             (family.value==='all'||card.dataset.family===family.value);
      card.hidden=!ok; if(ok){n++;}
    });
    shown.textContent=n+' shown';
  }
  state.addEventListener('change',apply);family.addEventListener('change',apply);apply();
})();
"""


_e = for_html
"""The page's one escaping rule (see :mod:`kling_async._text`)."""


def _media(name: str) -> str:
    href = "files/" + quote(name)
    lower = name.lower()
    if lower.endswith(_IMAGE):
        return f'<img src="{href}" alt="{_e(name)}">'
    if lower.endswith(_VIDEO):
        return f'<video src="{href}" controls preload="metadata" muted></video>'
    if lower.endswith(_AUDIO):
        return f'<audio src="{href}" controls preload="metadata"></audio>'
    return f'<a href="{href}">{_e(name)}</a>'


def _units(value: Any) -> str:
    number = read_units(value)
    return "-" if number is None else f"{number:g}"


def _card(row: dict[str, Any]) -> str:
    state = str(row.get("state") or "")
    color = _STATE_COLORS.get(state, "#666")
    parts = [
        f'<article class="job" data-state="{_e(state)}" data-family="{_e(row["family"])}">',
        f"<h3>{_e(row['job_id'])}</h3>",
        f'<span class="badge" style="background:{color}">{_e(state)}</span> '
        f'<span class="meta">{_e(row["family"])}</span>',
    ]
    if row.get("prompt"):
        parts.append(f'<div class="prompt">{_e(row["prompt"])}</div>')
    if row.get("reason"):
        parts.append(f'<div class="reason">{_e(row["reason"])}</div>')
    units = f"units estimated {_units(row.get('estimated_units'))}, deducted {_e(units_shown(row))}"
    if row.get("difference"):
        units += f' <span class="flag">({_e(row["difference"])})</span>'
    parts.append(f'<div class="meta" title="{_e(row.get("estimate_basis") or "")}">{units}</div>')
    cash = row.get("cash")
    if isinstance(cash, dict) and cash:
        shown = ", ".join(f"{k} {v}" for k, v in cash.items())
        parts.append(f'<div class="meta">cash deducted: {_e(shown)}</div>')
    if row.get("task_id"):
        parts.append(f'<div class="meta">task {_e(row["task_id"])}</div>')
    files = row.get("files") or []
    if files:
        parts.append('<div class="media">' + "".join(_media(n) for n in files) + "</div>")
    parts.append("</article>")
    return "\n".join(parts)


def _timeline(rows: list[dict[str, Any]], capacity: dict[str, int]) -> str:
    """Slots in use per pack over the run, as inline SVG step charts."""
    spans = [
        (r["pack"], float(r["created_at"]), float(r["ended_at"]), int(r.get("cost") or 1))
        for r in rows
        if r.get("pack") and r.get("created_at") is not None and r.get("ended_at") is not None
    ]
    if not spans:
        return "<p>No task has ended yet: no timeline.</p>"
    t0 = min(s[1] for s in spans)
    t1 = max(s[2] for s in spans)
    width, height, left = 760.0, 70.0, 70.0
    scale_x = (width - left - 10) / max(t1 - t0, 1e-6)
    charts = []
    for pack in sorted({s[0] for s in spans}):
        events: list[tuple[float, int]] = []
        for p, start, end, cost in spans:
            if p == pack:
                events += [(start, cost), (end, -cost)]
        events.sort(key=lambda e: (e[0], e[1]))
        peak = max(capacity.get(pack, 0), 1)
        level, running = [], 0
        for t, delta in events:
            running += delta
            level.append((t, running))
            peak = max(peak, running)
        scale_y = (height - 20) / peak
        points = [f"{left:.1f},{height - 5:.1f}"]
        previous = 0
        for t, value in level:
            x = left + (t - t0) * scale_x
            points.append(f"{x:.1f},{height - 5 - previous * scale_y:.1f}")
            points.append(f"{x:.1f},{height - 5 - value * scale_y:.1f}")
            previous = value
        cap = capacity.get(pack)
        cap_line = ""
        if cap:
            y = height - 5 - cap * scale_y
            cap_line = (
                f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="#b3261e" stroke-dasharray="4 3"/>'
                f'<text x="{width - 12}" y="{y - 2:.1f}" text-anchor="end" fill="#b3261e">'
                f"capacity {cap}</text>"
            )
        charts.append(
            f'<svg width="{width:.0f}" height="{height:.0f}" role="img" '
            f'aria-label="{_e(pack)} slots in use">'
            f'<text x="0" y="{height / 2:.0f}">{_e(pack)}</text>'
            f'<polyline fill="#2a6fb033" stroke="#2a6fb0" points="{" ".join(points)}"/>'
            f"{cap_line}</svg>"
        )
    return "\n".join(charts) + f'<p class="meta">over {t1 - t0:.1f} s of the run</p>'


def render_page(report: BatchReport, *, capacity: dict[str, int] | None = None) -> str:
    """The results page of ``report`` (built with ``per_job=True``) as HTML."""
    rows = report.job_rows
    states = sorted({str(r["state"]) for r in rows})
    families = sorted({str(r["family"]) for r in rows})
    packs = sorted(set(report.estimated) | set(report.deducted))
    cost_rows = "".join(
        f"<tr><td>{_e(p)}</td><td>{report.estimated.get(p, 0):g}</td>"
        f"<td>{report.deducted.get(p, 0):g}</td></tr>"
        for p in packs
    )
    family_rows = "".join(
        f"<tr><td>{_e(f['family'])}</td><td>{_e(f['pack'])}</td><td>{f['jobs']}</td>"
        f"<td>{f['estimated']:g}</td><td>{f['deducted']:g}</td></tr>"
        for f in report.cost_families
    )
    utilization = ", ".join(f"{p} {u:.0%}" for p, u in sorted(report.utilization.items()))
    options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in states)
    family_options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in families)
    made = time.strftime("%Y-%m-%d %H:%M:%S")
    summary = (
        f"<tr><th>jobs</th><td>{report.jobs}</td></tr>"
        f"<tr><th>succeeded</th><td>{report.succeeded} (downloaded {report.downloaded}, "
        f"{report.files} files)</td></tr>"
        f"<tr><th>failed</th><td>{report.failed}</td></tr>"
        f"<tr><th>pending</th><td>{report.pending}</td></tr>"
        f"<tr><th>expired</th><td>{report.expired}</td></tr>"
        f"<tr><th>wall time</th><td>{report.wall_seconds:.1f} s</td></tr>"
        f"<tr><th>slot utilization</th><td>{_e(utilization or '-')}</td></tr>"
        f"<tr><th>budget</th><td>{_e(report.budget or 'none')}</td></tr>"
        f"<tr><th>flagged</th><td>{len(report.flagged)} job(s) beyond "
        f"{report.tolerance:.0%} of their estimate; {report.unpriced} without one</td></tr>"
    )
    stopped = f"<p class='reason'>stopped: {_e(report.stopped)}</p>" if report.stopped else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>kling-async batch report</title><style>{_CSS}</style></head>
<body><header><h1>kling-async batch report</h1>
<div class="meta" style="color:#ccc">written {_e(made)}</div></header><main>
<section><h2>Summary</h2>{stopped}<table class="sum">{summary}</table></section>
<section><h2>Units</h2>
<table class="sum"><tr><th>pack</th><th>estimated</th><th>deducted</th></tr>{cost_rows}</table>
<table class="sum"><tr><th>family</th><th>pack</th><th>jobs</th><th>estimated</th>
<th>deducted</th></tr>{family_rows}</table>
<p class="meta">Ended jobs; packs are separate currencies and are not added.</p></section>
<section><h2>Slots in use</h2>{_timeline(rows, capacity or {})}</section>
<section><h2>Jobs</h2><div class="filters">
<label>state <select id="state-filter"><option value="all">all</option>{options}</select></label>
<label>family <select id="family-filter"><option value="all">all</option>{family_options}
</select></label><span id="shown" class="meta"></span></div>
<div class="grid">
{"".join(_card(r) for r in rows)}
</div></section></main>
<script>{_JS}</script></body></html>
"""


def write_page(report: BatchReport, folder: Path, *, capacity: dict[str, int]) -> Path:
    """Write ``report.html`` into ``folder`` through the one safe writer (atomic, no
    link followed); returns its path."""
    path = folder / PAGE_NAME
    write_atomic(path, render_page(report, capacity=capacity))
    return path
