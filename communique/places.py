"""The regions a text names, from a small gazetteer, in every script we read."""

from __future__ import annotations

import re
import unicodedata

from communique.normalise import drop_invisible, fold, strip_marks
from communique.quantities import ARABIC_ARTICLE

# Regions that official posts count drones and strikes over, as the folded beginnings of their names
# in the languages read ("Брянской", "Bryansk", "بريانسك" and "בבריאנסק" are all Bryansk).  A
# consonant skeleton is too coarse here: Belgorod and Volgograd, Bryansk and Voronezh, Ryazan and
# "Russian" share one.  Capitals are left out: "Moscow" and "Kyiv" name governments as often as places.
GAZETTEER: dict[str, tuple[str, ...]] = {
    "Belgorod": ("belgorod", "белгород", "бєлгород", "بيلغورود", "بيلجورود", "بلغورود", "בלגורוד"),
    "Kursk": ("kursk", "курск", "курськ", "كورسك", "קורסק"),
    "Bryansk": ("bryansk", "брянск", "брянськ", "بريانسك", "בריאנסק"),
    "Voronezh": ("voronezh", "воронеж", "воронез", "فورونيج", "וורונז"),
    "Ryazan": ("ryazan", "рязан", "ريازان", "ריאזאן", "ריאזן"),
    "Tver": ("tver", "твер", "تفير"),
    "Lipetsk": ("lipetsk", "липец", "ليبيتسك", "ליפצק"),
    "Tambov": ("tambov", "тамбов", "تامبوف", "טמבוב"),
    "Smolensk": ("smolensk", "смоленс", "سمولينسك", "סמולנסק"),
    "Kaluga": ("kaluga", "калуг", "калуж", "калуз", "كالوغا", "كالوجا", "קלוגה"),
    "Oryol": ("oryol", "orel", "орл", "орел", "орёл", "اوريول", "אוריול"),
    "Rostov": ("rostov", "ростов", "روستوف", "רוסטוב"),
    "Volgograd": ("volgograd", "волгоград", "فولغوغراد", "فولجوجراد", "וולגוגרד"),
    "Leningrad": ("leningrad", "ленинград", "ленінград", "لينينغراد", "לנינגרד"),
    "Krasnodar": ("krasnodar", "краснодар", "كراسنودار", "קרסנודר"),
    "Kharkiv": ("kharkiv", "kharkov", "харьков", "харків", "харкiв", "خاركيف", "خاركوف", "חרקוב", "חרקיב"),
    "Chernihiv": ("chernihiv", "chernigov", "чернигов", "чернігів", "تشيرنيهيف", "צרניהיב"),
    "Zaporizhzhia": ("zaporizh", "zaporozh", "запорож", "запоріж", "زابوريجيا", "زابوروجيا", "זפוריז"),
    "Kherson": ("kherson", "херсон", "خيرسون", "חרסון"),
    "Odesa": ("odesa", "odessa", "одес", "اوديسا", "אודסה"),
    "Dnipropetrovsk": ("dnipropetrovsk", "dnepropetrovsk", "днепропетров", "дніпропетров", "دنيبروبيتروفسك"),
    "Mykolaiv": ("mykolaiv", "nikolaev", "николаев", "миколаїв", "ميكولايف", "מיקולאייב"),
    "Poltava": ("poltava", "полтав", "بولتافا", "פולטבה"),
    "Volyn": ("volyn", "волын", "волин", "فولين"),
}
_NAME = re.compile(r"[^\W\d_]+")
_HEBREW_PREFIXES = ("ב", "ו", "ה", "ל", "מ", "וב", "ומ", "מה", "וה")


def _name_forms(text: str) -> list[str]:
    """The folded name-like words of a text (capitalised, or Arabic or Hebrew), each also without the
    article or one-letter prefixes Arabic and Hebrew write as one word with it."""
    forms = []
    text = strip_marks(unicodedata.normalize("NFKC", drop_invisible(text)))
    for word in _NAME.findall(text):
        if not (word[0].isupper() or "\u0590" <= word[0] <= "\u06ff"):
            continue
        folded = fold(word).replace(" ", "")
        forms.append(folded)
        prefixes = ARABIC_ARTICLE if "\u0600" <= word[0] <= "\u06ff" else _HEBREW_PREFIXES
        forms.extend(folded[len(p):] for p in prefixes if folded.startswith(p) and len(folded) - len(p) >= 3)
    return forms


_PREFIX = 3  # every name in the gazetteer has at least this many letters


def _by_prefix() -> dict[str, list[tuple[str, str]]]:
    """(region, name) by the name's first letters: a word is compared with a few names, not all of them."""
    index: dict[str, list[tuple[str, str]]] = {}
    for place, names in GAZETTEER.items():
        for name in names:
            index.setdefault(name[:_PREFIX], []).append((place, name))
    return index


_BY_PREFIX = _by_prefix()


def places(text: str) -> list[str]:
    """The gazetteer's regions a text names, in the gazetteer's order."""
    found = {place for form in _name_forms(text) for place, name in _BY_PREFIX.get(form[:_PREFIX], ())
             if form.startswith(name)}
    return [place for place in GAZETTEER if place in found]


def names_other_regions(statement: list[str] | set[str], report: list[str] | set[str]) -> bool:
    """Whether a report names a region its statement does not, both naming some: then it counts over
    other regions, so it reports another statement of the same kind.

    A report of an official count copies the regions it names from the statement ("22 over Bryansk"),
    often only some of them; it does not add others.  On the real development set none of the 17 reports
    with regions on both sides names one the statement does not, while same-body counts of other days
    that share one region with the statement ("8 drones over Rostov, Bryansk..." against Bryansk,
    Ryazan...) do.  Naming none of the statement's regions is the plainest case.
    """
    return bool(statement) and bool(report) and not set(report) <= set(statement)
