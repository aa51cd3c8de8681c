"""The report's fonts: CJK runs in the PDF's standard Asian fonts, and a CJK fallback for the charts."""

import warnings
from dataclasses import replace
from pathlib import Path

from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.reports.version import version_report
from app.web.reports.charts import sizes_chart
from app.web.reports.fonts import CHART_FONT_FILES, CHINESE, JAPANESE, KOREAN, chart_families, cjk_font, markup, runs
from tests.tools import unavailable


def test_a_text_is_cut_into_runs_with_the_font_its_script_needs():
    expected = [("VIP ", None), ("高价值", CHINESE), (" ", None), ("客户", CHINESE), ("!", None)]
    assert list(runs("VIP 高价值 客户!")) == expected
    assert cjk_font("東京のお客様") == JAPANESE  # kana make the ideographs Japanese
    assert cjk_font("서울 고객") == KOREAN and cjk_font("高价值") == CHINESE
    assert list(runs("Plain <text> & more")) == [("Plain <text> & more", None)]
    assert list(runs("")) == []


def test_markup_escapes_every_run_and_sets_cjk_runs_in_their_font():
    assert markup("a<b> 客&户") == f'a&lt;b&gt; <font name="{CHINESE}">客</font>&amp;<font name="{CHINESE}">户</font>'


def test_charts_draw_cjk_names_with_the_machines_cjk_font(model_dir: Path, caplog):
    if not any(Path(path).is_file() for path in CHART_FONT_FILES):
        unavailable("no CJK font is installed (Debian package fonts-wqy-zenhei; `bash setup.sh test` installs it)")
    assert len(chart_families()) == 2
    report = version_report(registry=ModelRegistry(VersionStore(model_dir)).load(), version="active", segmentation="x")
    names = ["高价值客户", "お得意様", "충성 고객"]
    report = replace(report, segments=[replace(s, name=names[i % 3]) for i, s in enumerate(report.segments)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sizes_chart(report)
    # Without the fallback, matplotlib warns "Glyph ... missing from font(s) DejaVu Sans" for each letter.
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    assert [r.message for r in caplog.records if "findfont" in r.message] == []  # nor a line about its weight
