"""Communique: official Telegram statements, the news that reports them, and the people who follow both."""

__version__ = "0.1.0"
