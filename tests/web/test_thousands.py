"""Counts of customers on the pages read with thousands separators, as every other count there does."""

import re

from app.models.synthetic import write_customers
from app.models.training import train
from tests.web.test_score_page import post_file

HTML = {"accept": "text/html"}


def test_score_map_legend_writes_counts_with_thousands_separators(client):
    rows = "\n".join(f"{i},100,80" for i in range(1, 1201))
    page = post_file(client, f"CustomerID,Annual Income (k$),Spending Score (1-100)\n{rows}\n".encode())
    assert page.status_code == 200
    assert "1,200 customers scored" in page.text
    legend = re.search(r'<ul class="legend" aria-label="Segments">(.*?)</ul>', page.text, re.S).group(1)
    assert "(1,200 customers," in legend and "1200" not in legend


def test_about_statistics_write_segment_sizes_with_thousands_separators(client_for, tmp_path):
    output = tmp_path / "models_artifacts"
    data = write_customers(tmp_path / "customers.csv", rows=6000)
    train(data, output_dir=output, processed_dir=tmp_path, sweep=False)
    page = client_for(model_dir=output, auto_train=False).get("/about", headers=HTML)
    assert page.status_code == 200
    sizes = re.findall(r'<td data-col="size" data-label="Customers">([^<]*)</td>', page.text)
    large = [size for size in sizes if int(size.replace(",", "")) >= 1000]
    assert large and all("," in size for size in large), sizes
