"""The ramp as a picture (`capacity --svg FILE`): jobs started over time, one line per runner.

Drawn from the same document `--json` prints, with the model's own stages: jobs are picked up
at the runner's pickup rate from its first request on; the first `warmJobs` (EC2 lanes) run a
warm start later, the others a cold start later (a Fargate launch or a new Karpenter node);
no more than `peakRunning` ever run (the quota, pool or slot plateau), and the line ends where
the last job starts, labelled with what binds. A plain SVG writer: no plotting dependency.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from components.capacity import model

WIDTH, HEIGHT = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 60, 230, 40, 50
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
STEP = 0.5  # seconds between plotted points


def _cold_start(doc: dict[str, Any], runner: dict[str, Any]) -> float:
    limits = doc["limits"]
    base = (
        limits["ec2StartSeconds"]
        if runner["compute"] == model.COMPUTE_EC2
        else limits["startSeconds"]
    )
    return base + runner["launchWaitSeconds"]


def ramp(doc: dict[str, Any], runner: dict[str, Any], t: float) -> float:
    """Jobs of this runner running at time t (model stages, module docstring)."""
    first_wave = min(runner["jobs"], runner["concurrency"])
    rate = runner["pickupPerSecond"]

    def created(at: float) -> float:
        return max(0.0, min(first_wave, rate * (at - runner["firstRequestSeconds"])))

    warm = runner.get("warmJobs") or 0
    warm_start = doc["limits"].get("warmStartSeconds", model.WARM_START_SECONDS)
    started = min(created(t - warm_start), warm)
    started += max(0.0, created(t - _cold_start(doc, runner)) - warm)
    return min(started, runner["peakRunning"])


def _end(doc: dict[str, Any], runner: dict[str, Any]) -> float:
    if runner["startAllSeconds"] is not None:
        return runner["startAllSeconds"]
    return runner["timeoutSeconds"]


def render_svg(doc: dict[str, Any]) -> str:
    """The whole picture as SVG text."""
    runners = [r for r in doc["runners"] if r["jobs"]]
    horizon = max((_end(doc, r) for r in runners), default=60.0) * 1.1 or 60.0
    top_jobs = max((r["jobs"] for r in runners), default=1) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + plot_w * t / horizon

    def y(jobs: float) -> float:
        return TOP + plot_h * (1 - jobs / top_jobs)

    title = f"{doc['mode']} stack: {doc['jobs']} jobs queued at once, jobs started over time"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="14">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 12}" text-anchor="middle">seconds</text>',
        f'<text x="14" y="{TOP + plot_h / 2}" transform="rotate(-90 14 {TOP + plot_h / 2})" '
        'text-anchor="middle">jobs started</text>',
    ]
    for i in range(5):
        t, jobs = horizon * i / 4, top_jobs * i / 4
        out.append(
            f'<text x="{x(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{t:.0f}</text>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y(jobs) + 4:.1f}" text-anchor="end">{jobs:.0f}</text>'
        )
    for index, runner in enumerate(runners):
        colour = COLOURS[index % len(COLOURS)]
        end = _end(doc, runner)
        steps = int(end / STEP) + 1
        points = [(k * STEP, ramp(doc, runner, k * STEP)) for k in range(steps)]
        points.append((end, ramp(doc, runner, end)))
        path = " ".join(f"{x(t):.1f},{y(j):.1f}" for t, j in points)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        last_t, last_j = points[-1]
        label = f"{runner['name']}: {last_j:.0f}/{runner['jobs']} by {last_t:.0f} s, "
        label += runner["bindingLimit"]
        out.append(
            f'<text x="{LEFT + plot_w + 8}" y="{TOP + 16 + 18 * index}" fill="{colour}">'
            f"{escape(label)}</text>"
        )
        if runner.get("warmJobs") and runner.get("warmStartedSeconds") is not None:
            wx, wy = x(runner["warmStartedSeconds"]), y(runner["warmJobs"])
            out.append(f'<circle cx="{wx:.1f}" cy="{wy:.1f}" r="4" fill="{colour}"/>')
            out.append(
                f'<text x="{wx + 6:.1f}" y="{wy - 6:.1f}" fill="{colour}">'
                f"{runner['warmJobs']} warm</text>"
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
