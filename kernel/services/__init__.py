"""The one service layer through which every change happens.

Web pages, the API, the CLI and triggers all call these functions, so
validation, history, hooks and signals happen in one place. Each public
function is a unit of work: it commits on success (or joins the caller's unit
of work) and rolls everything back on any refusal.
"""
