"""One payload schema per event kind; the JSON Schemas in the docs are generated from these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)


def _iso_datetime(value: object) -> object:
    # pydantic's lax mode would also take numbers and numeric text as Unix times; the
    # published schema says ISO 8601 text, so that is all the wire may carry.
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, datetime):
        return value
    raise ValueError("must be an ISO 8601 date-time with a UTC offset, e.g. 2026-03-02T07:15:00Z")


def _iso_date(value: object) -> object:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("must be an ISO 8601 date, e.g. 2026-03-31")


# Numbers and booleans are strict: "5" is not 5 and 1 is not true, as the JSON Schemas say.
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")]
Quantity = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
PositiveQuantity = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
Count = Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]
Day = Annotated[date, BeforeValidator(_iso_date)]


class Payload(BaseModel):
    """Base of every payload: unknown fields are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MaterialIssue(Payload):
    """A material lot issued to an operation, checked against its BOM at the station."""

    work_order: Code
    operation: Code
    item: Code
    lot: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: PositiveQuantity
    unit: Annotated[str, Field(min_length=1, max_length=16)] = "pcs"
    gtin: Annotated[str, Field(pattern=r"^\d{14}$")] | None = None
    expiry: Day | None = None
    operators: list[Code] = Field(default_factory=list)
    over_issue_approved_by: Code | None = Field(
        default=None, description="supervisor who approved an issue above requirement + tolerance"
    )


class CrewShare(Payload):
    """One operator's share of a production report; shares add up to the report."""

    operator: Code
    good: Count
    scrap: Count
    labour_hours: Quantity


class ProductionReport(Payload):
    """Good / scrap counts for an operation over a period, split across the crew."""

    work_order: Code
    operation: Code
    good: Count
    scrap: Count
    rework: Count = 0
    period_start: Timestamp
    period_end: Timestamp
    labour_hours: Quantity = 0.0
    crew: list[CrewShare] = Field(default_factory=list)
    source: Literal["counter", "terminal"] = "terminal"
    operation_end: Flag = Field(default=False, description="the last report of this operation")
    closed_short_approved_by: Code | None = Field(
        default=None,
        description="supervisor who approved ending the operation short of its quantity",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ProductionReport:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if self.crew:
            if sum(s.good for s in self.crew) != self.good:
                raise ValueError("crew good counts do not add up to good")
            if sum(s.scrap for s in self.crew) != self.scrap:
                raise ValueError("crew scrap counts do not add up to scrap")
        return self

    @property
    def yield_ratio(self) -> float | None:
        total = self.good + self.scrap
        return self.good / total if total else None


class Defect(Payload):
    code: Code
    quantity: Annotated[int, Field(ge=1, le=10_000_000, strict=True)] = 1


class Inspection(Payload):
    """The result of inspecting units of an operation: defects found and the disposition."""

    work_order: Code
    operation: Code
    inspected: Annotated[int, Field(ge=1, le=10_000_000, strict=True)]
    defects: list[Defect] = Field(default_factory=list)
    disposition: Literal["accept", "rework", "scrap"]
    inspector: Code
    lot: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    serial: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    check: Literal["sample", "full"] = Field(
        default="sample", description="a sample of the pieces, or every piece (100 %)"
    )
    result: Literal["pass", "fail"] | None = Field(
        default=None, description="pass or fail; when absent, fail if any defect was found"
    )
    rework_operation: Code | None = Field(
        default=None,
        description="the operation reworked pieces go back to; absent: the one inspected",
    )

    @model_validator(mode="after")
    def _rework_target(self) -> Inspection:
        if self.rework_operation is not None and self.disposition != "rework":
            raise ValueError("rework_operation is only for the disposition 'rework'")
        if self.result == "pass" and self.disposition != "accept":
            raise ValueError("a passed inspection is accepted; rework or scrap means 'fail'")
        return self


class MachineState(Payload):
    """A machine entered a state of the fixed vocabulary."""

    machine: Code
    state: Literal["running", "idle", "setup", "down", "offline"]
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    since: Timestamp

    @model_validator(mode="after")
    def _down_needs_reason(self) -> MachineState:
        if self.state == "down" and not self.reason:
            raise ValueError("state 'down' needs a reason")
        return self


class OperatorLogin(Payload):
    """An operator logged in at a station, by badge scan."""

    operator: Code


class OperatorLogout(Payload):
    """An operator left a station: logged out, shift end, idle timeout or replaced."""

    operator: Code
    reason: Literal["logout", "shift_end", "timeout", "replaced"] = "logout"


class BarcodeScan(Payload):
    """An accepted barcode scan at a station and what it means; refused scans record nothing."""

    device: Code = Field(description="the scanner: a serial scanner's name, or 'wedge'")
    raw: Annotated[str, Field(min_length=1, max_length=512)] = Field(
        description="what the scanner sent, terminator removed"
    )
    code: Literal["gs1", "work_order", "operator_badge", "station", "defect_code"] = Field(
        description="GS1 element string, or which internal code it is"
    )
    symbology: Annotated[str, Field(pattern=r"^\][A-Za-z][0-9A-Za-z]$")] | None = None
    gtin: Annotated[str, Field(pattern=r"^\d{14}$")] | None = None
    batch: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    serial: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    expiry: Day | None = None
    count: Annotated[int, Field(ge=0, strict=True)] | None = None
    net_weight_kg: Quantity | None = None
    value: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="the internal code itself (work order number, badge, ...)"
    )


EVENT_KINDS: dict[str, type[Payload]] = {
    "material_issue": MaterialIssue,
    "production_report": ProductionReport,
    "inspection": Inspection,
    "machine_state": MachineState,
    "operator_login": OperatorLogin,
    "operator_logout": OperatorLogout,
    "scan": BarcodeScan,
}


def payload_model(kind: str) -> type[Payload]:
    """The payload model of an event kind; KeyError for a kind the contract does not know."""
    return EVENT_KINDS[kind]
