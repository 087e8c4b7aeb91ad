"""Server-rendered SVG charts: no JavaScript, nothing for the CSP to object to."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: int  # minor units or a count
    caption: str  # what a tooltip and screen readers say, e.g. "Mar 2026: $1,204.00"


def bar_chart(bars: list[Bar], *, title: str, width: int = 720, height: int = 220) -> Markup:
    """A bar chart as inline SVG, with a <title> per bar and an accessible summary."""
    left, bottom, top = 8, 28, 12
    plot_h = height - bottom - top
    peak = max((b.value for b in bars), default=0) or 1
    slot = (width - left * 2) / max(len(bars), 1)
    bar_w = max(slot * 0.62, 2)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}"/>',
    ]
    for i, bar in enumerate(bars):
        h = round(plot_h * max(bar.value, 0) / peak, 1)
        x = round(left + i * slot + (slot - bar_w) / 2, 1)
        y = round(height - bottom - h, 1)
        parts.append(
            f'<rect class="bar" x="{x}" y="{y}" width="{round(bar_w, 1)}" height="{h}" rx="3">'
            f"<title>{escape(bar.caption)}</title></rect>"
        )
        parts.append(
            f'<text x="{round(x + bar_w / 2, 1)}" y="{height - 10}" text-anchor="middle">{escape(bar.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
