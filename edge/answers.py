"""The station workflow's exceptions as the API's one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from edge.stations import Refused
from edge.workstations import CannotRecord, Denied, NoSuchStation, StoreIsFull
from protocols.api import ApiError


@contextmanager
def answers() -> Iterator[None]:
    """The workflow's exceptions as the API's one error shape."""
    try:
        yield
    except NoSuchStation as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except Refused as exc:
        raise ApiError(422, exc.reason_code, exc.message) from None
    except Denied as exc:
        if exc.locked_for:
            retry = {"retry_after_s": round(exc.locked_for)}
            raise ApiError(429, "pin_locked", exc.message, retry) from None
        raise ApiError(401, "wrong_pin", exc.message) from None
    except StoreIsFull as exc:
        raise ApiError(507, "store_full", str(exc)) from None
    except CannotRecord as exc:
        raise ApiError(503, "cannot_record", str(exc)) from None
