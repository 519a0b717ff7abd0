"""Scrapy settings of parknews: politeness, the components and their order.

Every PARKNEWS_* setting is declared, with its default and what it does, in
crawler/default_settings.py; set any of them here or with `-s NAME=VALUE` to change it.
"""

from crawler.default_settings import PARKNEWS_CONTACT_URL

BOT_NAME = "parknews"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# Who we are: the User-Agent names the project and where to reach its operators.
USER_AGENT = f"parknews/0.1 (+{PARKNEWS_CONTACT_URL})"

# Politeness: robots.txt obeyed, a few requests per site at a time, AutoThrottle on.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# A cron job needs no control port listening on the machine.
REMOTE_CONTROL_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # No request leaves the allowed domains, retries and their redirects included.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.http.StrictOffsiteMiddleware": 50,
    # Retries wait: Retry-After when the server says, else exponential backoff.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.http.BackoffRetryMiddleware": 550,
    # Above RedirectMiddleware (600): loops and off-site redirects end as reported failures.
    "crawler.middlewares.http.RedirectGuardMiddleware": 610,
    # Below HttpCompressionMiddleware (590), so it sees decompressed bodies.
    "crawler.middlewares.charset.CharsetRepairMiddleware": 580,
    "crawler.middlewares.replay.ReplayMiddleware": 950,
    "crawler.middlewares.replay.RecordMiddleware": 960,
    # Last before the downloader: a replayed answer never waits for a slot, and the slot is
    # given back as soon as the answer is in. Active only with REDIS_URL.
    "crawler.middlewares.politeness.SharedPolitenessMiddleware": 970,
}

# The run report judges the run and announces its verdict (signal run_judged); the crawl
# state logs it when it hears it. They talk through signals, so their order does not matter.
EXTENSIONS = {
    "crawler.extensions.report.RunReport": 500,
    "crawler.extensions.crawlstate.CrawlState": 510,
}

# Cleaning chain, in order: the body keeps the article alone (bylines and meta lines lifted
# while their spacing still separates names), then one Unicode and script policy for every
# text field; the body, a list of blocks until then, is joined; then identity and duplicates,
# and a last gate on the schema.
ITEM_PIPELINES = {
    "pipelines.boilerplate.CleanBodyPipeline": 200,
    "pipelines.normalise.NormalisePipeline": 300,
    "pipelines.output.FinishRecordPipeline": 350,
    "pipelines.dedup.DedupPipeline": 400,
    "pipelines.output.SchemaGatePipeline": 900,
}

# Records: JSONL batches under PARKNEWS_OUTPUT_DIR/articles/ and duplicates/, UTF-8, each
# written aside and renamed into place when it is full (the spider sets FEEDS unless -o/-O or
# FEEDS is given).
FEED_EXPORT_ENCODING = "utf-8"
FEED_EXPORTERS = {"jsonlines": "crawler.feeds.TrackingJsonLinesExporter"}
FEED_STORAGES = {
    "": "crawler.feeds.AtomicFileFeedStorage",
    "file": "crawler.feeds.AtomicFileFeedStorage",
}

LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformat.ParknewsLogFormatter"
