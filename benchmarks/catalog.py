"""Catalog pages under load, as a ratio to a bare route rendering the base layout (same gunicorn, same run).

.venv/bin/python benchmarks/catalog.py [--products 1000] [--workers 2] [--duration 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness  # noqa: E402

BASELINE = "bare route (base layout)"


def main(argv: list[str] | None = None) -> harness.Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--plans-per-product", type=int, default=5)
    harness.add_load_arguments(parser)
    args = parser.parse_args(argv)

    def load() -> None:
        from app.catalog.demo import bulk_load_catalog, seed_demo_catalog

        seed_demo_catalog()
        bulk_load_catalog(args.products - 10, plans_per_product=args.plans_per_product)

    print(f"catalog: preparing database {harness.DATABASE} with {args.products} products …", flush=True)
    database = harness.prepare_database(load)
    pages = [
        (BASELINE, "/_bench/bare"),
        ("catalog page", "/products/"),
        ("catalog search + filters", "/products/?q=invoice&cycle=yearly&sort=price"),
        ("catalog page 40", "/products/?page=40"),
        ("product page", "/products/pipewise-crm?cycle=yearly"),
    ]
    with harness.Server(database, workers=args.workers, threads=args.threads) as server:
        results = harness.measure_pages(
            server, pages, duration=args.duration, connections=args.connections, rounds=args.rounds
        )
    harness.with_ratios(results, BASELINE)
    report = harness.Report("catalog", vars(args), results)
    print(harness.table(results, BASELINE))
    print(f"saved {report.save().relative_to(harness.ROOT)}")
    return report


if __name__ == "__main__":
    main()
