"""The parknews Scrapy project: settings, spider, site profiles, record and extraction.

For code that uses parknews as a library, the package itself is the entry point:
`extract_record(page, url)` turns the bytes of one article page into the record a crawl
writes, and raises `NotAnArticle` for a page that holds none. It sits above every layer of
ARCHITECTURE.md, so no module of the project imports it.
"""

from crawler.extract import NotAnArticle
from crawler.offline import extract_record

__all__ = ["NotAnArticle", "extract_record"]
