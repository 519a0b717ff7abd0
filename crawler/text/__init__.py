"""Text utilities every layer shares: the date grammar, page vocabulary, inline whitespace and
the MinHash sketch of a text. They know nothing of Scrapy, pages or records."""
