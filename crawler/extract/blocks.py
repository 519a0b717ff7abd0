"""An element turned into paragraph blocks, images and attachments, in page order."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from crawler.extract.tree import (
    BLOCK_TAGS,
    SKIPPED_TAGS,
    element_text,
    is_furniture,
    is_hidden,
)
from crawler.items import Attachment, Image
from crawler.text.inline import clean_inline
from crawler.text.vocabulary import CAPTION_OPENING, IMAGE_LABEL_OPENING, RELATED_LINKS_HEADING
from crawler.urls import safe_urljoin

ATTACHMENT_EXTENSIONS = (
    ".pdf",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".zip",
    ".rar",
    ".7z",
    ".wps",
    ".ofd",
    ".csv",
    ".txt",
    ".et",
)

ANY_ATTACHMENT_EXTENSION = re.compile("|".join(map(re.escape, ATTACHMENT_EXTENSIONS)))
"""An attachment extension anywhere in a text: one regex search instead of one per extension."""

# A line that is an attachment link (stood in for by \x00) with at most a label and a number.
ATTACHMENT_LINE = re.compile(
    r"(?:相关)?(?:附件\s*\d*\s*[:：]?\s*)?(?:[(（]?\d{1,2}[.、)）]\s*)?[【\[]?\x00[】\]]?"
    r"(?:\s*[(（]?\d+(?:\.\d+)?\s*[KMG]?B[)）]?)?"
)

# What may stand beside the link on a line that is only a link: numbering, bullets, a date.
LINK_LINE = re.compile(r"[\s·•\-–—>»|｜\d.、()（）\[\]【】/年月日:：]*")

ATTACHMENT_LABEL = re.compile(r"^(?:相关)?附件\s*\d*\s*[:：]\s*")

# Real URL first: lazy loaders keep a placeholder in src and the image elsewhere.
LAZY_IMAGE_ATTRIBUTES = ("data-lazy-src", "data-original", "data-src", "data-echo", "src")

FURNITURE_IMAGE_ALTS = frozenset(
    {"微信", "微博", "QQ空间", "QQ", "二维码", "分享", "打印", "关闭", "返回顶部", "微信扫一扫"}
)

FURNITURE_IMAGE_NAME = re.compile(
    r"(?:qrcode|qr_?code|ewm|erweima|^fx_|share|icon|logo|btn|button|arrow|print|close)"
)

GENERIC_IMAGE_ALTS = frozenset({"", "图片", "image", "img", "pic", "photo", "图"})

CELL_SEPARATOR = "\x1f"

ATTACHMENT_SEARCH_LEVELS = 2

CONTENT_MARK = "\ufffcparknews-content\ufffc"

MAX_CAPTION_CHARS = 80


@dataclass
class Block:
    """A paragraph-level piece of text from the page, with hints about how it was laid out."""

    text: str
    centered: bool = False
    caption: bool = False
    attachment_only: bool = False
    link_only: bool = False


def is_furniture_image(src: str, alt: str) -> bool:
    """Share icons, QR codes, logos and buttons: images of the page, not of the article."""
    name = src.split("?", 1)[0].rsplit("/", 1)[-1].lower()
    return alt in FURNITURE_IMAGE_ALTS or FURNITURE_IMAGE_NAME.search(name) is not None


def is_attachment_link(href: str, text: str) -> bool:
    """True for links to files: by extension of the URL or of the link text, or a download URL."""
    path = href.split("?", 1)[0].split("#", 1)[0].lower()
    label = text.lower().strip()
    return (
        path.endswith(ATTACHMENT_EXTENSIONS)
        or label.endswith(ATTACHMENT_EXTENSIONS)
        or ("download" in href.lower() and bool(label))
    )


class BlockWalker:
    """Turns an element into paragraph blocks, images and attachments, in page order.

    `lines_only` walks for the text lines alone (images, links and attachments are not
    looked at, nor whether a line is centred or a caption): how the page around the article
    is read. With `stand_in` and `lines_after`, the walk ends once that many lines follow the
    stand-in. `text_of` gives a link's text (`element_text`, or the page's `PageFacts.text`,
    which has most links' text already).
    """

    def __init__(
        self,
        base_url: str,
        stand_in: etree._Element | None = None,
        skip_furniture: bool = False,
        lines_only: bool = False,
        lines_after: int | None = None,
        text_of: Callable[[etree._Element], str] = element_text,
    ) -> None:
        self.base_url = base_url
        self.text_of = text_of
        self.stand_in = stand_in
        self.lines_after = lines_after
        self._stop_at: float = math.inf
        self.skip_furniture = skip_furniture
        self.lines_only = lines_only
        self.blocks: list[Block] = []
        self.images: list[tuple[int, str, str]] = []
        self.attachments: list[Attachment] = []
        self._line: list[str] = []
        self._line_links: list[str] = []
        self._line_any_links: list[str] = []
        self._centered = False
        self._caption = False

    def walk(self, element: etree._Element) -> None:
        """Walk `element` and everything under it."""
        self._visit(element, top=True)
        self._flush()

    def _flush(self) -> None:
        if not self._line:
            return
        line = "".join(self._line)
        if CELL_SEPARATOR in line:
            text = "\t".join(c for c in map(clean_inline, line.split(CELL_SEPARATOR)) if c)
        else:
            text = clean_inline(line)
        if text:
            linked = clean_inline("".join(self._line_links)) if self._line_links else ""
            attachment_only = bool(linked) and bool(
                ATTACHMENT_LINE.fullmatch(text.replace(linked, "\x00", 1))
            )
            all_linked = clean_inline("".join(self._line_any_links)) if self._line_any_links else ""
            link_only = (
                bool(all_linked) and LINK_LINE.fullmatch(text.replace(all_linked, "")) is not None
            )
            self.blocks.append(
                Block(text, self._centered, self._caption, attachment_only, link_only)
            )
        self._line = []
        self._line_links = []
        self._line_any_links = []

    def _visit(self, node: etree._Element, top: bool = False) -> None:
        tag = node.tag
        if (
            not isinstance(tag, str)
            or tag in SKIPPED_TAGS
            or (not top and (is_hidden(node) or (self.skip_furniture and is_furniture(node))))
        ):
            self._tail(node, top)
            return
        if node is self.stand_in:
            self._flush()
            self.blocks.append(Block(CONTENT_MARK))
            self._tail(node, top)
            if self.lines_after is not None:
                self._stop_at = len(self.blocks) + self.lines_after
            return
        block = tag in BLOCK_TAGS
        saved = (self._centered, self._caption)
        if block:
            self._flush()
        if block and not self.lines_only:  # lines are read for their text alone
            style = (node.get("style") or "").replace(" ", "").lower()
            own_centered = "text-align:center" in style or node.get("align") == "center"
            own_caption = tag == "figcaption" or "caption" in (node.get("class") or "").lower()
            self._centered = self._centered or own_centered or tag == "center"
            self._caption = self._caption or own_caption
        if tag == "br":
            self._flush()
        elif tag == "img":
            if not self.lines_only:
                self._image(node)
        elif tag in ("td", "th") and self._line:
            self._line.append(CELL_SEPARATOR)
        text = node.text  # lxml decodes the text anew on every read: read once
        if text:
            self._line.append(text)
        links_before = len(self._line)
        for child in node:
            if len(self.blocks) >= self._stop_at:
                return  # the lines wanted are all read
            self._visit(child)
        if tag == "a" and not self.lines_only:
            link_text = ([text] if text else []) + self._line[links_before:]
            self._line_any_links.extend(link_text)
            if self._link(node):
                self._line_links.extend(link_text)
        if block:
            self._flush()
            self._centered, self._caption = saved
        self._tail(node, top)

    def _tail(self, node: etree._Element, top: bool) -> None:
        if not top and (tail := node.tail):
            self._line.append(tail)

    def _image(self, node: etree._Element) -> None:
        src = next(
            (
                value
                for name in LAZY_IMAGE_ATTRIBUTES
                if (value := (node.get(name) or "").strip()) and not value.startswith("data:")
            ),
            "",
        )
        alt = clean_inline(node.get("alt") or node.get("title") or "")
        if not src or is_furniture_image(src, alt):
            return
        if alt.lower() in GENERIC_IMAGE_ALTS or re.search(r"\.(?:jpe?g|png|gif|bmp)$", alt, re.I):
            alt = ""
        self._flush()
        url = safe_urljoin(self.base_url, src)
        if url is not None:
            self.images.append((len(self.blocks), url, alt))

    def _link(self, node: etree._Element) -> bool:
        """Record the link when it points at an attachment; True when it does."""
        href = (node.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#", "mailto:")):
            return False
        name = self.text_of(node)
        if not is_attachment_link(href, name):
            return False
        url = safe_urljoin(self.base_url, href)
        if url is None:
            return True  # an attachment line still, though its link leads nowhere
        if all(a["url"] != url for a in self.attachments):
            name = ATTACHMENT_LABEL.sub("", name) or urlsplit(url).path.rsplit("/", 1)[-1]
            self.attachments.append(Attachment(url=url, name=name))
        return True

    def result(self) -> tuple[list[str], list[Image], list[Attachment]]:
        """Body blocks with captions and attachment-only lines taken out, images, attachments."""
        taken: set[int] = set()
        images: list[Image] = []
        for position, url, alt in self.images:
            caption: str | None = alt or None
            if position < len(self.blocks):
                after = self.blocks[position]
                looks_like_caption = (
                    after.caption
                    or CAPTION_OPENING.match(after.text)
                    or IMAGE_LABEL_OPENING.match(after.text)
                    or (after.centered and len(after.text) <= MAX_CAPTION_CHARS)
                )
                if looks_like_caption and len(after.text) <= MAX_CAPTION_CHARS:
                    caption = after.text
                    taken.add(position)
            images.append(Image(url=url, caption=caption))
        listed = link_list_blocks(self.blocks)
        blocks = [
            b.text
            for i, b in enumerate(self.blocks)
            if i not in taken and i not in listed and not b.attachment_only
        ]
        return blocks, images, self.attachments


def link_list_blocks(blocks: list[Block]) -> set[int]:
    """Positions of lines that only link to other pages and stand in a list: a run of two or
    more such lines, or one right after a "相关链接"-style heading."""
    listed: set[int] = set()
    for i, block in enumerate(blocks):
        if not block.link_only:
            continue
        neighbours = (i > 0 and blocks[i - 1].link_only) or (
            i + 1 < len(blocks) and blocks[i + 1].link_only
        )
        after_heading = i > 0 and RELATED_LINKS_HEADING.fullmatch(blocks[i - 1].text) is not None
        if neighbours or after_heading:
            listed.add(i)
    return listed


def page_lines(
    root: etree._Element, content: etree._Element, base_url: str, lines_after: int | None = None
) -> tuple[list[str], list[str]]:
    """The page's visible text lines before and after the content container; of those after
    it, the first `lines_after` (all of them when None)."""
    walker = BlockWalker(base_url, stand_in=content, lines_only=True, lines_after=lines_after)
    walker.walk(root)
    lines = [b.text for b in walker.blocks]
    if CONTENT_MARK in lines:
        at = lines.index(CONTENT_MARK)
        return lines[:at], lines[at + 1 :][:lines_after]
    return lines, []


def following_attachments(content: etree._Element, base_url: str) -> Iterator[Attachment]:
    """Attachment links placed after the content container, within its article block
    (VSB puts them after the content's wrapper, so two levels of ancestors are searched)."""
    node: etree._Element | None = content
    for _ in range(ATTACHMENT_SEARCH_LEVELS):
        if node is None or node.tag in ("body", "html"):
            return
        for sibling in node.itersiblings():
            if isinstance(sibling.tag, str) and may_hold_attachments(sibling):
                walker = BlockWalker(base_url)
                walker.walk(sibling)
                yield from walker.attachments
        node = node.getparent()


def may_hold_attachments(element: etree._Element) -> bool:
    """False when no link under `element` can be an attachment (a quick test on raw link
    text, looser than `is_attachment_link` on visible text), so it need not be walked."""
    for link in element.iter("a"):
        href = link.get("href") or ""
        text = "".join(map(str, link.itertext())).lower()
        if ANY_ATTACHMENT_EXTENSION.search(text) or is_attachment_link(href, text):
            return True
    return False
