"""Scrapy settings of parknews. Project settings are grouped under PARKNEWS_<GROUP>_<NAME>."""

BOT_NAME = "parknews"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# Who we are: the User-Agent names the project and where to reach its operators.
PARKNEWS_CONTACT_URL = "https://github.com/parknews/parknews"
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
PARKNEWS_RETRY_BASE_DELAY = 1.0
PARKNEWS_RETRY_MAX_DELAY = 60.0
# Resets are retried by the retry policy alone, not also silently by the connection pool.
DOWNLOAD_HANDLERS = {
    "http": "crawler.http.NoSilentResendDownloadHandler",
    "https": "crawler.http.NoSilentResendDownloadHandler",
}
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

DOWNLOADER_MIDDLEWARES = {
    # No request leaves the allowed domains, retries and their redirects included.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.http.StrictOffsiteMiddleware": 50,
    # Retries wait: Retry-After when the server says, else exponential backoff.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.http.BackoffRetryMiddleware": 550,
    # Above RedirectMiddleware (600): loops and off-site redirects end as reported failures.
    "crawler.http.RedirectGuardMiddleware": 610,
    # Below HttpCompressionMiddleware (590), so it sees decompressed bodies.
    "crawler.encoding.CharsetRepairMiddleware": 580,
    "crawler.replay.ReplayMiddleware": 950,
    "crawler.replay.RecordMiddleware": 960,
}

# Cleaning chain, in order: the body keeps the article alone (bylines and meta lines lifted
# while their spacing still separates names), then one Unicode and script policy for every
# text field.
EXTENSIONS = {
    "crawler.report.RunReport": 500,
    # After the report, so the run logged in the state carries the report's verdict.
    "crawler.incremental.CrawlState": 510,
}

# Incremental runs: the state database remembers the articles written; in a section whose
# last walk was complete, a list page whose articles are all known ends the paging, after
# this many more such pages.
PARKNEWS_STATE_ENABLED = True
PARKNEWS_STATE_PATH = "state/parknews.sqlite3"
PARKNEWS_INCREMENTAL_RECHECK_PAGES = 0
# An article link that answered 404/410 is not asked for again for this many days.
PARKNEWS_STATE_GONE_RETRY_DAYS = 7.0
# Records per output file; each finished file is committed to the state as it closes, so a
# killed run loses at most one unfinished file, which the next run writes again.
PARKNEWS_OUTPUT_BATCH_ITEMS = 100

# When a run counts as failed (exit status 1): a site with at least PARKNEWS_RUN_MIN_ERRORS
# failed requests or unusable pages making up more than PARKNEWS_RUN_MAX_ERROR_SHARE of its
# requests, or with fewer records holding title, date and body than the coverage share.
PARKNEWS_RUN_MAX_ERROR_SHARE = 0.1
PARKNEWS_RUN_MIN_ERRORS = 3
PARKNEWS_RUN_MIN_FIELD_COVERAGE = 0.9

ITEM_PIPELINES = {
    "pipelines.boilerplate.CleanBodyPipeline": 200,
    "pipelines.normalise.NormalisePipeline": 300,
    "pipelines.dedup.DedupPipeline": 400,
    "pipelines.output.SchemaGatePipeline": 900,
}
# Records whose script-invariant texts are at least this similar (estimated Jaccard of
# character shingles) are copies of one article.
PARKNEWS_DEDUP_THRESHOLD = 0.6
PARKNEWS_CLEAN_LEARN_TEMPLATES = True
PARKNEWS_SCRIPT_KEEP_ORIGINAL = False
PARKNEWS_SCRIPT_SITE_OVERRIDES: dict[str, str] = {}

# Records: one JSONL file per run under PARKNEWS_OUTPUT_DIR/articles/, UTF-8, written aside and
# renamed into place when the run closes (the spider sets FEEDS unless -o/-O or FEEDS is given).
PARKNEWS_OUTPUT_DIR = "output"
FEED_EXPORT_ENCODING = "utf-8"
FEED_STORAGES = {
    "": "crawler.feeds.AtomicFileFeedStorage",
    "file": "crawler.feeds.AtomicFileFeedStorage",
}

# Replay and recording: a WARC archive to answer every request from, or to record into.
PARKNEWS_REPLAY_ARCHIVE = ""
PARKNEWS_RECORD_ARCHIVE = ""

LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformat.ParknewsLogFormatter"

# A cron job needs no control port listening on the machine.
REMOTE_CONTROL_ENABLED = False
