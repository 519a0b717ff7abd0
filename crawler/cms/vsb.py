"""VSB (博达 WebPlus): list pages count down (`ggyw.htm`, then `ggyw/12.htm` … `ggyw/1.htm`),
reached through the pager's 下页 link; articles at `/info/<column>/<id>.htm`."""

from __future__ import annotations

import re

from crawler.cms.base import Family, ListPage, ListRequest
from crawler.cms.paging import next_link
from crawler.cms.shapes import UrlShapes

SHAPES = UrlShapes(
    name="vsb",
    article_paths=(r"/info/\d+/\d+\.htm$",),
    id_paths=(re.compile(r"/info/\d+/(?P<id>\d+)\.htm$"),),
)
"""VSB (博达): `/info/1022/10093.htm` (column, then article id)."""
DYNAMIC_PATH = re.compile(r"/content\.jsp$")
DYNAMIC_ID = re.compile(r"(?:^|&)wbnewsid=(?P<id>\d+)(?:&|$)")
"""VSB's dynamic article view, `content.jsp?...&wbnewsid=10093`: the same id as `/info/`."""
MARKERS = re.compile(
    r"Visual\s*SiteBuilder|/system/resource/|_sitegray|class=\"[^\"]*\bp_next\b"
    r"|_simple_list_gotopage_fun|\bpb_sys_common\b",
    re.I,
)
"""What VSB writes into its pages: its generator comment, its resource folder, its pager."""


class Vsb(Family):
    name = "vsb"
    label = "VSB (博达)"
    shapes = SHAPES

    def recognises(self, page: ListPage) -> bool:
        return MARKERS.search(page.text) is not None

    def next_requests(self, page: ListPage) -> list[ListRequest]:
        following = next_link(page)
        return [following] if following is not None else []
