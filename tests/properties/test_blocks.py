"""Properties of body cleaning (pipelines/boilerplate.py, pipelines/repeats.py): it never raises,
cleaning a cleaned body changes nothing, and an article's paragraphs always survive."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipelines.blocktext import repeat_key
from pipelines.boilerplate import clean_blocks
from pipelines.repeats import drop_repeated_blocks
from tests.properties.strategies import messy_text, noise_block, paragraph, prose

blocks = st.lists(st.one_of(messy_text, st.text(max_size=30)), max_size=12)
titles = st.one_of(st.none(), messy_text)


@settings(max_examples=120)
@given(blocks)
def test_drop_repeated_blocks_never_raises_and_is_idempotent(given_blocks: list[str]) -> None:
    once = drop_repeated_blocks(given_blocks)
    assert drop_repeated_blocks(once) == once


@settings(max_examples=120)
@given(st.lists(st.one_of(paragraph, noise_block), max_size=12))
def test_drop_repeated_blocks_keeps_one_copy_of_everything_in_order(
    given_blocks: list[str],
) -> None:
    kept = drop_repeated_blocks(given_blocks)
    remaining = iter(given_blocks)
    assert all(any(block == other for other in remaining) for block in kept)  # a subsequence
    assert {repeat_key(b) for b in kept} == {repeat_key(b) for b in given_blocks}


@settings(max_examples=120)
@given(blocks, titles)
def test_clean_blocks_never_raises(given_blocks: list[str], title: str | None) -> None:
    result = clean_blocks(given_blocks, title=title)
    assert all(isinstance(block, str) and block for block in result.blocks)


@settings(max_examples=120)
@given(st.lists(st.one_of(paragraph, noise_block), max_size=12), titles)
def test_cleaning_a_cleaned_body_changes_nothing(
    given_blocks: list[str], title: str | None
) -> None:
    once = list(clean_blocks(given_blocks, title=title).blocks)
    twice = clean_blocks(once, title=title)
    assert list(twice.blocks) == once


@settings(max_examples=120)
@given(
    st.lists(noise_block, max_size=4),
    st.lists(prose, min_size=2, max_size=6, unique=True),
    st.lists(noise_block, max_size=4),
    titles,
)
def test_an_article_with_paragraphs_never_comes_back_empty(
    head: list[str], paragraphs: list[str], tail: list[str], title: str | None
) -> None:
    result = clean_blocks([*head, *paragraphs, *tail], title=title)
    assert result.blocks
    kept = set(result.blocks)
    # Only the title may be taken out of the paragraphs (a page that repeats it as a lead).
    assert [p for p in paragraphs if p not in kept and p != title] == []


@settings(max_examples=100)
@example(
    captions=[
        "图为园区新建成的人才公寓，共有房源一千二百套。",
        "图为人才公寓的共享客厅，配有图书角。",
    ]
)
@given(st.lists(paragraph.map(lambda p: "图为" + p), min_size=2, max_size=4, unique=True))
def test_a_photo_story_of_captions_never_comes_back_empty(captions: list[str]) -> None:
    assert clean_blocks(captions).blocks
