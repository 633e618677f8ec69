"""Versioned schema migrations.  Each step runs once, in order, inside a transaction.

Append new steps at the end; never edit a step that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial schema",
        """
        CREATE TABLE channels (
            key TEXT PRIMARY KEY,            -- lower-case username, or id:<numeric id>
            username TEXT,
            tg_id INTEGER,
            title TEXT,
            lang TEXT,
            role TEXT NOT NULL DEFAULT 'official',
            last_message_id INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            last_error_at TEXT,
            updated_at TEXT
        );
        CREATE TABLE statements (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            ext_id TEXT NOT NULL,
            message_id INTEGER,
            date TEXT,
            text TEXT NOT NULL,
            url TEXT,
            lang TEXT,
            grouped_id INTEGER,
            forwarded_from TEXT,
            media TEXT,
            views INTEGER,
            source TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            edited_at TEXT,
            deleted_at TEXT,
            ingested_at TEXT NOT NULL,
            UNIQUE (channel, ext_id)
        );
        CREATE INDEX statements_date ON statements(date);
        CREATE INDEX statements_grouped ON statements(channel, grouped_id) WHERE grouped_id IS NOT NULL;
        CREATE TABLE statement_parts (   -- the messages a statement is made of (an album has several)
            channel TEXT NOT NULL,
            ext_id TEXT NOT NULL,
            statement_id INTEGER NOT NULL REFERENCES statements(id),
            text TEXT NOT NULL,
            deleted_at TEXT,
            PRIMARY KEY (channel, ext_id)
        );
        CREATE INDEX statement_parts_statement ON statement_parts(statement_id);
        CREATE TABLE statement_versions (
            statement_id INTEGER NOT NULL REFERENCES statements(id),
            version INTEGER NOT NULL,
            text TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (statement_id, version)
        );
        CREATE TABLE news (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,            -- outlet name
            guid TEXT NOT NULL,
            feed TEXT,
            url TEXT,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            lang TEXT,
            date TEXT,
            ingested_at TEXT NOT NULL,
            UNIQUE (source, guid)
        );
        CREATE INDEX news_date ON news(date);
        CREATE UNIQUE INDEX news_source_url ON news(source, url) WHERE url IS NOT NULL;
        CREATE TABLE matches (
            statement_id INTEGER NOT NULL REFERENCES statements(id),
            news_id INTEGER NOT NULL REFERENCES news(id),
            score REAL NOT NULL,
            method TEXT NOT NULL,
            matched_at TEXT NOT NULL,
            PRIMARY KEY (statement_id, news_id)
        );
        CREATE INDEX matches_news ON matches(news_id);
        CREATE TABLE subscribers (
            chat_id INTEGER PRIMARY KEY,
            chat_type TEXT NOT NULL DEFAULT 'private',
            title TEXT,
            timezone TEXT,
            digest_time TEXT,                -- HH:MM local time, NULL = no digest
            active INTEGER NOT NULL DEFAULT 1,  -- 0 once the bot is blocked or kicked
            paused INTEGER NOT NULL DEFAULT 0,
            edit_followups INTEGER NOT NULL DEFAULT 1,
            coverage_followups INTEGER NOT NULL DEFAULT 0,
            empty_digest INTEGER NOT NULL DEFAULT 0,
            last_digest_at TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE subscriptions (
            chat_id INTEGER NOT NULL REFERENCES subscribers(chat_id),
            kind TEXT NOT NULL CHECK (kind IN ('topic', 'keyword', 'channel')),
            value TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, kind, value)
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            dedupe_key TEXT NOT NULL,
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL,
            statement_id INTEGER,
            text TEXT NOT NULL,
            parse_mode TEXT,
            photo BLOB,
            state TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, sent, failed, skipped
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before TEXT,
            claimed_by TEXT,
            claimed_at TEXT,
            sent_at TEXT,
            message_ids TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (dedupe_key, chat_id)
        );
        CREATE INDEX outbox_pending ON outbox(state, not_before);
        CREATE TABLE digests (
            chat_id INTEGER NOT NULL,
            local_date TEXT NOT NULL,        -- the subscriber's calendar day the digest is for
            period_start TEXT,
            period_end TEXT NOT NULL,
            statements INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (chat_id, local_date)
        );
        CREATE VIRTUAL TABLE statements_fts USING fts5(terms, tokenize = "unicode61 remove_diacritics 0");
        CREATE VIRTUAL TABLE news_fts USING fts5(terms, tokenize = "unicode61 remove_diacritics 0");
        CREATE VIRTUAL TABLE news_vocab USING fts5vocab(news_fts, row);
        CREATE VIRTUAL TABLE statements_vocab USING fts5vocab(statements_fts, row);
        """,
    ),
    (
        4,
        "feed polling state",
        """
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            outlet TEXT NOT NULL,
            etag TEXT,                       -- validators for the next conditional request
            last_modified TEXT,
            last_success TEXT,               -- last poll that got a feed or a 304
            last_error TEXT,
            last_error_at TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,  -- consecutive failures (drives the backoff)
            paused INTEGER NOT NULL DEFAULT 0,       -- 1 after repeated failures, until it recovers
            next_poll TEXT,
            items INTEGER NOT NULL DEFAULT 0         -- news items this feed has added to the store
        );
        """,
    ),
    (
        5,
        "digest: find statements by fetch, edit and deletion time",
        """
        CREATE INDEX statements_ingested ON statements(ingested_at);
        CREATE INDEX statements_edited ON statements(edited_at) WHERE edited_at IS NOT NULL;
        CREATE INDEX statements_deleted ON statements(deleted_at) WHERE deleted_at IS NOT NULL;
        """,
    ),
    (
        6,
        "news: find an outlet's items of the same days without reading all its items",
        """
        CREATE INDEX news_source_date ON news(source, date);
        """,
    ),
    (
        7,
        "store-wide facts, such as which normaliser built the full-text indexes",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ),
    (
        8,
        "embedding vectors (int8, one per row) for matching across languages when embeddings are on",
        """
        CREATE TABLE news_vectors (news_id INTEGER PRIMARY KEY REFERENCES news(id), vector BLOB NOT NULL);
        CREATE TABLE statement_vectors (
            statement_id INTEGER PRIMARY KEY REFERENCES statements(id),
            vector BLOB NOT NULL
        );
        """,
    ),
    (
        9,
        "feeds: where a feed has moved for good (a 301 or 308), fetched from there instead",
        """
        ALTER TABLE feeds ADD COLUMN moved_to TEXT;
        """,
    ),
    (
        10,
        "news: one row per article (outlet + guid, or URL); near-duplicates linked, found by their headline key",
        """
        ALTER TABLE news ADD COLUMN title_key TEXT;   -- the folded headline (store.news.title_key)
        ALTER TABLE news ADD COLUMN duplicate_of INTEGER REFERENCES news(id);  -- the article this one copies
        CREATE INDEX news_title_key ON news(title_key, date) WHERE title_key IS NOT NULL;
        CREATE INDEX news_url ON news(url) WHERE url IS NOT NULL;
        DELETE FROM meta WHERE key = 'index_fingerprint';  -- reindexing fills in the headline keys
        """,
    ),
    (
        11,
        "delivery: leases of live workers, failures timed from the first, a chat's rows in order",
        """
        CREATE TABLE workers (worker TEXT PRIMARY KEY, lease_until TEXT NOT NULL);
        ALTER TABLE outbox ADD COLUMN failing_since TEXT;
        CREATE INDEX outbox_chat ON outbox(chat_id, id);
        """,
    ),
    (
        12,
        "statement parts: each message's media kind, so an album without text can say what it holds",
        """
        ALTER TABLE statement_parts ADD COLUMN media TEXT;
        """,
    ),
    (
        13,
        "the catalogue: channels, feeds and topics watched now (seeded from the configuration, changed in chat)",
        """
        CREATE TABLE catalogue (
            kind TEXT NOT NULL CHECK (kind IN ('channel', 'feed', 'topic')),
            key TEXT NOT NULL,               -- channel key, feed URL, topic name
            entry TEXT NOT NULL,             -- the entry's fields, JSON
            origin TEXT NOT NULL CHECK (origin IN ('config', 'chat')),
            position INTEGER NOT NULL,       -- order of listing: the configuration's, then additions in chat
            removed_at TEXT,                 -- removed in chat: stays removed even if the configuration lists it
            changed_by INTEGER,              -- the admin's Telegram user id, for changes made in chat
            changed_at TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        );
        """,
    ),
    (
        14,
        "subscribers: the chat's language (from its first user's Telegram language, or /language)",
        """
        ALTER TABLE subscribers ADD COLUMN language TEXT;
        """,
    ),
    (
        15,
        "related reports: news of a statement of the same kind with other figures, regions or day (not coverage)",
        """
        CREATE TABLE related (
            statement_id INTEGER NOT NULL REFERENCES statements(id),
            news_id INTEGER NOT NULL REFERENCES news(id),
            score REAL NOT NULL,             -- the capped score (under the covered threshold)
            matched_at TEXT NOT NULL,
            PRIMARY KEY (statement_id, news_id)
        );
        CREATE INDEX related_news ON related(news_id);
        """,
    ),
    (
        16,
        "matches: the covered report a report repeats in its own script, when it is covered through that one",
        """
        ALTER TABLE matches ADD COLUMN via INTEGER REFERENCES news(id);  -- NULL: covered on its own evidence
        """,
    ),
]
