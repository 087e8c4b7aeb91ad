"""Server-rendered SVG charts: no JavaScript, nothing for the CSP to object to."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup


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
    # Markup.format escapes every value it is given: the labels and captions are text, never markup.
    parts = [
        Markup(
            '<svg viewBox="0 0 {width} {height}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">'
            "<title>{title}</title>"
            '<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>'
        ).format(width=width, height=height, title=title, left=left, right=width - left, base=height - bottom)
    ]
    for i, bar in enumerate(bars):
        h = round(plot_h * max(bar.value, 0) / peak, 1)
        x = round(left + i * slot + (slot - bar_w) / 2, 1)
        y = round(height - bottom - h, 1)
        parts.append(
            Markup(
                '<rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}" rx="3"><title>{caption}</title></rect>'
                '<text x="{middle}" y="{text_y}" text-anchor="middle">{label}</text>'
            ).format(
                x=x,
                y=y,
                w=round(bar_w, 1),
                h=h,
                caption=bar.caption,
                middle=round(x + bar_w / 2, 1),
                text_y=height - 10,
                label=bar.label,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
