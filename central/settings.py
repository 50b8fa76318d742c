"""Central's settings, validated once at start-up (see config/central.example.toml)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from central.aftersales.jobs import cron_trigger, zone


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    url: str = Field("sqlite:///var/central/central.db", description="SQLAlchemy URL")


class MqttSettings(_Section):
    url: str = Field("mqtt://127.0.0.1:1883", description="broker URL, mqtt:// or mqtts://")
    topic_root: str = "floorsync"
    client_id: str = Field("central", description="also the persistent session at the broker")
    shared_group: str = Field(
        "", description="MQTT 5 shared-subscription group; set it to run several ingest workers"
    )


class IngestSettings(_Section):
    hold_limit: int = Field(50_000, ge=0, description="events held per edge behind a gap")
    gap_alarm_s: float = Field(30.0, gt=0, description="log an alarm when a gap lasts this long")


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class AuthSettings(_Section):
    session_hours: float = Field(
        10.0, gt=0, le=24 * 7, description="a page's sign-in ends after this long, in use or not"
    )
    idle_minutes: float = Field(
        60.0, gt=0, le=24 * 60, description="a page's sign-in also ends when idle this long"
    )
    sign_in_attempts: int = Field(
        5, ge=1, le=1000, description="failed sign-ins per address (or token prefix) per window"
    )
    sign_in_window_s: float = Field(60.0, gt=0, le=3600, description="the window, in seconds")


class CompanySettings(_Section):
    name: str = Field("FloorSync", max_length=200, description="who quotes: letterhead")
    address: str = Field("", max_length=400, description="printed under the name")
    contact: str = Field("", max_length=200, description="phone / email line of the letterhead")


class SalesSettings(_Section):
    discount_approval_pct: float = Field(
        10.0, ge=0, le=100, description="a quote line discounted more needs an admin's approval"
    )
    quote_validity_days: int = Field(30, ge=1, le=365, description="a new quote's validity")


class RfmSettings(_Section):
    enabled: bool = Field(True, description="recompute RFM on the schedule")
    window_days: int = Field(365, ge=1, le=3650, description="days of orders measured")
    schedule: str = Field("0 2 * * *", description="5-field crontab: minute hour day month weekday")
    timezone: str = Field("UTC", description="IANA time zone the schedule is read in")

    # their ValueErrors say what is wrong
    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        cron_trigger(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value


class CentralSettings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()
    rfm: RfmSettings = RfmSettings()
    sales: SalesSettings = SalesSettings()
    company: CompanySettings = CompanySettings()
