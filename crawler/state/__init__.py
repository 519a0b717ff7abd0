"""The crawl state between runs: the SQLite store (`store`), its schema and migrations
(`schema`), the LSH bands it files (`bands`), the run lock (`lock`) and its errors (`errors`).
Plain data only: nothing here knows Scrapy or a pipeline's types."""
