"""Matching statements and news: candidates from FTS5, then a re-ranking score in [0, 1]."""

from communique.matching.matcher import COVERED_THRESHOLD, MatchOptions, match_news, match_statements

__all__ = ["COVERED_THRESHOLD", "MatchOptions", "match_news", "match_statements"]
