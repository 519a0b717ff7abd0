"""The project's own Scrapy signals: how parknews components tell each other what happened.

Components never call each other: a sender sends with `crawler.signals.send_catch_log(signal,
**arguments)` and whoever cares connects a handler in its `from_crawler`. Each signal names its
sender and its keyword arguments.
"""

crawl_planned = object()
"""The spider, when it opens: `profiles`, the site profiles it crawls, by key."""

state_opened = object()
"""The crawl state extension, when the spider opens: `store`, the run's StateBackend. Not sent
when state is disabled."""

list_page_read = object()
"""The spider, for each list page it read: `site` (key), `entries` (article links on it) and
`family` (the CMS family it was read as)."""

failure = object()
"""Anyone, for a failed request or an unusable page or record: `site` (key or None), `url`,
`kind` (e.g. "http_404", "not_an_article"), `detail` (one line) and `unanswered` (True when no
response came back at all: a timeout, a reset)."""

walk_ended = object()
"""The spider, when a section's walk reached its end (its last list page, or pages of known
articles): `walk`, (site key, URL of the section's first list page)."""

article_unfetched = object()
"""The spider, when an article found on a list could not be fetched: `walk`, `url` and
`status` (the HTTP status, or None when nothing answered)."""

crawl_idle = object()
"""The shared frontier (crawler.frontier), when a crawl shared by several workers is over for
now: its queue is empty and every worker idle (none died: then nothing more is started). A
handler that starts more work raises DontCloseSpider. Without a shared crawl, Scrapy's own
`spider_idle` says the same."""

state_failed = object()
"""Anyone who finds the crawl state or the shared frontier unusable in the middle of a run (a
Redis server gone, a database that cannot be written): `message`, one line naming it and the
problem. The crawl state extension logs it and stops the run (exit status 65); the next run
picks up what this one did not write."""

record_to_commit = object()
"""The dedup pipeline, for each record on its way to a feed: `row`, what the state store
keeps of it once the file holding it is in place (`StateStore.commit_written`)."""

batch_ready = object()
"""The output storage, when a batch file is whole on disk but not yet under its final name:
`path` (the final name, absolute) and `urls` (the URLs of its records, in order). A handler
returns None when the file may be put in place, or a message saying why not: the file is
then dropped and the batch counts as not written."""

batch_committed = object()
"""The crawl state extension, when an output file's records are in the state: `keys`, their
article keys."""

output_failed = object()
"""The crawl state extension, when records could not be written or committed: `message`."""

run_judged = object()
"""The run report, once the run is over and judged: `report` (the run report as written to
output/runs/) and `exit_status` (int, see crawler.extensions.report.ExitStatus)."""

shared_run_closed = object()
"""The crawl state extension of the worker that closes a run shared by several workers (the
last to leave): `report` (the merged report, as written to output/runs/<run>.json) and
`exit_status`, the run's verdict on the sum of what every worker did."""
