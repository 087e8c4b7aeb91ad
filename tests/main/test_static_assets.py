from pathlib import Path

import pytest
import tinycss2

STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.mark.parametrize("path", sorted(STATIC.glob("css/*.css")), ids=lambda p: p.name)
def test_stylesheets_parse_without_errors_and_close_every_block(path):
    text = path.read_text()
    rules = tinycss2.parse_stylesheet(text, skip_whitespace=True, skip_comments=True)
    errors = [r for r in rules if r.type == "error"]
    assert errors == [], [(e.source_line, e.message) for e in errors]
    # A block left open swallows every rule after it (an @media missing its "}").
    depth = 0
    for line_no, line in enumerate(text.splitlines(), 1):
        if depth and line and not line[0].isspace() and line[0] not in "}/" and not line.startswith("@"):
            pytest.fail(f"{path.name}:{line_no} looks like a top-level rule inside an open block: {line[:60]}")
        depth += line.count("{") - line.count("}")
    assert depth == 0
