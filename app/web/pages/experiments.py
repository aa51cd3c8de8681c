"""The /experiments page: a campaign's A/B report as rows of segment × arm, with the tests per segment."""

from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session

from app.services.experiments import report as reports


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _p(test: dict[str, Any] | None) -> str:
    if test is None:
        return "–"
    return "< 0.0001" if test["p_value"] < 1e-4 else f"{test['p_value']:.4f}"


def _rows(segment: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per arm, the segment's tests on its first row."""
    rows = []
    for index, arm in enumerate(segment["arms"]):
        rate_ci, value_ci = arm["rate_ci"], arm["value_ci"]
        rows.append(
            {
                "first": index == 0,
                "span": len(segment["arms"]),
                "arm": arm["arm"],
                "customers": arm["customers"],
                "conversions": arm["conversions"],
                "rate": _percent(arm["conversion_rate"]),
                "rate_ci": None if rate_ci is None else f"{_percent(rate_ci[0])} – {_percent(rate_ci[1])}",
                "value": _number(arm["mean_value"]),
                "value_ci": None if value_ci is None else f"{_number(value_ci[0])} – {_number(value_ci[1])}",
            }
        )
    return rows


def experiments_page(*, session: Session, segmentation: str, campaign: str | None, event: str | None) -> dict[str, Any]:
    """The campaigns to pick from and the picked one's report (the most recent campaign when none is picked).

    An event the campaign does not have gets no report: "any event" in its place would show another conversion's
    figures (100%) under the name asked for, so the page says which events there are instead.
    """
    listed = reports.campaigns(session=session, segmentation=segmentation)["campaigns"]
    names = [row["campaign"] for row in listed]
    picked = campaign if campaign in names else (names[0] if names else None)
    chosen = next((row for row in listed if row["campaign"] == picked), None)
    unknown_event = event if chosen is not None and event is not None and event not in chosen["event_names"] else None
    event = None if unknown_event else event
    report = json_url = None
    if picked is not None and unknown_event is None:
        query = {"segmentation": segmentation} if segmentation != "default" else {}
        query |= {"event": event} if event else {}
        json_url = f"/api/v1/experiments/{quote(picked, safe='')}" + (f"?{urlencode(query)}" if query else "")
        report = reports.experiment_report(session=session, segmentation=segmentation, campaign=picked, event=event)
        for segment in report["segments"]:
            segment["rows"] = _rows(segment)
            segment["rate_p"] = _p(segment["rate_test"])
            segment["value_p"] = _p(segment["value_test"])
        # What the report found, said before the table: how many segments were tested, and how many of them differ.
        tested = [s for s in report["segments"] if s["rate_test"] is not None or s["value_test"] is not None]
        report["tested"] = len(tested)
        report["significant_count"] = sum(bool(s["significant"]) for s in tested)
    return {
        "active": "experiments",
        "campaigns": listed,
        "campaign": picked,
        "event_names": chosen["event_names"] if chosen else [],
        "event": event,
        "unknown_event": unknown_event,
        "unknown_campaign": campaign if campaign and campaign not in names else None,
        "report": report,
        "json_url": json_url,
    }
