"""Downloader middlewares of parknews: HTTP politeness and safety, charset repair, replay."""
