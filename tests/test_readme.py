"""The README and the Makefile tell a newcomer the truth: schedules, settings, files that exist."""

import re
from pathlib import Path

import pytest

from app.workers import PERIODIC

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _schedule(periodic) -> str:
    if periodic.cron:
        minute, hour, *every_day = periodic.cron.split()
        assert every_day == ["*", "*", "*"], "describe this schedule in the README by hand"
        return f"daily, {int(hour):02d}:{int(minute):02d} UTC"
    return "hourly" if periodic.interval == 3600 else f"every {periodic.interval // 60} min"


@pytest.mark.parametrize("periodic", PERIODIC, ids=lambda p: p.func)
def test_the_readme_gives_each_periodic_job_the_schedule_it_runs_on(periodic):
    row = re.search(
        rf"^\| `{re.escape(periodic.func)}` \| ([^|]+) \|", _section("Periodic jobs (run by `flask scheduler`)"), re.M
    )
    assert row, f"{periodic.func} is missing from the README's periodic jobs"
    assert row.group(1).strip() == _schedule(periodic)


def test_every_setting_read_from_the_environment_is_in_the_configuration_table():
    names = set(re.findall(r'env(?:_int|_bool)?\("([A-Z0-9_]+)"', (ROOT / "config.py").read_text()))
    table = _section("Configuration")
    assert "PORT" in names and not {name for name in names if f"`{name}`" not in table}


def test_make_targets_run_scripts_that_exist():
    scripts = re.findall(r"\$\(BIN\)/python\s+(\S+\.py)", (ROOT / "Makefile").read_text())
    assert "scripts/smoke_embedded.py" in scripts
    assert [path for path in scripts if not (ROOT / path).is_file()] == []


def test_the_readme_names_only_files_inside_the_project():
    # Paths with a folder (a bare `states.py` is named within its package's paragraph).
    paths = set(re.findall(r"`([\w.-]*/[\w./-]+\.(?:py|md|txt|json|toml|ini|cfg|sh|js|css|html))`", README))
    paths |= set(re.findall(r"\]\(([^)#:]+)\)", README))  # markdown links that are not URLs
    assert paths and [p for p in paths if p.startswith("..") or not (ROOT / p).exists()] == []
