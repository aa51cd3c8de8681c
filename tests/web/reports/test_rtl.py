"""Right-to-left text for the PDF: reordered and joined only where it has right-to-left letters."""

from app.web.reports.rtl import isolated, visual
from app.web.reports.text import composition_text


def test_text_without_right_to_left_letters_is_left_as_it_is():
    for text in ("VIP / Whale · 12 customers (30.0%)", "Москва 40%", "顧客"):
        assert visual(text) == text and isolated(text) == text


def test_an_isolated_name_keeps_the_sentence_after_it_in_place():
    # Without isolation the Bidi algorithm reads "· 12" as part of the Arabic name and moves it before it.
    shown = visual(f"{isolated('عملاء')} · 12 customers")
    assert shown.endswith(" · 12 customers") and not shown.startswith("12")
    assert not set(shown) & set("\u2066\u2067\u2068\u2069\u200e\u200f")  # direction controls are not drawn
    assert "\ufecb" in shown  # ع in its initial (joined) form


def test_hebrew_is_put_in_reading_order():
    assert visual("שלום") == "םולש"


def test_right_to_left_values_of_a_composition_are_isolated():
    from types import SimpleNamespace

    from app.services.reports.data import Composition

    segment = SimpleNamespace(compositions=[Composition("Region", [("القاهرة", 0.6), ("Giza", 0.4)])])
    assert composition_text(segment) == [("Region", "\u2068القاهرة\u2069 60%, Giza 40%")]
