"""Configuration is validated at start; a bad file names the field and what is wrong."""

from __future__ import annotations

import pytest

from communique.errors import ConfigError, MissingCredentials
from communique.settings import Secrets, load_settings, parse_settings


def test_the_shipped_configuration_is_valid(settings):
    assert settings.channel("mod_russia").role == "official"
    assert settings.topic("air-defence") is not None
    assert all(f.url.startswith("https://") for f in settings.feeds)
    assert settings.give_up_hours == 24


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"channel": [{"username": "mod_russia", "role": "offical"}]},
         "channel[0].role: must be one of official, news (got 'offical')"),
        ({"channel": [{"title": "no name"}]}, "channel[0].username: is required"),
        ({"channel": [{"username": "a b"}]}, "channel[0].username: is not a Telegram username"),
        ({"feed": [{"url": "ftp://x", "outlet": "X"}]}, "feed[0].url: must start with"),
        ({"feed": [{"url": "https://x", "outlet": "X", "interval": 5}]}, "feed[0].interval: must be at least 30"),
        ({"digest": {"time": "25:00"}}, "digest.time: must be HH:MM"),
        ({"digest": {"timezone": "Mars/Olympus"}}, "digest.timezone: is not an IANA time zone"),
        ({"admins": ["alice"]}, "admins: must be a list of numeric Telegram user ids"),
        ({"topic": [{"name": "x"}]}, "topic[0].keywords: is required"),
        ({"chanel": []}, "chanel: unknown field"),
        ({"delivery": {"give_up_hours": 0}}, "delivery.give_up_hours: must be more than 0 (got 0)"),
        ({"feed": [{"url": "https://x", "outlet": "X"}, {"url": "https://x", "outlet": "Y"}]},
         "feed[1]: 'https://x' is listed twice"),
    ],
)
def test_a_bad_field_is_named_with_the_problem(document, message):
    with pytest.raises(ConfigError) as raised:
        parse_settings(document, "communique.toml")
    assert str(raised.value).startswith("communique.toml: ")
    assert message in str(raised.value)


def test_unreadable_or_invalid_toml_is_reported_with_the_path(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("admins = [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match=r"missing\.toml: cannot read"):
        load_settings(tmp_path / "missing.toml")


def test_secrets_come_from_the_environment_only():
    secrets = Secrets.from_env({"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_API_ID": "42", "TELEGRAM_API_HASH": "h"})
    assert secrets.require_bot() == "123:abc"
    assert secrets.require_user_client() == (42, "h")
    with pytest.raises(ConfigError, match="TELEGRAM_API_ID must be the numeric app id"):
        Secrets.from_env({"TELEGRAM_API_ID": "abc"})


def test_a_missing_token_names_the_variable_and_points_to_the_demo():
    with pytest.raises(MissingCredentials) as raised:
        Secrets.from_env({}).require_bot()
    assert "TELEGRAM_BOT_TOKEN" in str(raised.value)
    assert "communique demo" in str(raised.value)


def test_a_channel_given_by_its_marked_bot_api_id_links_to_its_bare_id():
    settings = parse_settings({"channel": [{"id": -1001234567890, "title": "Private"}]})
    assert settings.channels[0].key == "id:1234567890"
    assert settings.channel_by_id(1234567890) is settings.channels[0]
