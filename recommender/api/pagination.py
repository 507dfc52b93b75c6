"""Page-number pagination with a client-chosen, capped page size."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination

MAX_PAGE_SIZE = 100  # a page of 100 places with keywords serialises in ~20 ms


class CappedPageNumberPagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M ≤ 100); a page past the end is a 404 ``not_found``."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
