"""The A/B report of a campaign: conversion and value per segment × arm, and a test between the arms per segment.

A customer takes part in a campaign when they have any event of it, and converts when one of those events is the
conversion event (any event when none is named). Their value is the sum of their conversion events' values (0 when
they did not convert). A customer counts in the arm and segment of their newest matched event; customers never seen
by the service are counted apart and left out, and so are events that occurred before their customer's assignment
in the experiment (an arm would take credit for what happened before it served the customer).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import UnknownCampaign
from app.db.tables import OutcomeEvent
from app.models.versions.challenger import CHALLENGER, CHAMPION
from app.services.experiments.stats import (
    Interval,
    mean_interval,
    two_proportion_test,
    welch_test,
    wilson_interval,
)

ALPHA = 0.05
# Below this many customers in an arm the normal approximations behind the tests are not to be trusted.
MIN_CUSTOMERS_PER_ARM = 30
NO_SEGMENT = "(no logged segment)"
NO_ARM = "none"


@dataclass(slots=True)
class _Customer:
    arm: str = NO_ARM
    segment: str = NO_SEGMENT
    segment_id: int | None = None
    matched: bool = False
    converted: bool = False
    value: float = 0.0


@dataclass(slots=True)
class _Cell:
    customers: int = 0
    conversions: int = 0
    values: list[float] = field(default_factory=list)


def _pair(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def campaigns(*, session: Session, segmentation: str) -> dict[str, Any]:
    """The segmentation's campaigns with outcomes: events, customers, event names, first and last dates."""
    table = OutcomeEvent
    where = (table.segmentation == segmentation, table.campaign.is_not(None))
    summary = session.execute(
        select(
            table.campaign,
            func.count(),
            func.count(table.customer_id.distinct()),
            func.min(table.occurred_at),
            func.max(table.occurred_at),
        )
        .where(*where)
        .group_by(table.campaign)
    ).all()
    names: dict[str, list[str]] = defaultdict(list)
    for campaign, event in session.execute(
        select(table.campaign, table.event).where(*where).distinct().order_by(table.event)
    ):
        names[campaign].append(event)
    rows = [
        {
            "campaign": campaign,
            "events": events,
            "customers": customers,
            "event_names": names[campaign],
            "first": _iso(first),
            "last": _iso(last),
        }
        for campaign, events, customers, first, last in summary
    ]
    rows.sort(key=lambda row: (row["last"] or "", row["campaign"]), reverse=True)
    return {"segmentation": segmentation, "campaigns": rows}


def _customers(
    session: Session, segmentation: str, campaign: str, event: str | None
) -> tuple[dict[str, _Customer], list[str], bool, int]:
    table = OutcomeEvent
    rows = session.execute(
        select(
            table.customer_id,
            table.event,
            table.value,
            table.matched,
            table.arm,
            table.segment_name,
            table.segment_id,
            table.occurred_at,
            table.assigned_at,
        )
        .where(table.segmentation == segmentation, table.campaign == campaign)
        .order_by(table.id)
    ).all()
    if not rows:
        raise UnknownCampaign(f"no outcomes for campaign {campaign!r} in segmentation {segmentation!r}")
    event_names = sorted({row.event for row in rows})
    customers: dict[str, _Customer] = defaultdict(_Customer)
    early = 0
    for row in rows:
        if row.assigned_at is not None and row.occurred_at < row.assigned_at:
            early += 1
            continue
        customer = customers[row.customer_id]
        if row.matched:
            # Rows are read oldest first: the newest matched event decides the arm and segment.
            customer.matched = True
            customer.arm = row.arm or NO_ARM
            customer.segment = row.segment_name or NO_SEGMENT
            customer.segment_id = row.segment_id
        if event is None or row.event == event:
            customer.converted = True
            customer.value += row.value or 0.0
    return customers, event_names, any(row.value is not None for row in rows), early


def _customers_word(count: int) -> str:
    return f"{count} customer" if count == 1 else f"{count} customers"


def _arm_order(arm: str) -> tuple[int, str]:
    return ({CHAMPION: 0, CHALLENGER: 1}.get(arm, 2), arm)


def _test_row(result: Any, alpha: float) -> dict[str, Any] | None:
    if result is None:
        return None
    row = {name: getattr(result, name) for name in result.__slots__}
    row["significant"] = result.p_value < alpha
    return row


def _segment(name: str, cells: dict[str, _Cell], *, has_values: bool, alpha: float, min_customers: int) -> dict:
    arms = []
    for arm in sorted(cells, key=_arm_order):
        cell = cells[arm]
        values = np.asarray(cell.values)
        arms.append(
            {
                "arm": arm,
                "customers": cell.customers,
                "conversions": cell.conversions,
                "conversion_rate": cell.conversions / cell.customers,
                "rate_ci": _pair(wilson_interval(cell.conversions, cell.customers)),
                "mean_value": float(values.mean()) if has_values else None,
                "value_ci": _pair(mean_interval(values)) if has_values else None,
            }
        )
    warnings = [
        f"only {_customers_word(cells[arm].customers)} in the {arm} arm: fewer than {min_customers}, too few to trust "
        "a test"
        for arm in sorted(cells, key=_arm_order)
        if cells[arm].customers < min_customers
    ]
    rate_test = value_test = None
    if CHAMPION in cells and CHALLENGER in cells:
        # Challenger first: a positive z or t means the challenger's customers did better.
        new, old = cells[CHALLENGER], cells[CHAMPION]
        rates = two_proportion_test(new.conversions, new.customers, old.conversions, old.customers)
        rate_test = _test_row(rates, alpha)
        if has_values:
            value_test = _test_row(welch_test(np.asarray(new.values), np.asarray(old.values)), alpha)
    else:
        warnings.append("no test: this segment's customers are not in both the champion and the challenger arm")
    return {
        "segment": name,
        "arms": arms,
        "rate_test": rate_test,
        "value_test": value_test,
        "significant": any(test is not None and test["significant"] for test in (rate_test, value_test)),
        "warnings": warnings,
    }


def experiment_report(
    *,
    session: Session,
    segmentation: str,
    campaign: str,
    event: str | None = None,
    alpha: float = ALPHA,
    min_customers: int = MIN_CUSTOMERS_PER_ARM,
) -> dict[str, Any]:
    """The campaign's A/B report (UnknownCampaign when it has no outcomes)."""
    customers, event_names, has_values, early = _customers(session, segmentation, campaign, event)
    table: dict[str, dict[str, _Cell]] = defaultdict(lambda: defaultdict(_Cell))
    segment_ids: dict[str, int | None] = {}
    unmatched = 0
    for customer in customers.values():
        if not customer.matched:
            unmatched += 1
            continue
        cell = table[customer.segment][customer.arm]
        cell.customers += 1
        cell.conversions += customer.converted
        cell.values.append(customer.value)
        segment_ids.setdefault(customer.segment, customer.segment_id)
    order = sorted(table, key=lambda name: (segment_ids[name] is None, segment_ids[name] or 0, name))
    segments = [
        _segment(name, table[name], has_values=has_values, alpha=alpha, min_customers=min_customers) for name in order
    ]
    warnings = []
    if event is not None and event not in event_names:
        # Nobody converted yet, or a misspelt event: both read as 0%, so say which events there are.
        warnings.append(f"no {event!r} events in this campaign yet; its events are {', '.join(event_names)}")
    if event is None and event_names:
        # Taking part means having an event of the campaign, so "any event" converts every customer: only the
        # values can tell the arms apart until the conversion event is named.
        warnings.append(
            "no conversion event named, so every customer with an event counts as converted (100%): name the event "
            f"that counts (`?event=`; this campaign has {', '.join(event_names)})"
        )
    if unmatched:
        who = (
            "1 customer with events of this campaign was"
            if unmatched == 1
            else f"{unmatched:,} customers with events of this campaign were"
        )
        warnings.append(f"{who} never seen by the service: left out")
    if early:
        what = "1 outcome" if early == 1 else f"{early:,} outcomes"
        warnings.append(f"{what} occurred before the customer's assignment in the experiment: left out")
    if not any({CHAMPION, CHALLENGER} <= set(table[name]) for name in table):
        warnings.append("no segment has customers in both arms: set a split challenger to compare strategies")
    return {
        "segmentation": segmentation,
        "campaign": campaign,
        "conversion_event": event,
        "alpha": alpha,
        "min_customers_per_arm": min_customers,
        "customers": len(customers) - unmatched,
        "unmatched_customers": unmatched,
        "outcomes_before_assignment": early,
        "event_names": event_names,
        "segments": segments,
        "warnings": warnings,
    }
