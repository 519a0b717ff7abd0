"""Scrapy commands of parknews (COMMANDS_MODULE)."""
