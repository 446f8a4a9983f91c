"""``python -m benchmarks [--quick] [--scale N] [--profile]
[--only create|list|list-queries|automation|import|requests|search]``."""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings

from benchmarks.common import Sizes, machine, title


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes (1,000 creates, 10,000-row list) for a smoke run")
    parser.add_argument("--scale", type=int, default=None,
                        help="tickets the list pages are grown to, and messages seeded for "
                             "the search benchmark (default 100,000; 10,000 with --quick); "
                             "e.g. --scale 1000000")
    parser.add_argument("--only", choices=("create", "list", "list-queries", "automation",
                                           "import", "requests", "search"),
                        action="append",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of 500 service creates")
    args = parser.parse_args(argv)
    sizes = Sizes.pick(args.quick)
    only = set(args.only or ("create", "list", "automation", "import", "requests", "search"))
    scale = args.scale or (10_000 * 2 if args.quick else sizes.list_rows)

    logging.disable(logging.WARNING)  # a benchmark prints figures, not the app's log
    warnings.simplefilter("ignore")
    from benchmarks import (
        automation,
        create,
        list_pages,
        listing,
        requests,
        search,
        warranty_import,
    )

    started = time.perf_counter()
    print("Hookdesk benchmarks" + (" (--quick)" if args.quick else ""))
    print(machine())
    print("Figures are ratios against a baseline measured in this run; "
          "absolute numbers depend on the machine.")
    ok = True
    with tempfile.TemporaryDirectory(prefix="hookdesk-bench-") as root:
        if "create" in only:
            ok = create.run(root, sizes)["ok"] and ok
        if "list" in only:
            list_pages.run(root, scale, sizes.list_repeats)
        if "list-queries" in only:
            listing.run(root, sizes)
        if "automation" in only:
            automation.run(root, args.quick)
        if "import" in only:
            warranty_import.run(root, args.quick)
        if "requests" in only:
            requests.run(root, args.quick)
        if "search" in only:
            search.run(root, args.scale or (10_000 if args.quick else 100_000),
                       sizes.list_repeats)
        if args.profile:
            title("cProfile: 500 service creates, by cumulative time")
            print(create.profile_service(root))
    print()
    print(f"done in {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1
