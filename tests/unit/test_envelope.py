"""The envelope's timestamps and the fixed-shape success response (decision 0123)."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from envelope import iso_timestamp, success, success_response

MOMENTS = [
    datetime(2026, 12, 6, 19, 17, 0, 999_999, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-8))),
    datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC),  # strftime does not pad the year
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_timestamps_are_utc_to_the_second_as_strftime_writes_them(moment):
    expected = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso_timestamp(moment) == expected


def test_success_response_writes_what_success_writes(app):
    data = {"id": 1, "name": "Ünïcode", "at": MOMENTS[1], "none": None, "flag": True}
    with app.test_request_context():
        slow, status = success({**data, "at": iso_timestamp(MOMENTS[1])}, status=201)
        fast = success_response(data, status=201)
    assert fast.status_code == status == 201
    assert fast.mimetype == slow.mimetype == "application/json"
    fast_body, slow_body = orjson.loads(fast.get_data()), orjson.loads(slow.get_data())
    assert fast_body.pop("timestamp")[:15] == slow_body.pop("timestamp")[:15]  # same minute
    assert fast_body == slow_body
    assert fast.get_data().startswith(b'{"success":true,"data":{"id":1,"name":"\xc3\x9c')


def test_success_response_refuses_what_is_not_json_ready(app):
    with app.test_request_context(), pytest.raises(TypeError):
        success_response({"value": object()})
