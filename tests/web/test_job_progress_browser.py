"""In Chromium: a new segmentation's first training job is followed in words, never by its internal stage names."""

import json

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("progress", "words"),
    [
        ({"stage": "k_sweep", "step": 2, "of": 9, "k": 3}, "Training: Comparing k: step 2 of 9 (k=3)…"),
        (
            {"stage": "building_rfm", "bytes_read": 250, "of": 1000},
            "Training: Building each customer's recency, frequency and monetary value: 25% of the file…",
        ),
        ({"stage": "cleaning", "rows_read": 50000}, "Training: Read 50,000 rows; cleaning the rows…"),
        ({"stage": "fitting", "k": 4}, "Training: Fitting the segments…"),
    ],
)
def test_the_first_training_notice_says_what_the_job_is_doing(page, base_url, progress, words):
    job = {"job_id": "abc", "state": "running", "progress": progress}
    page.route("**/api/v1/jobs/abc", lambda route: route.fulfill(content_type="application/json", body=json.dumps(job)))
    page.goto(f"{base_url}/models?job=abc")
    expect(page.locator('#job-started [data-role="job-status"]')).to_have_text(words)
    assert page.watch.errors == [] and page.watch.foreign_requests() == []
