"""Spiders of the parknews project."""
