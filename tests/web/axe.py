"""axe-core in a Playwright page: the copy bundled in axe-playwright-python's wheel, so nothing is fetched."""

from typing import Any

from axe_playwright_python.sync_playwright import Axe

# WCAG 2.0-2.2 A and AA, and axe's best practices (landmark-unique, region and the like).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}

_axe = Axe()


def axe_violations(page) -> list[dict[str, Any]]:
    """What axe finds wrong on the page as it is now: one entry per rule, with the elements that break it."""
    return _axe.run(page, options=AXE_OPTIONS).response["violations"]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation: rule, impact and the first few elements, for an assertion message."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:5]}" for v in violations
    )
