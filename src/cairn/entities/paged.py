"""A page of results and the token that fetches the next one."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class PagedList(list, Generic[T]):  # type: ignore[type-arg]
    """A list that also carries ``token``: pass it back as ``page_token`` for the next page."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token
