"""The envelope's timestamps and the fixed-shape success response (decision 0123)."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from envelope import iso_timestamp, success, success_bytes, success_response

MOMENTS = {
    datetime(2026, 12, 6, 19, 17, 0, 999_999, tzinfo=UTC): "2026-12-06T19:17:00Z",
    datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))): (
        "2025-12-31T19:00:00Z"
    ),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-8))): (
        "2000-01-01T07:59:59Z"
    ),
    datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC): "0999-03-04T05:06:07Z",  # RFC 3339: four digits
    datetime(1, 1, 1, tzinfo=UTC): "0001-01-01T00:00:00Z",
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_timestamps_are_rfc_3339_in_utc_to_the_second(moment):
    assert iso_timestamp(moment) == MOMENTS[moment]


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_orjson_writes_a_utc_datetime_as_iso_timestamp_does(moment):
    in_utc = moment.astimezone(UTC)
    assert orjson.loads(success_bytes({"at": in_utc}))["data"]["at"] == iso_timestamp(moment)


def test_success_response_writes_what_success_writes(app):
    moment = datetime(2026, 1, 1, 0, 30, 59, 123, tzinfo=UTC)
    data = {"id": 1, "name": "Ünïcode", "at": moment, "none": None, "flag": True}
    with app.test_request_context():
        slow, status = success({**data, "at": iso_timestamp(moment)}, status=201)
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
