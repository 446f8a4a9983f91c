"""``python -m benchmarks [--quick] [--only create|list|automation|import|search]
[--scale N] [--profile]``."""

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
    parser.add_argument("--only", choices=("create", "list", "automation", "import", "search"),
                        action="append",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--scale", type=int, default=None,
                        help="messages seeded for the search benchmark (e.g. 1000000); "
                             "default 100,000 (10,000 with --quick)")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of 500 service creates")
    args = parser.parse_args(argv)
    sizes = Sizes.pick(args.quick)
    only = set(args.only or ("create", "list", "automation", "import", "search"))

    logging.disable(logging.WARNING)  # a benchmark prints figures, not the app's log
    warnings.simplefilter("ignore")
    from benchmarks import automation, create, listing, search, warranty_import

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
            listing.run(root, sizes)
        if "automation" in only:
            automation.run(root, args.quick)
        if "import" in only:
            warranty_import.run(root, args.quick)
        if "search" in only:
            scale = args.scale or (10_000 if args.quick else 100_000)
            search.run(root, scale, sizes.list_repeats)
        if args.profile:
            title("cProfile: 500 service creates, by cumulative time")
            print(create.profile_service(root))
    print()
    print(f"done in {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1
