"""The parknews Scrapy project: settings, spider, site profiles, record and extraction."""
