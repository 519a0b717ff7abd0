"""The crawl state between runs: what callers use of it (`base.StateBackend`), the SQLite
store of one host (`store`), its schema and migrations (`schema`), the Redis store that
workers share (`redisstore`), what an article row means (`articles`), the LSH bands they file
(`bands`), the run lock (`lock`) and its errors (`errors`). Plain data only: nothing here
knows Scrapy or a pipeline's types."""
