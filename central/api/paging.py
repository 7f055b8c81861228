"""Paged lists: the ``limit``/``offset`` query parameters and the page every list answers."""

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from central.db.rows import MAX_PAGE

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; ask again with offset + limit for the next."""

    items: list[T]
    limit: int
    offset: int


class Paging:
    """The page a list call asks for; ``of`` wraps the rows found into the page answered."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows per page")] = 100,
        offset: Annotated[int, Query(ge=0, description="rows to skip")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset

    def of(self, items: Sequence[Any], **extra: Any) -> dict[str, Any]:
        """The page answer for ``items`` (``extra``: more fields, e.g. a total)."""
        return {"items": list(items), "limit": self.limit, "offset": self.offset, **extra}


PagingDep = Annotated[Paging, Depends()]
