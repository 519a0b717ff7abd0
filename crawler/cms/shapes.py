"""The URL shapes of a CMS family's article pages, as data each family module declares."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class UrlShapes:
    """The URL shapes of one CMS family's articles."""

    name: str
    """Short name, used in article keys ("trs" gives "www.sipac.gov.cn|trs:t20240315_1")."""
    article_paths: tuple[str, ...]
    """Regexes on the URL path of an article page of the family (searched)."""
    id_paths: tuple[re.Pattern[str], ...]
    """Regexes whose group "id" is an article id unique on the site, the same under every
    column the article is filed in (searched; looser than `article_paths`)."""
    date_path: re.Pattern[str] | None = None
    """Regex whose groups "y", "m" and "d" give the date the URL carries (searched)."""
