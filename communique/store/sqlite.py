"""The one SQLite library every connection of the process uses.

sqlite-utils picks pysqlite3 when it is installed (a dependency of communique on Linux x86-64, where its
wheel bundles SQLite 3.51) and the interpreter's sqlite3 otherwise; every connection here comes from the
same module.  Two copies of SQLite in one process must never open the same file: POSIX locks belong to the
process, so a file closed by one copy drops the locks the other holds on it.  Each module's exceptions are
its own classes too, so `except sqlite3.Error` only catches what this module raises.

The newer SQLite is for speed: on the 100,000-item benchmark (`bench/matching.py`) an undated statement
takes about a tenth less than on SQLite 3.40 (Debian 12's: 22 ms against 24), with the same results.
"""

from sqlite_utils.utils import sqlite3

__all__ = ["sqlite3"]
