"""Asyncio SDK for the HighLevel Contacts API v2."""

__version__ = "0.1.0"
