"""Weekly trend charts as inline SVG, drawn on the server: no script, nothing the
console's Content-Security-Policy must allow (presentation attributes only)."""

from __future__ import annotations

from datetime import date
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 520, 180, 34


def line_chart(title: str, points: list[tuple[date, float | None]], *, top: float = 1.0) -> Markup:
    """A share (0…`top`) per week: a line through the weeks that have a value, a dot
    on each, the value in its tooltip; weeks without data leave a gap."""
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(1, len(points) - 1)
    xs = [PAD + i * step if len(points) > 1 else WIDTH / 2 for i in range(len(points))]

    def y(value: float) -> float:
        return PAD + inner_h * (1 - min(max(value / top, 0.0), 1.0))

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for frac in (0.0, 0.5, 1.0):
        gy = PAD + inner_h * (1 - frac)
        parts.append(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="2" y="{gy + 4:.1f}" font-size="11" fill="#666">{frac * top * 100:.0f}%</text>')
    segment: list[str] = []
    for x, (_, value) in zip(xs, points, strict=True):
        if value is None:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{" ".join(segment)}"/>')
            segment = []
            continue
        segment.append(f"{x:.1f},{y(value):.1f}")
    if len(segment) > 1:
        parts.append(f'<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="{" ".join(segment)}"/>')
    for x, (week, value) in zip(xs, points, strict=True):
        label = f"{week:%d.%m}"
        parts.append(f'<text x="{x - 14:.1f}" y="{HEIGHT - 8}" font-size="11" fill="#666">{label}</text>')
        if value is not None:
            shown = f"{value * 100:.1f}".replace(".", ",")
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y(value):.1f}" r="4" fill="#1f5fa8">'
                f"<title>неделя с {week:%d.%m.%Y}: {shown} %</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
