"""The edge's settings, validated once at start-up (see config/edge.example.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeSettings(_Section):
    site: str = Field(description="plant / site code, first topic level")
    area: str
    line: str
    name: str = Field(description="this edge node's name on its line")
    data_dir: Path = Field(Path("var/edge"), description="where the edge's SQLite file lives")


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
    terminator: Literal["CR", "LF", "CRLF"] = "CR"


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)


class EdgeSettings(_Section):
    node: NodeSettings
    mqtt: MqttSettings = MqttSettings()
    uplink: UplinkSettingsModel = UplinkSettingsModel()
    http: HttpSettings = HttpSettings()
    scanners: list[ScannerSettings] = Field(default_factory=list)
