"""app/dates.py: times stored in UTC read on a person's clock, the zone named; dates are that place's day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.dates import (
    current_zone,
    format_date,
    format_datetime,
    format_timeago,
    iso_instant,
    offset_label,
    shown_in,
    zone_named,
    zone_names,
)

BERLIN, NEW_YORK, TOKYO = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
NOON_ISH = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)


def test_a_utc_time_reads_on_the_given_clock_with_the_zone_named():
    assert format_datetime(NOON_ISH, zone=BERLIN) == "07 Dec 2026, 14:05 CET"
    assert format_datetime(NOON_ISH, zone=NEW_YORK) == "07 Dec 2026, 08:05 EST"
    assert format_datetime(NOON_ISH, zone=TOKYO) == "07 Dec 2026, 22:05 JST"


def test_without_a_zone_times_are_utc_and_say_so():
    assert current_zone().key == "UTC"
    assert format_datetime(NOON_ISH) == "07 Dec 2026, 13:05 UTC"


def test_a_stored_time_without_tzinfo_is_taken_as_utc():
    naive = NOON_ISH.replace(tzinfo=None)  # what SQLite hands back
    assert format_datetime(naive, zone=BERLIN) == "07 Dec 2026, 14:05 CET"
    assert iso_instant(naive) == "2026-12-07T13:05:00Z"


def test_summer_time_moves_the_clock_and_renames_the_zone():
    assert format_datetime(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), zone=BERLIN) == "01 Jul 2026, 14:00 CEST"
    # New York springs forward at 07:00 UTC on 8 March 2026: 01:59 EST, then 03:00 EDT.
    assert format_datetime(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), zone=NEW_YORK) == "08 Mar 2026, 01:59 EST"
    assert format_datetime(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), zone=NEW_YORK) == "08 Mar 2026, 03:00 EDT"
    # …and falls back at 06:00 UTC on 1 November: 01:30 comes twice, once with each name.
    assert format_datetime(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), zone=NEW_YORK) == "01 Nov 2026, 01:30 EDT"
    assert format_datetime(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), zone=NEW_YORK) == "01 Nov 2026, 01:30 EST"


def test_a_zone_whose_time_has_no_name_is_called_by_its_iana_name():
    assert format_datetime(NOON_ISH, zone=ZoneInfo("Europe/Istanbul")) == "07 Dec 2026, 16:05 Europe/Istanbul"
    assert format_datetime(NOON_ISH, zone=ZoneInfo("America/Sao_Paulo")) == "07 Dec 2026, 10:05 America/Sao_Paulo"
    assert format_datetime(NOON_ISH, zone=ZoneInfo("Asia/Kolkata")) == "07 Dec 2026, 18:35 IST"


def test_a_date_time_shown_as_a_date_is_the_day_it_is_there():
    late = datetime(2026, 12, 22, 23, 30, tzinfo=UTC)
    assert format_date(late) == "22 Dec 2026"
    assert format_date(late, zone=BERLIN) == "23 Dec 2026"
    assert format_date(late, zone=NEW_YORK) == "22 Dec 2026"


def test_a_pure_date_is_the_same_day_everywhere():
    assert format_date(date(2026, 12, 22), zone=TOKYO) == "22 Dec 2026"
    assert format_date("2026-12-22", zone=ZoneInfo("Pacific/Honolulu")) == "22 Dec 2026"


def test_nothing_reads_as_nothing():
    assert format_datetime(None) == format_date(None) == format_timeago(None) == iso_instant(None) == ""


def test_shown_in_sets_the_clock_for_a_block_and_gives_it_back():
    with shown_in(TOKYO):
        assert format_datetime(NOON_ISH) == "07 Dec 2026, 22:05 JST"
        with shown_in(BERLIN):
            assert format_date(datetime(2026, 12, 22, 23, 30, tzinfo=UTC)) == "23 Dec 2026"
        assert current_zone() == TOKYO
        with shown_in(None):  # a recipient without a zone: UTC
            assert format_datetime(NOON_ISH).endswith("13:05 UTC")
    assert current_zone().key == "UTC"


def test_an_email_payloads_iso_instant_reads_like_the_datetime_it_came_from():
    assert format_datetime(iso_instant(NOON_ISH), zone=BERLIN) == format_datetime(NOON_ISH, zone=BERLIN)
    assert format_date("2026-12-22T23:30:00Z", zone=BERLIN) == "23 Dec 2026"
    assert iso_instant(datetime(2026, 12, 7, 14, 5, tzinfo=BERLIN)) == "2026-12-07T13:05:00Z"


def test_a_time_already_written_out_stays_as_it_is():
    # An email queued before its times travelled as instants still renders.
    assert format_date("22 Nov 2026", zone=BERLIN) == "22 Nov 2026"
    assert format_datetime("22 Nov 2026, 14:05 UTC", zone=BERLIN) == "22 Nov 2026, 14:05 UTC"


def test_timeago_is_relative_then_the_day_on_the_given_clock():
    now = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
    assert format_timeago(datetime(2026, 12, 20, 11, 59, 30, tzinfo=UTC), now) == "just now"
    assert format_timeago(datetime(2026, 12, 20, 9, 0, tzinfo=UTC), now) == "3 hours ago"
    assert format_timeago(datetime(2026, 12, 19, 11, 0, tzinfo=UTC), now) == "yesterday"
    old = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert format_timeago(old, now) == "1 Dec"
    assert format_timeago(old, now, zone=TOKYO) == "2 Dec"
    assert format_timeago(datetime(2025, 12, 31, 23, 30, tzinfo=UTC), now, zone=TOKYO) == "1 Jan"
    assert format_timeago(datetime(2025, 12, 31, 12, 0, tzinfo=UTC), now, zone=NEW_YORK) == "31 Dec 2025"


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "UTC", "Etc/GMT+3", "Asia/Kathmandu"])
def test_iana_names_are_zones(name):
    assert zone_named(name) == ZoneInfo(name) and name in zone_names()


@pytest.mark.parametrize(
    "name", ["", None, "Mars/Olympus_Mons", "europe/berlin", "localtime", "Factory", "../../etc/passwd", "UTC\x00", 3]
)
def test_anything_else_is_no_zone(name):
    assert zone_named(name) is None


def test_zone_names_are_sorted_and_complete():
    names = zone_names()
    assert list(names) == sorted(names) and len(names) > 400 and "Asia/Tokyo" in names


def test_offset_label_says_how_far_from_utc_then():
    assert offset_label(BERLIN, datetime(2026, 12, 7, tzinfo=UTC)) == "UTC+01:00"
    assert offset_label(BERLIN, datetime(2026, 7, 7, tzinfo=UTC)) == "UTC+02:00"
    assert offset_label(NEW_YORK, datetime(2026, 12, 7, tzinfo=UTC)) == "UTC−05:00"
    assert offset_label(ZoneInfo("Asia/Kathmandu"), datetime(2026, 12, 7, tzinfo=UTC)) == "UTC+05:45"
