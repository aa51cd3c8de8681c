"""The transaction lines an RFM build left out of every customer's R, F and M, by reason, in words.

Training keeps these counts in a version's `rfm_summary`; this says them where a version's notes and facts are read
(the job's notes, `/model/info`, `/about`, a run's page), so a third of a file dropped for "€12.50" amounts does not
pass as a clean build. Cancellations are not here: they are netted into monetary, not left out.
"""

from collections.abc import Mapping
from typing import Any

# Why an amount that reads as money to a person ("€283,16", "$1,234.50", "283.16 EUR") is not a number here: said
# with every such reason, the usual cause in an accounting or CRM export.
PLAIN_AMOUNTS = "amounts are read without a currency sign or code and without thousands separators"
# Each count of the summary that is lines in no customer, with how a reader is told why (the /score page says these).
LEFT_OUT_REASONS = (
    ("rows_without_customer_id", "without a customer id"),
    ("unparseable_dates", "with a date that could not be read"),
    ("future_dates", "dated after tomorrow"),
    ("rows_without_amount", "without an amount"),
    ("amounts_not_numbers", f"with an amount that is not a number ({PLAIN_AMOUNTS})"),
    ("amounts_too_large", "with an amount beyond ±1e15"),
    ("malformed_rows", "with the wrong number of fields"),
    ("rows_after_reference_date", "after the reference date"),
)


def left_out_lines(summary: Mapping[str, Any] | None) -> dict[str, int]:
    """Each reason lines were left out of the customers, in words, with how many (only reasons that left some)."""
    summary = summary or {}
    counts = {text: summary.get(key) for key, text in LEFT_OUT_REASONS}
    return {text: count for text, count in counts.items() if isinstance(count, int) and count > 0}


def left_out_text(summary: Mapping[str, Any] | None) -> str:
    """The lines left out as one phrase, largest first: "69 of the 200 transaction lines were left out: 68 with ..."."""
    reasons = sorted(left_out_lines(summary).items(), key=lambda item: -item[1])
    if not reasons:
        return ""
    total = sum(count for _, count in reasons)
    read = (summary or {}).get("rows_read")
    of = f" of the {read:,}" if isinstance(read, int) else ""
    verb = "was" if total == 1 else "were"
    return f"{total:,}{of} transaction lines {verb} left out: " + ", ".join(
        f"{count:,} {text}" for text, count in reasons
    )


def left_out_notes(info: Mapping[str, Any]) -> list[str]:
    """A note for a version's notes when its transactions file had lines no customer was built from."""
    text = left_out_text(info.get("rfm_summary"))
    return [text] if text else []
