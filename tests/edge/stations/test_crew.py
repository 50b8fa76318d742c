"""Crew: logins checked against badges and skills, and hours within a period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.stations import Catalog, Crew, Refused
from protocols.contract import payload_model

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.from_master_data(
        {"orders": []},
        {
            "operators": [
                {"badge": "EMP-0042", "name": "A. Novak", "skills": ["WC-SMT-1"]},
                {"badge": "EMP-0057", "name": "M. Rossi", "skills": ["WC-SMT-1", "WC-QC-1"]},
                {"badge": "EMP-0107", "name": "K. Tanaka", "skills": ["WC-QC-1"]},
            ]
        },
    )


def test_several_operators_log_in_and_out(catalog: Catalog) -> None:
    crew = Crew("ST-10", "WC-SMT-1")
    crew = crew.login(catalog, "EMP-0042", at(0)).login(catalog, "EMP-0057", at(5))
    assert crew.present == ("EMP-0042", "EMP-0057")
    crew = crew.logout("EMP-0042", at(60))
    assert crew.present == ("EMP-0057",)


def test_unknown_badge_is_refused(catalog: Catalog) -> None:
    with pytest.raises(Refused) as exc:
        Crew("ST-10").login(catalog, "EMP-9999", at(0))
    assert exc.value.reason_code == "unknown_badge"


def test_missing_skill_is_refused_once_the_operation_is_known(catalog: Catalog) -> None:
    with pytest.raises(Refused) as exc:
        Crew("ST-10", "WC-SMT-1").login(catalog, "EMP-0107", at(0))
    assert exc.value.reason_code == "missing_skill"
    assert "K. Tanaka" in exc.value.message and "WC-SMT-1" in exc.value.message
    # before a work order is scanned the station does not know what skill it needs
    assert Crew("ST-10").login(catalog, "EMP-0107", at(0)).present == ("EMP-0107",)


def test_duplicate_login_is_a_no_op(catalog: Catalog) -> None:
    crew = Crew("ST-10", "WC-SMT-1").login(catalog, "EMP-0042", at(0))
    assert crew.login(catalog, "EMP-0042", at(30)) is crew
    assert crew.hours("EMP-0042", at(0), at(60)) == pytest.approx(1.0)


def test_logout_of_someone_not_logged_in_is_refused(catalog: Catalog) -> None:
    with pytest.raises(Refused) as exc:
        Crew("ST-10").logout("EMP-0042", at(0))
    assert exc.value.reason_code == "not_logged_in"


def test_hours_are_the_logged_in_time_within_the_period(catalog: Catalog) -> None:
    crew = (
        Crew("ST-10", "WC-SMT-1")
        .login(catalog, "EMP-0042", at(0))
        .logout("EMP-0042", at(90))
        .login(catalog, "EMP-0042", at(120))  # back after a break
        .login(catalog, "EMP-0057", at(30))
    )
    assert crew.hours("EMP-0042", at(0), at(180)) == pytest.approx(2.5)
    assert crew.hours("EMP-0042", at(60), at(150)) == pytest.approx(1.0)
    assert crew.hours("EMP-0057", at(0), at(60)) == pytest.approx(0.5)
    assert crew.hours("EMP-0057", at(-60), at(0)) == 0.0
    assert crew.hours("EMP-0107", at(0), at(180)) == 0.0
    assert crew.hours_by_badge(at(0), at(60)) == pytest.approx({"EMP-0042": 1.0, "EMP-0057": 0.5})
    assert crew.hours_by_badge(at(95), at(115)) == {"EMP-0057": pytest.approx(20 / 60)}


def test_a_new_operation_checks_skills_of_later_logins(catalog: Catalog) -> None:
    crew = Crew("ST-10").at_work_center("WC-QC-1")
    with pytest.raises(Refused):
        crew.login(catalog, "EMP-0042", at(0))
    assert crew.login(catalog, "EMP-0057", at(0)).present == ("EMP-0057",)


def test_forget_before_drops_finished_stints_only(catalog: Catalog) -> None:
    crew = (
        Crew("ST-10")
        .login(catalog, "EMP-0042", at(0))
        .logout("EMP-0042", at(10))
        .login(catalog, "EMP-0057", at(5))
    )
    assert [s.badge for s in crew.forget_before(at(20)).stints] == ["EMP-0057"]


def test_present_badges_make_valid_login_payloads(catalog: Catalog) -> None:
    crew = Crew("ST-10").login(catalog, "EMP-0042", at(0))
    for badge in crew.present:
        payload_model("operator_login").model_validate({"operator": badge})
