import re

from app.admin.charts import Bar, bar_chart


def test_bar_chart_is_inline_svg_scaled_to_the_peak_with_accessible_titles():
    svg = str(
        bar_chart(
            [Bar("Jan", 100, "Jan: $1.00"), Bar("Feb", 50, "Feb: $0.50"), Bar("<x>", 0, "none")],
            title="Revenue",
            height=220,
        )
    )
    assert svg.startswith("<svg") and 'aria-label="Revenue"' in svg
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"', svg)]
    assert heights[0] == 2 * heights[1] and heights[2] == 0
    assert "<title>Jan: $1.00</title>" in svg and "&lt;x&gt;" in svg and "<script" not in svg


def test_an_empty_chart_still_renders():
    assert "<svg" in str(bar_chart([], title="Nothing yet"))
