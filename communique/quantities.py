"""Figures with the things they count, read from a text in any language we read: "46 drones",
"сорока шести беспилотников", "ستة وأربعين مسيرة", "30-40 %", "1.2 million"; the discrepancy check
(`communique.discrepancy`) compares them.  A figure counts only with a kind named next to it (or a
table's label), from a small multilingual lexicon of kinds; dates, times, designations (Х-101,
F-16) and ordinals are not figures."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from communique.i18n import N_
from communique.normalise import dominant_script, drop_invisible, fold, strip_marks
from communique.numbers import KNOWN_LANGUAGES, LANGUAGES, join_digit_groups, lexicon_of, read_numbers

UNITS = {"percent": "%", "km": " km"}
# The counted things as a report line names them (translated where shown).
KIND_NAMES = {"drones": N_("drones"), "missiles": N_("missiles"), "tanks": N_("tanks"), "militants": N_("militants"),
              "killed": N_("killed"), "injured": N_("injured"), "prisoners": N_("prisoners"),
              "soldiers": N_("soldiers"), "helicopters": N_("helicopters"), "aircraft": N_("aircraft"),
              "ships": N_("ships"), "rocket launchers": N_("rocket launchers"),
              "artillery systems": N_("artillery systems"), "armoured vehicles": N_("armoured vehicles")}

# Folded word prefixes of each kind of counted thing, in the languages read.  A word names the kind
# when it starts with one of them (Arabic words also after the article "ال").
_KINDS: dict[str, tuple[str, ...]] = {
    "drones": ("drone", "uav", "uas", "unmanned", "uncrewed", "shahed", "беспилот", "бпла", "дрон", "безпілот",
               "مسير", "درون", "כטב", "מלט", "רחפ", "droni", "dron", "drohne", "insansız"),
    "missiles": ("missile", "rocket", "ракет", "صاروخ", "صواريخ", "صاروخا", "טיל", "רקט", "missil", "rakiet",
                 "roket", "füze"),
    "tanks": ("tank", "танк", "دباب", "טנק"),
    "militants": ("terrorist", "terörist", "militant", "fighter", "боевик", "террорист", "бойовик", "терорист",
                  "ارهابي", "مسلح", "מחבל"),
    "killed": ("killed", "dead", "death", "fatalit", "погиб", "убит", "загибл", "загин", "قتيل", "قتلى", "شهيد",
               "شهداء", "הרוג", "נהרג"),
    "injured": ("injur", "wounded", "ранен", "пострадав", "поранен", "جريح", "جرحى", "مصاب", "פצוע", "נפצע"),
    "prisoners": ("prisoner", "pows", "военнопленн", "пленн", "військовополонен", "полонен", "اسير", "اسرى",
                  "אסיר", "שבוי"),
    "soldiers": ("soldier", "troop", "servicem", "военнослужащ", "солдат", "військовослужбов", "особового",
                 "جندي", "جنود", "חייל"),
    "helicopters": ("helicopter", "вертолет", "гелікоптер", "مروحي", "מסוק"),
    "aircraft": ("aircraft", "warplane", "jets", "самолет", "літак", "طائرات", "طايرات", "طايره", "طائره",
                 "מטוס"),
    "ships": ("ship", "vessel", "boat", "usv", "корабл", "катер", "سفين", "زورق", "زوارق", "قارب", "قوارب", "ספינ"),
    "rocket launchers": ("mlrs", "launcher", "рсзв", "рзсв", "реактивн", "راجم", "منصات", "משגר"),
    "artillery systems": ("artillery", "артиллер", "артилер", "مدفعي"),
    "armoured vehicles": ("armored", "armoured", "бронир", "броньован", "مدرع"),
    "percent": ("percent", "процент", "відсот", "بالمئه", "بالمايه", "אחוז"),
    "km": ("km", "kilomet", "км", "километр", "кілометр", "كم$", "كيلومتر", "קמ$", "קילומטר"),
}
# A prefix ending in "$" is a whole word: "كم" is "km", "كما" is "also".
# Words that make the kind before them more specific: "طائرات بدون طيار" (aircraft without a pilot) and
# "طائرة مسيرة" are drones, "uncrewed surface vessels" are boats.
_SPECIFIC_AFTER = {"aircraft": ("drones", ("مسير", "طيار", "беспилот", "безпілот")),
                   "drones": ("ships", ("surface",)),
                   "missiles": ("rocket launchers", ("launcher",))}
ARABIC_ARTICLE = ("وال", "بال", "ال", "و")
_APPROXIMATE = frozenset("""about around nearly almost over more than some approximately roughly least up exceeded
    exceeding exceed surpassed около почти более свыше порядка примерно больше близько майже понад приблизно
    більше біля نحو قرابه حوالي اكثر يقارب زهاء ما يزيد כ כמעט יותר מעל כמה""".split())
_WINDOW_AFTER = 4
_LABEL_WORDS = 3
_NO_NUMBER = re.compile(
    r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"  # dates: 24.02.22
    r"|\b\d{1,2}:\d{2}\b"  # times: 23:30
    r"|(?<=[A-Za-zА-Яа-яЁёІіЇїЄєҐґ])-?\d+"  # designations: Х-101, F-16, Su34 (not Arabic "و13": "and 13")
    r"|\d+(?:-?(?:й|я|е|го|ї|ма|th|st|nd|rd|ème|e)\b)")  # ordinals: 5-й, 110th
_TOKEN = re.compile(
    r"(?P<lo>\d{1,15}(?:[.,]\d+)?)\s*[-–—]\s*(?P<hi>\d{1,15}(?:[.,]\d+)?)(?P<rpct>\s*%)?"
    r"|\d{16,}"  # no count: an identifier, a phone number (and no float holds it exactly)
    r"|(?P<plus>\+\s*)?(?P<num>\d+(?:[.,]\d+)?)(?P<pct>\s*%)?"
    r"|(?P<word>[^\W\d_]+(?:['’ʼ\"״׳][^\W\d_]+)*)"
    r"|(?P<stop>[.,،;:!?()\[\]«»\"“”‒–—|\n]|-\s)")


_ACRONYM_MARKS = re.compile("[\"״׳]")


@dataclass(slots=True)
class Number:
    lo: float
    hi: float
    approximate: bool = False
    percent: bool = False
    from_words: bool = False
    change: bool = False  # "+1 040": the day's change after a running total

    @property
    def text(self) -> str:
        """As shown: "46", "30–40", "1.5"."""
        return _show(self.lo) if self.lo == self.hi else f"{_show(self.lo)}–{_show(self.hi)}"


def _show(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A figure and what it counts."""

    kind: str
    number: Number


def _tokens(text: str, lang: str | None = None) -> list[object]:
    """The text as numbers (`Number`), folded words (str) and stops (None); number words are read in
    `lang` when it is known, else in every language read."""
    text = strip_marks(unicodedata.normalize("NFKC", drop_invisible(text)))
    text = join_digit_groups(_NO_NUMBER.sub(" | ", text))
    raw: list[object] = []
    for m in _TOKEN.finditer(text):
        if m.group("lo") is not None:
            lo, hi = _float(m.group("lo")), _float(m.group("hi"))
            if lo < hi:
                raw.append(Number(lo, hi, percent=bool(m.group("rpct"))))
            else:  # "6-7" written backwards is no range: two figures, take neither
                raw.append(None)
        elif m.group("num") is not None:
            value = _float(m.group("num"))
            raw.append(Number(value, value, percent=bool(m.group("pct")), change=bool(m.group("plus"))))
        elif m.group("word") is not None:
            raw.extend(fold(_ACRONYM_MARKS.sub("", m.group("word"))).split())  # "מל״ט", "כטב\"ם": one word
        else:
            raw.append(None)
    return _read_words(raw, lexicon_of(_number_languages(lang, raw)))


_SCRIPT_LANGUAGES = {"latin": ("en",), "cyrillic": ("ru", "uk"), "arabic": ("ar",), "hebrew": ("he",)}


def _number_languages(lang: str | None, tokens: list[object]) -> tuple[str, ...]:
    """The languages whose number words a text is read in: its own, or else those of its script (the
    Turkish "on", ten, is an English word)."""
    if lang in KNOWN_LANGUAGES:
        return (lang,)
    return _SCRIPT_LANGUAGES.get(dominant_script([t for t in tokens if isinstance(t, str)]), LANGUAGES)


def _float(text: str) -> float:
    return float(text.replace(",", "."))


def _read_words(raw: list[object], words: dict[str, int]) -> list[object]:
    """Number words read as values, and a figure followed by "thousand" or "million" multiplied."""
    out: list[object] = []
    run: list[str] = []

    def flush() -> None:
        for word in read_numbers(run, words) if any(w in words or w[1:] in words for w in run) else run:
            if word.isdigit():
                out.append(Number(int(word), int(word), from_words=True))
            else:
                out.append(word)
        run.clear()

    for token in raw:
        if isinstance(token, str):
            run.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return _combine(out)


_MULTIPLIERS = (1000, 10**6, 10**9)
_RANGE_FROM = frozenset({"from", "between", "от", "від", "من", "בין"})
_RANGE_TO = frozenset({"to", "and", "до", "الى", "و", "ל"})
_JOINERS = frozenset({"و", "and", "и", "і", "й"})


def _combine(tokens: list[object]) -> list[object]:
    """"1.2 million" and "46 thousand" as one figure; "مليون و223 ألفا و90" as 1223090."""
    out: list[object] = []
    for token in tokens:
        last = out[-1] if out else None
        if (isinstance(token, Number) and token.from_words and token.lo in _MULTIPLIERS
                and isinstance(last, Number) and not last.from_words and last.lo < 1000):
            out[-1] = Number(last.lo * token.lo, last.hi * token.lo, last.approximate, last.percent,
                              from_words=True)
            continue
        out.append(token)
    out = _spelled_ranges(out)
    # Arabic adds the parts with "و": a composed figure, "و", and a smaller figure.
    joined: list[object] = []
    for token in out:
        if isinstance(token, Number) and len(joined) >= 2 and _adds(joined[-2], joined[-1], token):
            total = joined[-2].lo + token.lo  # type: ignore[union-attr]
            joined[-2:] = [Number(total, total, from_words=True)]
        elif isinstance(token, Number) and joined and _adds(joined[-1], "", token):  # "34 ألفا 207"
            total = joined[-1].lo + token.lo  # type: ignore[union-attr]
            joined[-1] = Number(total, total, from_words=True)
        else:
            joined.append(token)
    return joined


def _spelled_ranges(tokens: list[object]) -> list[object]:
    """"from 40 to 50", "от 40 до 50", "بين 40 و50" as the range 40-50."""
    out: list[object] = []
    for token in tokens:
        if (isinstance(token, Number) and len(out) >= 3 and isinstance(out[-1], str) and out[-1] in _RANGE_TO
                and isinstance(out[-2], Number) and isinstance(out[-3], str) and out[-3] in _RANGE_FROM
                and out[-2].hi < token.lo):
            low = out[-2]
            out[-3:] = [Number(low.lo, token.hi, percent=token.percent)]  # type: ignore[union-attr]
        else:
            out.append(token)
    return out


def _adds(composed: object, joiner: object, part: Number) -> bool:
    """Whether `part` continues a figure composed with number words ("مليون" "و" "223 ألفا", "11 ألفا"
    "و" "577"), after a joiner or none ("")."""
    return (isinstance(composed, Number) and composed.from_words and isinstance(joiner, str)
            and (joiner in _JOINERS or joiner == "")
            and composed.lo == composed.hi and composed.lo >= 1000 and composed.lo % 1000 == 0
            and part.lo == part.hi and part.lo < _scale(composed.lo))


def _scale(value: float) -> float:
    """The unit of a composed figure's last part: 1223000 -> 1000, 1000000 -> 1000000."""
    scale = 1000.0
    while value % (scale * 1000) == 0:
        scale *= 1000
    return scale


def _kind_of(word: str) -> str | None:
    spellings = [word, *(word[len(a):] for a in ARABIC_ARTICLE if word.startswith(a) and len(word) - len(a) >= 3)]
    for kind, prefixes in _KINDS.items():
        for spelling in spellings:
            if any(spelling == p[:-1] if p.endswith("$") else spelling.startswith(p) for p in prefixes):
                return kind
    return None


def read_quantities(text: str, lang: str | None) -> tuple[list[Quantity], list[Number]]:
    """The figures of a text that say what they count, and all its figures."""
    tokens = _tokens(text, lang)
    found: list[Quantity] = []
    last = -10
    for i, token in enumerate(tokens):
        if not isinstance(token, Number):
            continue
        token.approximate = any(isinstance(t, str) and t in _APPROXIMATE for t in tokens[max(0, i - 2):i])
        kind = "percent" if token.percent else _kind_after(tokens, i) or _kind_before(tokens, i)
        if kind is None and token.change and i - last <= 2:  # "танків ‒ 11 134 (+4)": four tanks too
            kind = found[-1].kind
        if kind is not None:
            found.append(Quantity(kind, token))
            last = i
    return found, [t for t in tokens if isinstance(t, Number)]


def _kind_after(tokens: list[object], i: int) -> str | None:
    """The kind named by the words right after a figure, before any other figure or stop."""
    words = []
    for token in tokens[i + 1:i + 1 + _WINDOW_AFTER]:
        if not isinstance(token, str):
            break
        words.append(token)
    for j, word in enumerate(words):
        kind = _kind_of(word)
        if kind is None:
            continue
        specific, qualifiers = _SPECIFIC_AFTER.get(kind, (None, ()))
        if any(w.startswith(qualifiers) for w in words[j + 1:j + 3]):
            return specific
        return kind
    return None


def _kind_before(tokens: list[object], i: int) -> str | None:
    """A table's kind before its figure: "танків ‒ 11 515", "бойових броньованих машин ‒ 23 865",
    "drones: 46": the words between two stops, the second right before the figure."""
    j = i - 1
    while j >= 0 and isinstance(tokens[j], str) and tokens[j] in _APPROXIMATE:
        j -= 1
    if j < 1 or tokens[j] is not None:
        return None
    label: list[str] = []
    start = j - 1
    while start >= 0 and len(label) < _LABEL_WORDS and isinstance(tokens[start], str):
        label.append(tokens[start])  # type: ignore[arg-type]
        start -= 1
    if not label or (start >= 0 and tokens[start] is not None):
        return None
    return next((kind for kind in map(_kind_of, label) if kind is not None), None)


def agree(a: Number, b: Number) -> bool:
    """Whether two figures may be the same: equal, overlapping ranges, or one a rounding of the other
    (by two digits or more, or by one when it is marked approximate: "about 50" is 46, "50" is not),
    or within a tenth of each other when one is marked approximate ("more than 1.2 million")."""
    if _contains(a, b):
        return True
    if a.lo != a.hi or b.lo != b.hi:
        return False
    approximate = a.approximate or b.approximate
    x, y = a.lo, b.lo
    if approximate and abs(x - y) <= 0.1 * max(x, y):
        return True
    for rounded, exact in ((x, y), (y, x)):
        unit = 10 if approximate else 100
        while unit <= rounded and rounded % unit == 0:
            if round(exact / unit) * unit == rounded:
                return True
            unit *= 10
    return False


def _contains(a: Number, b: Number) -> bool:
    """Equal figures, or a range and a figure in it, or overlapping ranges."""
    return a.lo <= b.hi and b.lo <= a.hi


def mentions(numbers: list[Number], figure: Number) -> bool:
    """Whether a text gives the figure anywhere, with or without what it counts (approximately when
    either is marked approximate)."""
    return any(agree(n, figure) if n.approximate or figure.approximate else _contains(n, figure)
               for n in numbers)


def not_counting_else(quantities_: list[Quantity], figures: list[Number], kind: str) -> list[Number]:
    """A text's figures but those that count another kind: "31 – над Курской" may be part of the 46
    drones, "103 военнослужащих" is not a count of prisoners."""
    other = {id(q.number) for q in quantities_ if q.kind != kind}
    return [f for f in figures if id(f) not in other]


def lead(figures: list[Number]) -> Number | None:
    """A text's figure of one kind: its only one, or the total it leads with ("116 drones: 29 over
    Ryazan, 27 ..."); None when it gives several otherwise (launched and downed, say)."""
    if len({f.text for f in figures}) == 1:
        return figures[0]
    first = figures[0]
    return first if all(f.text == first.text or first.lo > f.hi for f in figures[1:]) else None
