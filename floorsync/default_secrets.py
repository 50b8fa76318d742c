"""Secrets everybody knows: refused at start-up unless the process runs inside ``floorsync demo``.

The demo's own supervisor PIN hash (floorsync/demo_edge.toml) and passwords that installers
and tutorials put in by default would let anyone in who has read the same page. The demo
marks its processes with ``FLOORSYNC_DEMO=1`` in their environment; nothing else should.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from floorsync.config import ConfigError
from protocols.mqtt import BrokerUrl

if TYPE_CHECKING:
    from central.settings import CentralSettings
    from edge.settings import EdgeSettings

__all__ = ["DEMO_ENV", "central_defaults", "edge_defaults", "in_demo", "refuse"]

DEMO_ENV = "FLOORSYNC_DEMO"
DEMO_EDGE_CONFIG = Path(__file__).parent / "demo_edge.toml"
# what images, installers and tutorials set when nobody chooses (compared case-folded)
KNOWN_PASSWORDS = frozenset(
    {
        "admin",
        "changeit",
        "changeme",
        "change-me",
        "default",
        "floorsync",
        "mosquitto",
        "password",
        "postgres",
        "public",
        "root",
        "secret",
    }
)


def in_demo() -> bool:
    return os.environ.get(DEMO_ENV) == "1"


def _demo_pin_hashes() -> set[str]:
    config = tomllib.loads(DEMO_EDGE_CONFIG.read_text(encoding="utf-8"))
    return {str(s["pin_hash"]) for s in config.get("supervisors", [])}


def _known(password: str | None) -> bool:
    return password is not None and password.casefold() in KNOWN_PASSWORDS


def _broker_password(url: str) -> str | None:
    try:
        return BrokerUrl.parse(url).password
    except ValueError:
        return None  # the settings check already refused it


def central_defaults(settings: CentralSettings) -> list[str]:
    """The keys of ``settings`` that hold a well-known secret."""
    found = []
    try:
        database_password = make_url(settings.database.url).password
    except ArgumentError:
        database_password = None
    if _known(str(database_password) if database_password is not None else None):
        found.append("database.url: its password")
    if _known(_broker_password(settings.mqtt.url)):
        found.append("mqtt.url: its password")
    return found


def edge_defaults(settings: EdgeSettings) -> list[str]:
    """The keys of ``settings`` that hold a well-known secret."""
    found = []
    if _known(_broker_password(settings.mqtt.url)):
        found.append("mqtt.url: its password")
    for device in settings.devices:
        if _known(device.password):
            found.append(f"devices {device.name}: password")
    demo_hashes = _demo_pin_hashes()
    for supervisor in settings.supervisors:
        if supervisor.pin_hash in demo_hashes:
            found.append(f"supervisors {supervisor.badge}: the demo's PIN hash (PIN 1234)")
    return found


def refuse(found: Iterable[str]) -> None:
    """ConfigError naming each well-known secret, unless running in the demo."""
    found = list(found)
    if found and not in_demo():
        raise ConfigError(
            "refusing to start with a well-known secret:\n"
            + "\n".join(f"  {what}" for what in found)
            + "\nset your own (a supervisor's PIN hash: `floorsync edge pin-hash`);"
            " only `floorsync demo` runs with its defaults"
        )
