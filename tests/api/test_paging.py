"""`page_of_keys`: pages chosen on sort keys, their rows read after."""

from __future__ import annotations

from typing import Any

from hiveboard.api.params import decode_cursor
from hiveboard.api.queries.paging import page_of_keys


def keys(*span_ids: str) -> list[dict[str, Any]]:
    return [{"SpanId": span_id, "SortValue": index} for index, span_id in enumerate(span_ids)]


def cursor_of(key: dict[str, Any]) -> tuple[Any, ...]:
    return (key["SortValue"], key["SpanId"])


def test_the_key_past_the_page_says_more_follow_without_being_read() -> None:
    read: list[str] = []

    def item_of(key: dict[str, Any]) -> str:
        read.append(key["SpanId"])
        return key["SpanId"].upper()

    page = page_of_keys(keys("a", "b", "c"), item_of, cursor_of, limit=2)

    assert page.data == ["A", "B"] and read == ["a", "b"]
    assert page.pagination.has_more
    assert decode_cursor(page.pagination.next_cursor or "", 2) == [1, "b"]


def test_a_row_gone_since_its_key_was_read_is_left_out_and_never_shown_as_none() -> None:
    page = page_of_keys(
        keys("a", "gone", "c"),
        lambda key: None if key["SpanId"] == "gone" else key["SpanId"],
        cursor_of,
        limit=2,
    )

    assert page.data == ["a"]


def test_the_last_page_has_no_cursor() -> None:
    page = page_of_keys(keys("a"), lambda key: key["SpanId"], cursor_of, limit=2)

    assert page.data == ["a"] and not page.pagination.has_more and page.pagination.next_cursor is None
