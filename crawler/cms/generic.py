"""Any other list page: a "下一页" link, else a pager of numbered links (`?page=N`,
`pageNo=N`, `index_N.html`, `list_N.html`), else a paging form's page field."""

from __future__ import annotations

from crawler.cms.base import Family, ListPage, ListRequest
from crawler.cms.paging import form_next, next_link, numbered_next


class Generic(Family):
    name = "generic"
    label = "no known CMS"

    def recognises(self, page: ListPage) -> bool:
        return True

    def next_requests(self, page: ListPage) -> list[ListRequest]:
        for way in (next_link, numbered_next, form_next):
            following = way(page)
            if following is not None:
                return [following]
        return []
