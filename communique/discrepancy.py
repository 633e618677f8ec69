"""Where a report's figures, places or day differ from the statement it reports.

An official post says 46 drones over Belgorod and Kursk; an outlet reports 31 drones, or Bryansk,
or another night.  `differences` reads both texts and names what differs, and names nothing when
it is unsure: a warning a journalist cannot trust is worse than none, so every rule here gives up
rather than guess.

- **Figures** are read as values whatever their script or form ("46", "1 230", "сорок шесть",
  "ستة وأربعين", "forty-six", "1.2 million", "مليون و223 ألفا"; `communique.numbers`), with ranges
  ("30-40"), percentages and kilometres.  A figure counts only with the thing it counts, found
  next to it in a small multilingual lexicon of kinds (drones: "drones", "БПЛА", "беспилотников",
  "مسيرة", "כטב״ם"; missiles, tanks, killed, injured, soldiers...).  Two figures are compared only
  when each text gives one figure of that kind (or leads with a total: "116 drones: 29 over
  Ryazan..."), they are less than ten times apart (a day's losses are not a running total), and
  neither text gives the other's figure anywhere but as a count of something else (a report of
  "31 over Kursk" out of 46 is partial, not different).  Round figures and figures marked as
  approximate ("about", "более", "نحو", "more than") agree with any figure they round, or within
  a tenth.
- **Places** are the regions of a small gazetteer (those official counts name), known by the folded
  beginnings of their names in each language and script, so "Брянской", "Bryansk", "بريانسك" and
  "בבריאנסק" are one place (a consonant skeleton is too coarse here: Belgorod and Volgograd share
  one).  A report that names a region the statement does not differs.
- **Days**: a report about a later day than the statement's (its date and the days it names;
  `communique.mentioned_dates`).  Earlier days are background ("on 6 January in Paris...").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from communique.i18n import ENGLISH, Tr
from communique.mentioned_dates import RECENT, mentioned_days
from communique.normalise import terms
from communique.numbers import KNOWN_LANGUAGES
from communique.places import names_other_regions, places
from communique.quantities import KIND_NAMES, UNITS, agree, lead, mentions, not_counting_else, read_quantities


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing the report gives otherwise than the statement: figures as written for display."""

    statement: str
    report: str
    kind: str  # what is counted ("drones", "killed", ...), or "place", or "day"

    def as_dict(self) -> dict[str, str]:
        return {"statement": self.statement, "report": self.report, "kind": self.kind}

    def describe(self, t: Tr = ENGLISH) -> str:
        """"reports 31 drones (statement: 46)", in `t`'s language."""
        unit = UNITS.get(self.kind)
        if self.kind in ("place", "day") or unit is not None:
            unit = unit or ""
            return t.gettext("reports {report} (statement: {statement})").format(
                report=self.report + unit, statement=self.statement + unit)
        kind = t.gettext(KIND_NAMES[self.kind]) if self.kind in KIND_NAMES else self.kind
        return t.gettext("reports {report} {kind} (statement: {statement})").format(
            report=self.report, kind=kind, statement=self.statement)


_RATIO = 10
"""Figures more than this many times apart count different things (a day's losses, a running total)."""


def _figure_differences(statement: str, statement_lang: str | None, report: str,
                        report_lang: str | None) -> list[Difference]:
    said, said_values = read_quantities(statement, statement_lang)
    reported, reported_values = read_quantities(report, report_lang)
    found = []
    for kind in dict.fromkeys(q.kind for q in reported):
        ours = [q.number for q in said if q.kind == kind]
        s = lead(ours) if ours else None
        r = lead([q.number for q in reported if q.kind == kind])
        if s is None or r is None or max(s.hi, r.hi) > _RATIO * max(min(s.lo, r.lo), 1):
            continue
        if (agree(s, r) or mentions(not_counting_else(said, said_values, kind), r)
                or mentions(not_counting_else(reported, reported_values, kind), s)):
            continue
        found.append(Difference(s.text, r.text, kind))
    return found


def _place_differences(statement: str, report: str) -> list[Difference]:
    said, reported = places(statement), places(report)
    if not names_other_regions(said, reported):
        return []
    return [Difference(", ".join(said), ", ".join(reported), "place")]


SAME_DAY = timedelta(days=1)


def _day_differences(statement: str, report: str, statement_date: date | None,
                     report_date: date | None) -> list[Difference]:
    """A report that names a later day than the statement's, and not the statement's own (nor only its
    dateline: the report's publication day)."""
    reference = statement_date or report_date
    if reference is None:
        return []
    said = set(mentioned_days(terms(statement, keep_stopwords=True), reference))
    if statement_date is not None:
        said.add(statement_date)
    if not said:
        return []
    named = [d for d in mentioned_days(terms(report, keep_stopwords=True), reference)
             if min(abs(d - s) for s in said) <= RECENT]
    if any(min(abs(d - s) for s in said) <= SAME_DAY for d in named):
        return []
    later = [d for d in named if d > max(said) + SAME_DAY and d != report_date]
    if not later:
        return []
    return [Difference(_day(max(said)), _day(later[0]), "day")]


def _day(day: date) -> str:
    return f"{day.day} {day.strftime('%B')}"


def _language(code: str | None) -> str | None:
    """A language code as the number words know it; None when not given, "" when not read."""
    if not code:
        return None
    code = code.split("-")[0].lower()
    return code if code in KNOWN_LANGUAGES else ""


def differences(statement_text: str, statement_lang: str | None, report_text: str, report_lang: str | None, *,
                statement_date: date | None = None, report_date: date | None = None) -> list[Difference]:
    """What a report of the statement gives otherwise: figures, then places, then the day.  Empty when
    they agree, and when unsure (a language whose words are not read, figures that may count different
    things)."""
    statement_lang, report_lang = _language(statement_lang), _language(report_lang)
    if statement_lang == "" or report_lang == "":
        return []
    return [*_figure_differences(statement_text, statement_lang, report_text, report_lang),
            *_place_differences(statement_text, report_text),
            *_day_differences(statement_text, report_text, statement_date, report_date)]
