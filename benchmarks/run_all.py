"""`make bench`: every benchmark module in this folder that has a main(), one after the other."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
NOT_BENCHMARKS = {"__init__", "harness", "run_all", "wsgi_bench"}

if __name__ == "__main__":
    for path in sorted(HERE.glob("*.py")):
        if path.stem in NOT_BENCHMARKS:
            continue
        module = importlib.import_module(f"benchmarks.{path.stem}")
        if hasattr(module, "main"):
            print(f"== {path.stem}")
            module.main([])
