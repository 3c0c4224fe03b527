"""Page-number pagination that every API shapes its own way."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from rest_framework import serializers

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return (self.total + self.page_size - 1) // self.page_size if self.page_size else 0


class PageParams(serializers.Serializer):
    """``page`` from 1 and ``page_size`` up to ``max_page_size``; the names vary per API."""

    # Bounded: a huge page number would overflow the database OFFSET.
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=100, default=20)


def parse_page(params: Any, *, page_name: str = "page", size_name: str = "page_size", default_size: int = 20) -> tuple[int, int]:
    """Validate paging query parameters (400 on bad input) and return ``(page, page_size)``."""
    serializer = PageParams(
        data={
            "page": params.get(page_name, 1),
            "page_size": params.get(size_name, default_size),
        }
    )
    if not serializer.is_valid():
        errors = serializer.errors
        raise serializers.ValidationError(
            {page_name if key == "page" else size_name: value for key, value in errors.items()}
        )
    return serializer.validated_data["page"], serializer.validated_data["page_size"]


def paginate(queryset: QuerySet | Sequence[T], *, page: int, page_size: int) -> Page[T]:
    total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
    start = (page - 1) * page_size
    return Page(items=list(queryset[start : start + page_size]), total=total, page=page, page_size=page_size)
