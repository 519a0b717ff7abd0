"""Scrapy extensions of parknews: the run report and the crawl state of a run."""
