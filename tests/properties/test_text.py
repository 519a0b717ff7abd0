"""Properties of the text normalisation (pipelines/normalise.py): it never raises, a clean text
stays as it is, and nothing of an article's wording is lost."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawler.items import finish_record
from pipelines.normalise import normalise_record
from pipelines.normalise.pinyin import strip_pinyin_annotations
from pipelines.normalise.script import ScriptConverter
from pipelines.normalise.unicode import normalise_unicode
from tests.conftest import with_body_blocks
from tests.properties.strategies import CJK_PUNCTUATION, HANZI, TRICKY, messy_text, paragraph

CONVERTER = ScriptConverter()


@settings(max_examples=300)
@given(st.text(), st.booleans())
def test_normalise_unicode_never_raises(text: str, keep_newlines: bool) -> None:
    assert isinstance(normalise_unicode(text, keep_newlines=keep_newlines), str)


@settings(max_examples=300)
@given(st.one_of(messy_text, st.text()), st.booleans())
def test_normalise_unicode_is_idempotent(text: str, keep_newlines: bool) -> None:
    once = normalise_unicode(text, keep_newlines=keep_newlines)
    assert normalise_unicode(once, keep_newlines=keep_newlines) == once


@settings(max_examples=200)
@example(text="&amp;amp;")
@given(
    st.lists(st.sampled_from(["&amp;", "amp;", "nbsp;", "lt;", "园区", " "]), max_size=8).map(
        "".join
    )
)
def test_normalise_unicode_is_idempotent_on_entities(text: str) -> None:
    once = normalise_unicode(text)
    assert normalise_unicode(once) == once


@settings(max_examples=200)
@example(text="Ａ\u0301")
@example(text="a\u200b\u0301")
@given(st.text(alphabet="ＡａＺ１aeo\u200b\u00ad\u0301\u0308\u0323 ", max_size=6))
def test_normalise_unicode_is_idempotent_on_combining_marks(text: str) -> None:
    once = normalise_unicode(text)
    assert normalise_unicode(once) == once


@settings(max_examples=80)
@given(st.lists(paragraph, min_size=1, max_size=5))
def test_normalise_unicode_keeps_article_paragraphs_as_they_are(paragraphs: list[str]) -> None:
    body = "\n".join(paragraphs)
    assert normalise_unicode(body) == body


@settings(max_examples=200)
@given(st.text(alphabet=HANZI + CJK_PUNCTUATION + " \n\u3000\xa0", max_size=80))
def test_normalise_unicode_never_loses_a_han_character(text: str) -> None:
    kept = [ch for ch in normalise_unicode(text) if ch in HANZI]
    assert kept == [ch for ch in text if ch in HANZI]


@settings(max_examples=300)
@given(st.one_of(messy_text, st.text()), st.integers(min_value=0, max_value=5))
def test_strip_pinyin_annotations_never_raises_and_is_idempotent(
    text: str, min_repeats: int
) -> None:
    once = strip_pinyin_annotations(text, min_repeats)
    assert once.removed >= 0
    assert strip_pinyin_annotations(once.text, min_repeats).text == once.text


@settings(max_examples=100)
@given(st.text(alphabet=HANZI + CJK_PUNCTUATION, max_size=60))
def test_strip_pinyin_annotations_leaves_text_without_readings_alone(text: str) -> None:
    result = strip_pinyin_annotations(text)
    assert (result.text, result.removed) == (text, 0)


record_texts = st.fixed_dictionaries(
    {
        "title": messy_text,
        "body": st.one_of(messy_text, st.lists(paragraph, max_size=4).map("\n".join)),
        "source": st.one_of(st.none(), messy_text),
        "author": st.one_of(st.none(), messy_text),
        "section": st.one_of(st.none(), messy_text),
        "site_name": messy_text,
        "images": st.lists(
            st.fixed_dictionaries(
                {"url": st.just("http://a.test/1.jpg"), "caption": st.one_of(st.none(), messy_text)}
            ),
            max_size=2,
        ),
        "attachments": st.lists(
            st.fixed_dictionaries({"url": st.just("http://a.test/1.pdf"), "name": messy_text}),
            max_size=2,
        ),
    }
)
TEXT_KEYS = ("title", "body", "source", "author", "section", "site_name")


def texts_of(record: dict[str, Any]) -> list[Any]:
    nested = [i["caption"] for i in record["images"]] + [a["name"] for a in record["attachments"]]
    return [record[key] for key in TEXT_KEYS] + nested


@settings(max_examples=80)
@given(record_texts)
def test_normalise_record_never_raises_and_leaves_the_input_alone(record: dict[str, Any]) -> None:
    record = with_body_blocks(record)
    before = repr(record)
    out = normalise_record(record, converter=CONVERTER)
    assert repr(record) == before
    assert out["original_script"] in ("Hans", "Hant")


@settings(max_examples=60)
@given(record_texts)
def test_normalise_record_is_idempotent_on_its_texts(record: dict[str, Any]) -> None:
    once = normalise_record(with_body_blocks(record), converter=CONVERTER)
    twice = normalise_record(once, converter=CONVERTER)
    assert texts_of(finish_record(twice)) == texts_of(finish_record(once))
    assert twice["normalisations"] == []


def test_the_tricky_fragments_reach_the_policy() -> None:
    """The messy strategy is only useful while its fragments still exercise the policy."""
    changed = [t for t in TRICKY if normalise_unicode(t) != t]
    assert len(changed) >= 10
