"""The edge's settings, validated once at start-up (see config/edge.example.toml)."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.auth import is_token_hash
from edge.pins import is_pin_hash
from edge.store import StoreBudget
from protocols.count_message import DEFAULT_PATTERN, compile_pattern
from protocols.serial_lines import Terminator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeSettings(_Section):
    site: str = Field(description="plant / site code, first topic level")
    area: str
    line: str
    name: str = Field(description="this edge node's name on its line")
    data_dir: Path = Field(Path("var/edge"), description="where the edge's SQLite file lives")
    timezone: str = Field("UTC", description="the plant's IANA time zone: shifts, lot expiry")

    @model_validator(mode="after")
    def _known_zone(self) -> NodeSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone {self.timezone!r} is not an IANA time zone (e.g. Europe/Berlin)"
            ) from None
        return self


class MqttSettings(_Section):
    url: str = Field("mqtt://127.0.0.1:1883", description="broker URL, mqtt:// or mqtts://")
    topic_root: str = "floorsync"


class UplinkSettingsModel(_Section):
    batch_events: int = Field(500, ge=1, le=5000, description="events per MQTT message")
    window: int = Field(8, ge=1, le=100, description="batches in flight before an ack")
    ack_timeout_s: float = Field(5.0, gt=0, description="resend after this long without ack")
    max_rate: float = Field(0.0, ge=0, description="cap on events/s sent; 0 = paced by acks")


class ScannerSettings(_Section):
    name: str = Field(description="the scanner's name, recorded with each scan")
    port: str = Field(description="serial device path or pyserial URL")
    station: str = Field(description="the station the scanner belongs to")
    baudrate: int = Field(9600, gt=0)
    parity: Literal["none", "even", "odd"] = "none"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    terminator: Terminator = "CR"


class ModbusTagSettings(_Section):
    name: str
    table: Literal["holding", "input", "coil", "discrete"] = "holding"
    address: int = Field(ge=0, le=65535)
    type: Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "bool", "string"]
    byte_order: Literal["ABCD", "BADC", "CDAB", "DCBA"] = "ABCD"
    scale: float = 1.0
    offset: float = 0.0
    length: int | None = Field(None, ge=1, description="registers, for strings")
    min: float | None = None
    max: float | None = None


class OpcUaTagSettings(_Section):
    name: str
    node: str = Field(description="node id (ns=2;s=...) or browse path (0:Objects/2:...)")


class DeviceSettings(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    kind: Literal["modbus_tcp", "modbus_rtu", "opcua", "serial_counter"]
    interval_s: float = Field(1.0, gt=0, description="poll interval (OPC UA: poll mode)")
    timeout_s: float = Field(1.0, gt=0)
    # Modbus TCP
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    # serial line: Modbus RTU, count station
    serial_port: str | None = Field(None, description="serial device path or pyserial URL")
    baudrate: int = Field(19200, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    bytesize: Literal[7, 8] = 8
    stopbits: Literal[1, 2] = 1
    # count station
    terminator: Terminator = Field("CR", description="what ends a message")
    pattern: str = Field(DEFAULT_PATTERN, description="a message; named groups are the tags")
    stale_after_s: float = Field(10.0, gt=0, description="no message this long is an error")
    # Modbus
    unit: int = Field(1, ge=0, le=247)
    max_block: int | None = Field(None, ge=1)
    max_gap: int = Field(0, ge=0)
    retries: int = Field(1, ge=0, le=10)
    # OPC UA
    endpoint: str | None = None
    mode: Literal["subscribe", "poll"] = "subscribe"
    publishing_interval_s: float = Field(0.5, gt=0)
    username: str | None = None
    password: str | None = Field(None, repr=False)
    security: Literal["None", "Sign", "SignAndEncrypt"] = Field(
        "None", description="OPC UA message security mode"
    )
    # None: Basic256Sha256 once security is on; None also survives a dump and reload
    security_policy: (
        Literal["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"] | None
    ) = Field(None, description="OPC UA security policy, with security on")
    certificate: Path | None = Field(None, description="the edge's application certificate")
    private_key: Path | None = None
    server_certificate: Path | None = Field(None, description="pins the server's certificate")
    application_uri: str = "urn:floorsync:edge"
    tags: list[dict[str, object]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> DeviceSettings:
        needs = {
            "modbus_tcp": ("host", "port"),
            "modbus_rtu": ("serial_port",),
            "opcua": ("endpoint",),
            "serial_counter": ("serial_port",),
        }[self.kind]
        missing = [key for key in needs if getattr(self, key) is None]
        if self.kind == "opcua" and self.security != "None":
            missing += [k for k in ("certificate", "private_key") if getattr(self, k) is None]
        if self.security == "None" and self.security_policy is not None:
            raise ValueError(
                f"device {self.name}: security_policy needs security = Sign or SignAndEncrypt"
            )
        if missing:
            raise ValueError(f"a {self.kind} device needs {', '.join(missing)}")
        if self.kind == "serial_counter":
            compile_pattern(self.pattern)
            if self.tags:
                raise ValueError(
                    "a serial_counter device's tags are the named groups of its pattern:"
                    " remove its tags"
                )
            return self
        model = OpcUaTagSettings if self.kind == "opcua" else ModbusTagSettings
        for tag in self.tags:
            model.model_validate(tag)
        return self

    def tag_names(self) -> list[str]:
        """The tags this device delivers, each a signal ``name.tag``."""
        if self.kind == "serial_counter":
            return list(compile_pattern(self.pattern).groupindex)
        return [str(tag["name"]) for tag in self.tags]


class MachineStateSettings(_Section):
    tag: str = Field(description="device.tag whose value says the machine's state")
    values: dict[str, Literal["running", "idle", "setup", "down"]] = Field(
        description="tag value (as text) -> state; a value not listed means down"
    )
    reason_tag: str | None = Field(None, description="device.tag with the down reason code")


class StationSettings(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    machine: str | None = Field(
        None, description="the machine's name in machine_state events; none: a manual station"
    )
    good_counter: str | None = Field(None, description="device.tag of the good-piece counter")
    scrap_counter: str | None = Field(None, description="device.tag of the scrap counter")
    counter_bits: Literal[16, 32] = 32
    max_rate: float = Field(50.0, gt=0, description="most pieces per second possible")
    state: MachineStateSettings | None = None
    report_every_pieces: int | None = Field(
        10, ge=1, description="report counted pieces after this many; none: off"
    )
    report_every_s: float | None = Field(
        60.0, gt=0, description="report counted pieces at least this often; none: off"
    )
    inspection_check: Literal["sample", "full"] = Field(
        "sample",
        description="where the routing requires inspection: one inspection (sample) or"
        " every piece (full) before the operation may close",
    )
    ideal_cycle_s: float | None = Field(
        None,
        gt=0,
        description="the machine's ideal seconds per piece for OEE; unset: the routing's run time",
    )

    @model_validator(mode="after")
    def _machine_for_signals(self) -> StationSettings:
        if self.machine is None and (self.state or self.good_counter or self.scrap_counter):
            raise ValueError(f"station {self.name}: counters and a state need a machine name")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ShiftSettings(_Section):
    name: str
    start: time = Field(description="local start, HH:MM")
    end: time = Field(description="local end, HH:MM; at or before start: ends the next day")
    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS),
        description="the days the shift starts on",
    )


class SupervisorSettings(_Section):
    badge: str = Field(description="the supervisor's badge")
    name: str
    pin_hash: str = Field(
        repr=False, description="from `floorsync edge pin-hash`; never the PIN itself"
    )

    @model_validator(mode="after")
    def _hash_form(self) -> SupervisorSettings:
        if not is_pin_hash(self.pin_hash):
            raise ValueError(
                f"supervisor {self.badge}: pin_hash is not a hash from `floorsync edge pin-hash`"
            )
        return self


class TerminalSettings(_Section):
    pin_attempts: int = Field(5, ge=1, description="wrong PINs in a row before a lockout")
    pin_lockout_s: float = Field(300.0, gt=0, description="how long a lockout lasts")
    session_hours: float = Field(
        12.0, gt=0, le=24, description="a badge's sign-in ends after this long at the most"
    )
    idle_minutes: float = Field(
        30.0, gt=0, le=720, description="a sign-in left unused this long ends: the terminal locks"
    )
    sign_in_attempts: int = Field(
        10, ge=1, description="failed sign-ins per client address or badge in the window"
    )
    sign_in_window_s: float = Field(300.0, gt=0, description="the window those are counted in")


class ApiTokenSettings(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="who uses it")
    role: Literal["integration", "admin"] = Field(
        "integration", description="integration: events, scans and stations; admin: also config"
    )
    token_hash: str = Field(
        repr=False, description="from `floorsync edge api-token`; never the token itself"
    )

    @model_validator(mode="after")
    def _hash_form(self) -> ApiTokenSettings:
        if not is_token_hash(self.token_hash):
            raise ValueError(
                f"api token {self.name}: token_hash is not a hash from `floorsync edge api-token`"
            )
        return self


class StoreSettings(_Section):
    max_mb: float = Field(
        0.0, ge=0, description="most the edge's SQLite file may hold; 0: the free disk decides"
    )
    high_water: float = Field(
        0.8, gt=0, lt=1, description="fraction of the limit above which telemetry is downsampled"
    )
    min_free_disk_mb: float = Field(
        64.0, ge=0, description="the store counts as full when the disk has less free than this"
    )
    telemetry_interval_s: float = Field(
        60.0, gt=0, description="above the high-water mark: one machine state a station per this"
    )

    def budget(self) -> StoreBudget:
        return StoreBudget(self.max_mb, self.high_water, self.min_free_disk_mb)


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)


class EdgeSettings(_Section):
    node: NodeSettings
    mqtt: MqttSettings = MqttSettings()
    uplink: UplinkSettingsModel = UplinkSettingsModel()
    http: HttpSettings = HttpSettings()
    scanners: list[ScannerSettings] = Field(default_factory=list)
    devices: list[DeviceSettings] = Field(default_factory=list)
    stations: list[StationSettings] = Field(default_factory=list)
    shifts: list[ShiftSettings] = Field(default_factory=list)
    supervisors: list[SupervisorSettings] = Field(default_factory=list)
    api_tokens: list[ApiTokenSettings] = Field(default_factory=list)
    terminal: TerminalSettings = TerminalSettings()
    store: StoreSettings = StoreSettings()

    @model_validator(mode="after")
    def _signals_exist(self) -> EdgeSettings:
        names = [s.name for s in self.stations]
        if len(set(names)) != len(names):
            raise ValueError("station names must be unique")
        tokens = [t.name for t in self.api_tokens]
        if len(set(tokens)) != len(tokens):
            raise ValueError("api token names must be unique")
        tags = {f"{d.name}.{tag}" for d in self.devices for tag in d.tag_names()}
        for station in self.stations:
            wanted = [station.good_counter, station.scrap_counter]
            if station.state:
                wanted += [station.state.tag, station.state.reason_tag]
            for signal in filter(None, wanted):
                if signal not in tags:
                    raise ValueError(
                        f"station {station.name}: {signal!r} is no device tag "
                        f"(known: {', '.join(sorted(tags)) or 'none'})"
                    )
        return self
