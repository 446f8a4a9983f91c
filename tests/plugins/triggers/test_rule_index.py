"""The rule index (``conditions.index_terms``/``lookup_keys``): a rule is looked
up by the text value it tests, and never missed where ``same()`` would match."""

from __future__ import annotations

from plugins.triggers import conditions as c


def test_a_text_equality_is_indexed_by_its_casefolded_value():
    node = c.compile_tree({"all": [{"field": "subject", "op": "contains", "value": "x"},
                                   {"field": "queue", "op": "is", "value": " Billing "}]})
    assert c.index_terms(node) == ("queue", ["billing"])
    assert "billing" in c.lookup_keys("BILLING ")
    assert c.index_terms(c.compile_tree({"field": "queue", "op": "in",
                                         "value": ["a", "B"]})) == ("queue", ["a", "b"])


def test_values_that_same_equates_across_kinds_are_not_indexed():
    for value in ("5", "yes", "2026-01-01", True, 5):
        node = c.compile_tree({"field": "priority", "op": "is", "value": value})
        assert c.index_terms(node) is None, value
    assert c.same("5", 5) and c.same("yes", True)  # why: a key could not find these


def test_groups_that_do_not_require_the_value_are_scanned():
    any_of = c.compile_tree({"any": [{"field": "queue", "op": "is", "value": "a"},
                                     {"field": "queue", "op": "is", "value": "b"}]})
    negated = c.compile_tree({"not": {"field": "queue", "op": "is", "value": "a"}})
    assert c.index_terms(any_of) is None and c.index_terms(negated) is None
    assert c.lookup_keys(["A", 3, None]) == ["a"]  # a list field: each text element
