"""Hookdesk benchmarks: ``make bench`` (``python -m benchmarks [--quick]``).

Every figure is printed next to a baseline measured in the same run on the same
machine and database, and compared as a ratio. Nothing here passes or fails on
an absolute threshold: the numbers are for reading, not for gating CI.

* ``benchmarks.create`` — ticket creation through ``kernel.services.tickets.create``
  against the same rows written with plain SQLAlchemy Core (bulk, and one
  transaction per ticket), plus tracemalloc peaks per 1,000 tickets.
* ``benchmarks.listing`` — the first page of a filtered, sorted ticket list through
  ``kernel.services.queries.list_tickets`` against hand-written selects, the count
  query on its own, and SQLite's query plans for both.

See ``docs/performance.md`` for what each figure means and the first results.
"""
