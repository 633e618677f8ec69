"""Benchmark: matching statements against archives of 10,000, 100,000 and 1,000,000 news items.

For each size, in a fresh process (so peak memory is that size's own), the archive is generated
from multilingual templates (Russian, Ukrainian, English, Arabic, Hebrew: strikes, intercepts,
visits, aid, prisoner swaps, with varying places, names and figures, from 200 outlets over two
years), stored through the store's own `upsert_news` (indexing included) in an on-disk SQLite
file, and then statements are matched with `match_news` as live matching does.  At 10,000 and
100,000 items the same statements are also matched by brute force, `rapidfuzz.process.extract`
(default scorer) over every item's folded text, and the speed ratios are printed: against matching
within each statement's time window (as live), and against matching the same statements undated
(every item a candidate, as `communique match` and `evaluate` batch over undated files).  Latency is
per statement, after WARM_UP statements; "cold ms" is the slowest of those first ones, which
also look up the document frequencies of the archive's common words (remembered afterwards).
Peak memory is the process's maximum resident size after ingest and matching.

    .venv/bin/python bench/matching.py                        # 10k, 100k and 1M (about 10 minutes)
    .venv/bin/python bench/matching.py --sizes 10000 100000   # pick the sizes
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak_memory import peak_mb  # noqa: E402
from rapidfuzz import process  # noqa: E402
from sqlite_utils import Database  # noqa: E402

from communique.matching import MatchOptions, match_news  # noqa: E402
from communique.models import NewsItem  # noqa: E402
from communique.normalise import fold  # noqa: E402
from communique.store import open_db, transaction  # noqa: E402
from communique.store.news import upsert_news  # noqa: E402

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
OUTLETS = 200
STATEMENTS = 200
WARM_UP = 20
BRUTE_FORCE_STATEMENTS = 20
BATCH = 1000

# Place, person and weapon names as each language writes them.
PLACES = {
    "ru": ["Брянской области", "Курской области", "Белгородской области", "Харькове", "Одессе", "Херсоне",
           "Запорожье", "Донецке", "Крыму", "Севастополе", "Воронеже", "Ростове", "Краснодаре", "Орле"],
    "uk": ["Брянській області", "Курській області", "Бєлгородській області", "Харкові", "Одесі", "Херсоні",
           "Запоріжжі", "Донецьку", "Криму", "Севастополі", "Воронежі", "Ростові", "Краснодарі", "Орлі"],
    "en": ["the Bryansk region", "the Kursk region", "the Belgorod region", "Kharkiv", "Odesa", "Kherson",
           "Zaporizhzhia", "Donetsk", "Crimea", "Sevastopol", "Voronezh", "Rostov", "Krasnodar", "Oryol"],
    "ar": ["مقاطعة بريانسك", "مقاطعة كورسك", "مقاطعة بيلغورود", "خاركيف", "أوديسا", "خيرسون", "زابوريجيا",
           "دونيتسك", "القرم", "سيفاستوبول", "فورونيج", "روستوف", "كراسنودار", "أوريول"],
    "he": ["מחוז בריאנסק", "מחוז קורסק", "מחוז בלגורוד", "חרקוב", "אודסה", "חרסון", "זפוריז'יה", "דונייצק",
           "קרים", "סבסטופול", "וורונז'", "רוסטוב", "קרסנודר", "אוריול"],
}
PEOPLE = {
    "ru": ["Белоусов", "Лавров", "Песков", "Захарова", "Сырский", "Зеленский", "Шойгу", "Рябков", "Гладков"],
    "uk": ["Білоусов", "Лавров", "Пєсков", "Захарова", "Сирський", "Зеленський", "Шойгу", "Рябков", "Гладков"],
    "en": ["Belousov", "Lavrov", "Peskov", "Zakharova", "Syrskyi", "Zelensky", "Shoigu", "Ryabkov", "Gladkov"],
    "ar": ["بيلاوسوف", "لافروف", "بيسكوف", "زاخاروفا", "سيرسكي", "زيلينسكي", "شويغو", "ريابكوف", "غلادكوف"],
    "he": ["בלאוסוב", "לברוב", "פסקוב", "זכרובה", "סירסקי", "זלנסקי", "שויגו", "ריאבקוב", "גלדקוב"],
}
TEMPLATES = {
    "ru": [("Над {place} сбиты {n} беспилотников",
            "Средствами ПВО перехвачены и уничтожены {n} беспилотных летательных аппаратов над {place}, "
            "сообщили в Минобороны. Ещё {m} дронов сбиты над соседними районами."),
           ("{person} провёл переговоры в {place}",
            "{person} обсудил с партнёрами вопросы безопасности и поставки {n} единиц техники. "
            "Следующая встреча запланирована через {m} дней."),
           ("Из плена вернулись {n} военнослужащих",
            "В результате обмена, проведённого при посредничестве ОАЭ, домой вернулись {n} человек. "
            "Всего с начала года освобождены {m} пленных, заявил {person}."),
           ("Удар по объекту энергетики в {place}",
            "В результате атаки {n} дронов повреждена подстанция, без света остались {m} тысяч абонентов.")],
    "uk": [("Над {place} збито {n} безпілотників",
            "Засобами ППО перехоплено та знищено {n} ударних БпЛА над {place}, повідомили в Повітряних силах. "
            "Ще {m} дронів локаційно втрачено."),
           ("{person} провів переговори в {place}",
            "{person} обговорив з партнерами питання безпеки та постачання {n} одиниць техніки. "
            "Наступна зустріч запланована через {m} днів."),
           ("З полону повернулися {n} захисників",
            "Внаслідок обміну за посередництва ОАЕ додому повернулися {n} людей. "
            "Загалом від початку року звільнено {m} полонених, заявив {person}."),
           ("Удар по енергетичному об'єкту в {place}",
            "Внаслідок атаки {n} дронів пошкоджено підстанцію, без світла залишилися {m} тисяч абонентів.")],
    "en": [("{n} drones downed over {place}",
            "Air defences intercepted and destroyed {n} drones over {place}, the defence ministry said. "
            "Another {m} drones were shot down over neighbouring areas."),
           ("{person} holds talks in {place}",
            "{person} discussed security and the delivery of {n} units of equipment with partners. "
            "The next meeting is planned in {m} days."),
           ("{n} prisoners of war return home",
            "In an exchange mediated by the UAE, {n} servicemen returned home. "
            "{m} prisoners have been released since the start of the year, {person} said."),
           ("Strike hits energy facility in {place}",
            "An attack by {n} drones damaged a substation, leaving {m} thousand customers without power.")],
    "ar": [("إسقاط {n} مسيرة فوق {place}",
            "قالت وزارة الدفاع إن الدفاعات الجوية اعترضت ودمرت {n} طائرة مسيرة فوق {place}. "
            "وأسقطت {m} مسيرات أخرى فوق مناطق مجاورة."),
           ("{person} يجري محادثات في {place}",
            "بحث {person} مع الشركاء قضايا الأمن وتسليم {n} قطعة من المعدات، على أن يعقد الاجتماع المقبل "
            "بعد {m} أيام."),
           ("عودة {n} أسيرا في عملية تبادل",
            "بوساطة إماراتية عاد {n} عسكريا إلى بلادهم، ليصل عدد المفرج عنهم منذ بداية العام إلى {m}، "
            "بحسب {person}."),
           ("ضربة تستهدف منشأة للطاقة في {place}",
            "أدى هجوم بـ{n} مسيرة إلى تضرر محطة كهرباء فرعية وانقطاع التيار عن {m} ألف مشترك.")],
    "he": [("{n} כטב\"מים יורטו מעל {place}",
            "מערך ההגנה האווירית יירט והשמיד {n} כלי טיס בלתי מאוישים מעל {place}, כך נמסר ממשרד ההגנה. "
            "עוד {m} כטב\"מים הופלו מעל אזורים סמוכים."),
           ("{person} מקיים שיחות ב{place}",
            "{person} שוחח עם שותפים על ביטחון ועל אספקת {n} יחידות ציוד. הפגישה הבאה מתוכננת בעוד {m} ימים."),
           ("{n} שבויים חזרו הביתה בעסקת חילופין",
            "בתיווך איחוד האמירויות שבו {n} חיילים לבתיהם. מתחילת השנה שוחררו {m} שבויים, אמר {person}."),
           ("תקיפה פגעה במתקן אנרגיה ב{place}",
            "מתקפה של {n} כטב\"מים פגעה בתחנת משנה והותירה {m} אלף צרכנים ללא חשמל.")],
}
LANGS = list(TEMPLATES)


def _fill(rng: random.Random, lang: str, kind: int, slots: dict[str, object]) -> tuple[str, str]:
    title, text = TEMPLATES[lang][kind]
    values = {"place": PLACES[lang][slots["place"]], "person": PEOPLE[lang][slots["person"]],
              "n": slots["n"], "m": slots["m"]}
    return title.format(**values), text.format(**values)


def _event(rng: random.Random) -> dict[str, object]:
    return {"kind": rng.randrange(4), "place": rng.randrange(len(PLACES["en"])),
            "person": rng.randrange(len(PEOPLE["en"])), "n": rng.randint(2, 400), "m": rng.randint(2, 900)}


def news_items(count: int, seed: int = 7) -> Iterator[NewsItem]:
    """`count` news items in date order, each an event told in one of five languages by one outlet."""
    rng = random.Random(seed)
    step = SPAN / count
    for i in range(count):
        event = _event(rng)
        lang = rng.choice(LANGS)
        title, text = _fill(rng, lang, event["kind"], event)  # type: ignore[arg-type]
        outlet = rng.randrange(OUTLETS)
        yield NewsItem(source=f"outlet{outlet:03d}", guid=f"n{i}", title=title, text=text, lang=lang,
                       date=START + step * i + timedelta(seconds=rng.randrange(600)),
                       url=f"https://outlet{outlet:03d}.example/{i}")


def statements(count: int, seed: int = 11) -> list[tuple[str, datetime]]:
    """Statement texts (events in one language) dated across the archive's span."""
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        event = _event(rng)
        title, text = _fill(rng, rng.choice(LANGS), event["kind"], event)  # type: ignore[arg-type]
        result.append((f"{title}. {text}", START + SPAN * rng.random()))
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _match(db: Database, queries: list[tuple[str, datetime]], *, dated: bool = True) -> list[float]:
    """Each statement's latency, matched within its time window, or undated (`dated=False`: every item
    is a candidate, as `communique match` and `evaluate` batch over undated files)."""
    options = MatchOptions(top=20)
    latencies = []
    for text, date in queries:
        began = time.perf_counter()
        match_news(db, text, date=date if dated else None, options=options)
        latencies.append(time.perf_counter() - began)
    return latencies


def ingest_archive(db: Database, size: int) -> float:
    """Store the generated archive of `size` items as feeds do, in batches; returns items per second."""
    items = news_items(size)
    started = time.perf_counter()
    while batch := list(itertools.islice(items, BATCH)):
        with transaction(db):
            for item in batch:
                upsert_news(db, item, now=item.date or START)
    return size / (time.perf_counter() - started)


def run_one(size: int, brute_force: bool) -> dict[str, float]:
    """Ingest, then match: the first statements on a cold process (its term statistics not yet
    remembered), then STATEMENTS others as a running bot does; brute force for the same ones."""
    queries = statements(WARM_UP + STATEMENTS)
    result: dict[str, float] = {"size": size}
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "bench.db")
        result["ingest_per_s"] = ingest_archive(db, size)
        cold = _match(db, queries[:WARM_UP])
        latencies = _match(db, queries[WARM_UP:])
        undated = _match(db, queries[WARM_UP:], dated=False)
        db.conn.close()
    result.update(cold_ms=1000 * max(cold), p50_ms=1000 * statistics.median(latencies),
                  p99_ms=1000 * percentile(latencies, 0.99),
                  undated_p50_ms=1000 * statistics.median(undated), undated_p99_ms=1000 * percentile(undated, 0.99),
                  peak_mb=peak_mb())
    if brute_force:
        choices = [fold(f"{item.title}\n{item.text}") for item in news_items(size)]
        began = time.perf_counter()
        for text, _ in queries[WARM_UP:WARM_UP + BRUTE_FORCE_STATEMENTS]:
            process.extract(fold(text), choices, limit=20)
        result["brute_ms"] = 1000 * (time.perf_counter() - began) / BRUTE_FORCE_STATEMENTS
        result["indexed_ms"] = 1000 * statistics.mean(latencies[:BRUTE_FORCE_STATEMENTS])
        result["undated_ms"] = 1000 * statistics.mean(undated[:BRUTE_FORCE_STATEMENTS])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size in this process, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, brute_force=args.one <= 100_000)))
        return
    print(f"{'':>40}{'windowed':>18}{'undated':>18}")
    print(f"{'news items':>12}{'ingest/s':>10}{'cold ms':>9}{'peak MB':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'p50 ms':>9}{'p99 ms':>9}  brute force (rapidfuzz.process.extract) against windowed, undated")
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out)
        brute = ""
        if "brute_ms" in r:
            brute = (f"{r['brute_ms']:.0f} ms/statement vs {r['indexed_ms']:.1f}, {r['undated_ms']:.1f} ms: "
                     f"{r['brute_ms'] / r['indexed_ms']:.0f}x, {r['brute_ms'] / r['undated_ms']:.0f}x faster")
        print(f"{size:>12,}{r['ingest_per_s']:>10,.0f}{r['cold_ms']:>9.0f}{r['peak_mb']:>9.0f}{r['p50_ms']:>9.1f}"
              f"{r['p99_ms']:>9.1f}{r['undated_p50_ms']:>9.1f}{r['undated_p99_ms']:>9.1f}  {brute}", flush=True)


if __name__ == "__main__":
    main()
