"""Conversions between OTLP unix nanoseconds and the times and durations the API shows."""

from datetime import UTC, datetime

_NS_PER_SECOND = 1_000_000_000


def iso_from_unix_nano(unix_nano: int) -> str:
    seconds, nanos = divmod(unix_nano, _NS_PER_SECOND)
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=nanos // 1000)
    return moment.isoformat().replace("+00:00", "Z")


def unix_nano_from_datetime(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    whole = int(moment.replace(microsecond=0).timestamp())
    return whole * _NS_PER_SECOND + moment.microsecond * 1000


def ms_from_ns(nanoseconds: int) -> float:
    return round(nanoseconds / 1_000_000, 3)
