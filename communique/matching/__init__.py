"""Matching statements and news: candidates from FTS5, then a re-ranking score in [0, 1]; near-duplicates."""

from communique.matching.duplicates import duplicate_of, group_near_duplicates, near_duplicate
from communique.matching.matcher import COVERED_THRESHOLD, MatchOptions, match_news, match_statements

__all__ = ["COVERED_THRESHOLD", "MatchOptions", "duplicate_of", "group_near_duplicates", "match_news",
           "match_statements", "near_duplicate"]
