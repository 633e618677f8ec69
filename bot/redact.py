"""Keep the bot token out of logs.

Bot API URLs carry the token (`.../bot<token>/sendMessage`), and PTB logs its base URL at
DEBUG when a Bot is created.  httpx's request lines are muted by `configure_logging`; this
filter is the second line: on every logger of the HTTP stack and of the bot, any record
whose message, arguments or traceback contain the token's secret part has it replaced.
"""

from __future__ import annotations

import logging

REDACTED = "<token>"
# The families of loggers that could see a Bot API URL: PTB, the HTTP stack, the job scheduler and ours.
FAMILIES = ("telegram", "httpx", "httpcore", "apscheduler", "communique", "bot", "monitors")


class TokenFilter(logging.Filter):
    """Rewrites records that mention the secret; never drops a record."""

    def __init__(self, token: str) -> None:
        super().__init__()
        # The part after "id:" is the secret; the numeric bot id alone is public.
        self.secret = token.partition(":")[2] or token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, REDACTED), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, REDACTED)
        return True


def install(token: str) -> TokenFilter:
    """Attach a filter for `token` to every logger of those families (a filter on a logger sees only the
    records created on that logger, not its children's, so each existing logger gets one)."""
    token_filter = TokenFilter(token)
    existing = [name for name in logging.root.manager.loggerDict if name.split(".")[0] in FAMILIES]
    for name in sorted({*FAMILIES, *existing}):
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenFilter) and f.secret == token_filter.secret for f in logger.filters):
            logger.addFilter(token_filter)
    return token_filter
