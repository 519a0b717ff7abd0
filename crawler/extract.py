"""The one extractor for Chinese government CMS article pages: HTML in, record fields out.

Order of evidence: the page's own metadata (the national government-site meta tags, OpenGraph,
`<title>`), then its structure (title heading, the "时间: … 来源: …" meta line, the content
container), then text density when no known container holds the article.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urlsplit

from lxml import etree
from parsel import Selector
from parsel.csstranslator import css2xpath

from crawler.record import ArticleRecord, Attachment, Image
from crawler.sites import Selectors, SiteProfile
from crawler.urls import canonical_url, record_id, safe_urljoin

# Containers that government CMS families put the article body in, most specific first.
KNOWN_BODY_SELECTORS = (
    "div.TRS_Editor",
    "#js_content",
    ".entry-content",
    ".post-content",
    ".detail-text",
    ".detail-content",
    ".bt_content",
    "div.TRS_UEDITOR",
    "div.trs_editor_view",
    "#zoom",
    ".v_news_content",
    "#vsb_content",
    "#UCAP-CONTENT",
    ".article-content",
    ".news-content",
    ".art_con",
    ".article_con",
    ".pages_content",
    "#ivs_content",
    ".main-txt",
    "article",
    "#content",
    ".content",
)
TITLE_CANDIDATES = (
    "h1",
    ".article-title",
    ".arti_title",
    ".news-title",
    "td.title",
    "div.title",
    "h2",
    "[class*=title]",
)
SKIPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "select",
        "button",
        "input",
        "textarea",
        "option",
        "svg",
        "head",
    }
)
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "tbody",
        "thead",
        "blockquote",
        "pre",
        "section",
        "article",
        "dl",
        "dt",
        "dd",
        "center",
        "figure",
        "figcaption",
        "form",
        "header",
        "footer",
        "main",
        "aside",
        "nav",
        "hr",
        "address",
        "body",
        "caption",
    }
)
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
# A line that is an attachment link (stood in for by \x00) with at most a label and a number.
ATTACHMENT_LINE = re.compile(
    r"(?:相关)?(?:附件\s*\d*\s*[:：]?\s*)?(?:[(（]?\d{1,2}[.、)）]\s*)?[【\[]?\x00[】\]]?"
    r"(?:\s*[(（]?\d+(?:\.\d+)?\s*[KMG]?B[)）]?)?"
)
# What may stand beside the link on a line that is only a link: numbering, bullets, a date.
LINK_LINE = re.compile(r"[\s·•\-–—>»|｜\d.、()（）\[\]【】/年月日:：]*")
RELATED_HEADING = re.compile(
    r"[【\[]?(?:相关|延伸|推荐|热点)(?:链接|阅读|新闻|文章|信息)[】\]]?[:：]?"
)
ATTACHMENT_LABEL = re.compile(r"^(?:相关)?附件\s*\d*\s*[:：]\s*")
FURNITURE_TAGS = frozenset({"nav", "aside", "footer"})
FURNITURE_NAME = re.compile(
    r"(?:ad|ads|adv|advert\w*|ad[-_]?(?:box|tag|banner|wrap)|guanggao|gg[-_]?box"
    r"|share\w*|bdshare\w*|bshare\w*|jiathis\w*|print[-_]?(?:bar|btn)|footer|breadcrumb)"
)
# Real URL first: lazy loaders keep a placeholder in src and the image elsewhere.
LAZY_IMAGE_ATTRIBUTES = ("data-lazy-src", "data-original", "data-src", "data-echo", "src")
FURNITURE_IMAGE_ALTS = frozenset(
    {"微信", "微博", "QQ空间", "QQ", "二维码", "分享", "打印", "关闭", "返回顶部", "微信扫一扫"}
)
FURNITURE_IMAGE_NAME = re.compile(
    r"(?:qrcode|qr_?code|ewm|erweima|^fx_|share|icon|logo|btn|button|arrow|print|close)"
)
GENERIC_IMAGE_ALTS = frozenset({"", "图片", "image", "img", "pic", "photo", "图"})
BINARY_MAGIC = ("%PDF", "\x89PNG", "GIF8", "PK\x03\x04", "\xff\xd8\xff", "Rar!")
MIN_BODY_CHARS = 20
# Pages wrapped in thousands of bare <div>s (a broken template loop) would exceed the parser's
# depth limit and Python's recursion limit; runs this long are collapsed to one.
BARE_DIV_RUN = 64
BARE_DIV_OPENINGS = re.compile(rf"(?:<div\s*>\s*){{{BARE_DIV_RUN},}}", re.I)
BARE_DIV_CLOSINGS = re.compile(rf"(?:</div\s*>\s*){{{BARE_DIV_RUN},}}", re.I)
DATE_ONLY_LENGTH = len("2024-03-15")
CELL_SEPARATOR = "\x1f"
ATTACHMENT_SEARCH_LEVELS = 2
CONTENT_MARK = "\ufffcparknews-content\ufffc"
MAX_CAPTION_CHARS = 80
MAX_LINK_DENSITY = 0.5
# Candidates scoring at least this share of the best are "the same article"; the deepest wins.
CLOSE_TO_BEST = 0.85
SENTENCE_MARKS = ("，", "。", "；", "！", "？", "、", ",")
CAPTION_START = re.compile(r"^(?:图为|图：|图:|▲|△|\(图\)|（图）|图\s*\d)")

ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
CHINA_TIME = timezone(timedelta(hours=8))
DATE_PATTERN = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2}))?)?"
)
DATE_LABEL = re.compile(
    r"(?:发布时间|发布日期|发表时间|发文日期|更新时间|时间|日期|發布時間|發佈時間|發布日期|時間)\s*[:：]\s*"
)
SOURCE_LABEL = re.compile(r"(?:信息来源|文章来源|稿件来源|来源|來源|出处)\s*[:：]\s*")
AUTHOR_LABEL = re.compile(r"(?:作者|作\s+者|撰稿)\s*[:：]\s*")
PHOTOGRAPHER_LABEL = re.compile(r"(?:摄影|摄像|图片)\s*[:：]\s*")
EDITOR_LINE = re.compile(r"[【\[]?(?:责任编辑|责编|编辑)\s*[:：]\s*([^\s:：|｜】\]]{2,12})[】\]]?")
EDITOR_LINE_WINDOW = 6
META_LINE_MAX_CHARS = 200
INNER_META_WINDOW = 3
BARE_META_REST_CHARS = 30
SENTENCE_END = re.compile(r"[。！？；]")
PUBLICATION_LABEL = re.compile(r"(?:发布|发表|发文|更新|發布|發佈)(?:时间|日期|時間)\s*[:：]")
META_FIELD = re.compile(
    r"(?:来源|來源|作者|浏览|瀏覽|点击|點擊|阅读|閱讀|字号|字號|编辑|編輯|时间|日期|時間)\s*[:：次量]"
)
PLACEHOLDER_VALUES = frozenset(
    {
        "未知",
        "佚名",
        "admin",
        "administrator",
        "管理员",
        "系统管理员",
        "本站",
        "网络",
        "不详",
        "无",
        "null",
        "none",
        "-",
        "--",
    }
)
ORGANISATION_NAME = re.compile(
    r"(?:中心|局|办|办公室|委员会|管委会|委|厅|部|处|科|院|所|站|网|报|报社|社|台|集团|公司|政府|街道)$"
)
NAME_SEPARATORS = re.compile(r"[\s,，、;；]+")
PERSONAL_NAME = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf·]{2,5}")
FIELD_END = re.compile(
    r"\s*(?:[|｜]|浏览|点击|阅读|访问|评论|作者|字号|字体|发布|時間|时间|日期|编辑|责任编辑|来源|來源|摄影"
    r"|【|\[|分享|打印|$)"
)
BREADCRUMB_LABEL = re.compile(
    r"^(?:当前位置|您当前的位置|您的位置|您现在的位置|所在位置|当前位置是)\s*[:：]?"
)
BREADCRUMB_SPLIT = re.compile(r"\s*(?:>>|>|»|›|→|/|＞)\s*")
BREADCRUMB_TAIL_WORDS = frozenset({"正文", "详情", "内容", "文章", "详细"})
CJK_WRAP = re.compile(
    r"(?<=[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef])[ \t\r]*\n\s*"
    r"(?=[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef])"
)
TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|-{1,2}|—)\s*")
INLINE_SPACE = re.compile(r"[\s\u3000\xa0]+")


class NotAnArticle(Exception):
    """The page holds no article; the message says what was missing, for one log line."""


@dataclass
class Block:
    """A paragraph-level piece of text from the page, with hints about how it was laid out."""

    text: str
    centered: bool = False
    caption: bool = False
    attachment_only: bool = False
    link_only: bool = False


@dataclass
class Extraction:
    """What the extractor found on one article page, before records and cleaning."""

    title: str
    published_at: str | None
    source: str | None
    author: str | None
    editor: str | None
    photographer: str | None
    section: str | None
    site_name: str | None
    canonical_url: str
    body_blocks: list[str]
    images: list[Image] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def parse_datetime(text: str) -> str | None:
    """The first date in `text` as "YYYY-MM-DDTHH:MM:SS+08:00", or "YYYY-MM-DD" with no time.

    ISO 8601 stamps with an offset ("2024-06-12T01:30:00+00:00", "…Z") are moved to +08:00;
    every other time is taken as China time.
    """
    iso = ISO_DATETIME.search(text)
    if iso is not None:
        try:
            moment = datetime.fromisoformat(iso[0].replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is not None:
                moment = moment.astimezone(CHINA_TIME).replace(tzinfo=None)
            return moment.replace(microsecond=0).isoformat() + "+08:00"
    match = DATE_PATTERN.search(text)
    if match is None:
        return None
    try:
        day = datetime(int(match["y"]), int(match["m"]), int(match["d"]))
        if match["H"] is None:
            return day.date().isoformat()
        moment = day.replace(
            hour=int(match["H"]), minute=int(match["M"]), second=int(match["S"] or 0)
        )
    except ValueError:
        return None
    return moment.isoformat() + "+08:00"


def most_precise(*candidates: str | None) -> str | None:
    """The first date found, completed with a time of day from a later one of the same day."""
    found = [c for c in candidates if c]
    if not found:
        return None
    first = found[0]
    if len(first) == DATE_ONLY_LENGTH:
        for later in found[1:]:
            if len(later) > DATE_ONLY_LENGTH and later.startswith(first):
                return later
    return first


def clean_inline(text: str) -> str:
    """Drop line wraps of the HTML source between Chinese characters, collapse other runs of
    whitespace (including U+3000 and NBSP) to one space, and trim."""
    if "\n" in text:
        text = CJK_WRAP.sub("", text)
    return INLINE_SPACE.sub(" ", text).strip()


@lru_cache(maxsize=512)
def compiled_css(query: str) -> etree.XPath:
    """A CSS selector translated as parsel does and compiled once, not on every page."""
    return etree.XPath(css2xpath(query))


SIMPLE_SELECTOR = re.compile(r"(?P<tag>[a-z][a-z0-9]*)?(?P<names>(?:[.#][\w-]+)*)", re.I)
SELECTOR_NAME = re.compile(r"[.#]([\w-]+)")


@lru_cache(maxsize=512)
def selector_needles(query: str) -> tuple[str, ...] | None:
    """Strings a page's lower-cased source must hold for a simple selector ("div.TRS_Editor",
    "#zoom", "article") to match: "<tag" and each class or id name. None for other selectors."""
    match = SIMPLE_SELECTOR.fullmatch(query.strip())
    if match is None:
        return None
    needles = [f"<{match['tag'].lower()}"] if match["tag"] else []
    needles += [name.lower() for name in SELECTOR_NAME.findall(match["names"])]
    return tuple(needles)


def css_elements(
    root: etree._Element, query: str, source: str | None = None
) -> list[etree._Element]:
    """The elements under `root` matching a CSS selector, in document order. With the page's
    lower-cased `source`, a simple selector whose names the page lacks is not evaluated."""
    if source is not None:
        needles = selector_needles(query)
        if needles is not None and not all(needle in source for needle in needles):
            return []
    return xpath_elements(root, compiled_css(query))


def xpath_elements(root: etree._Element, path: etree.XPath) -> list[etree._Element]:
    """The elements an XPath finds under `root` (strings and other results left out)."""
    found = path(root)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def first_value(root: etree._Element, path: etree.XPath) -> str:
    """The first string an XPath (an attribute or text query) finds, else ""."""
    found = path(root)
    return str(found[0]) if isinstance(found, list) and found else ""


HIDING_ATTRIBUTES = etree.XPath("//*[@style or @hidden or @aria-hidden]")
HIDDEN_MARK = "data-parknews-hidden"
CANONICAL_LINK = etree.XPath("//link[@rel='canonical']/@href")
TIME_DATETIME = etree.XPath("//time/@datetime")
PAGE_TITLE = etree.XPath("string(//title)")


def parse_html(html: str) -> etree._Element:
    """The page's tree, parsed as parsel parses (libxml2's HTML parser, recovering from
    errors), without the per-element Python class lookup of lxml.html."""
    body = html.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
    parser = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    root = etree.fromstring(body, parser=parser)
    if root is None:
        root = etree.fromstring(b"<html/>", parser=parser)
    return root


def page_metas(root: etree._Element) -> dict[str, str]:
    """`<meta name|property=… content=…>` by lower-cased name; the first non-empty value wins."""
    metas: dict[str, str] = {}
    for meta in root.iter("meta"):
        name = (meta.attrib.get("name") or meta.attrib.get("property") or "").strip().lower()
        content = clean_inline(meta.attrib.get("content", ""))
        if name and content and name not in metas:
            metas[name] = content
    return metas


def hides_itself(element: etree._Element) -> bool:
    """True when the element is hidden by inline style or the `hidden` attribute."""
    style = (element.get("style") or "").replace(" ", "").lower()
    return (
        "display:none" in style
        or "visibility:hidden" in style
        or element.get("hidden") is not None
        or (element.get("aria-hidden") == "true" and element.tag not in ("i", "span"))
    )


def mark_hidden(root: etree._Element) -> None:
    """Mark the elements a page hides, once: the walks over the page then test one attribute
    per element instead of reading its style."""
    for element in xpath_elements(root, HIDING_ATTRIBUTES):
        if hides_itself(element):
            element.set(HIDDEN_MARK, "")


def is_hidden(element: etree._Element) -> bool:
    """True when `mark_hidden` found the element hidden."""
    return element.get(HIDDEN_MARK) is not None


def is_furniture(element: etree._Element) -> bool:
    """True for page furniture that templates nest inside the article: ads, share bars,
    navigation, asides and footers."""
    if element.tag in FURNITURE_TAGS:
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}".lower().split()
    return any(FURNITURE_NAME.fullmatch(name) for name in names)


def is_furniture_image(src: str, alt: str) -> bool:
    """Share icons, QR codes, logos and buttons: images of the page, not of the article."""
    name = src.split("?", 1)[0].rsplit("/", 1)[-1].lower()
    return alt in FURNITURE_IMAGE_ALTS or FURNITURE_IMAGE_NAME.search(name) is not None


def is_visible(element: etree._Element) -> bool:
    """True when neither the element nor any ancestor is hidden."""
    node: etree._Element | None = element
    while node is not None:
        if isinstance(node.tag, str) and is_hidden(node):
            return False
        node = node.getparent()
    return True


def element_text(element: etree._Element) -> str:
    """Visible text of an element, scripts and hidden parts left out."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if not isinstance(node.tag, str) or node.tag in SKIPPED_TAGS or is_hidden(node):
            if node.tail and node is not element:
                parts.append(node.tail)
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if node.tail and node is not element:
            parts.append(node.tail)

    walk(element)
    return clean_inline(" ".join(parts))


def link_density(element: etree._Element) -> float:
    """Share of an element's text that sits inside links."""
    total = len(element_text(element))
    if total == 0:
        return 1.0
    linked = sum(len(element_text(a)) for a in element.iter("a"))
    return min(1.0, linked / total)


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
    looked at): how the page around the article is read.
    """

    def __init__(
        self,
        base_url: str,
        stand_in: etree._Element | None = None,
        skip_furniture: bool = False,
        lines_only: bool = False,
    ) -> None:
        self.base_url = base_url
        self.stand_in = stand_in
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
        tag = node.tag if isinstance(node.tag, str) else ""
        if not tag or tag in SKIPPED_TAGS or (is_hidden(node) and not top):
            self._tail(node, top)
            return
        if self.skip_furniture and not top and is_furniture(node):
            self._tail(node, top)
            return
        if node is self.stand_in:
            self._flush()
            self.blocks.append(Block(CONTENT_MARK))
            self._tail(node, top)
            return
        block = tag in BLOCK_TAGS
        saved = (self._centered, self._caption)
        if block:
            self._flush()
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
        if node.text:
            self._line.append(node.text)
        links_before = len(self._line)
        for child in node:
            self._visit(child)
        if tag == "a" and not self.lines_only:
            link_text = ([node.text] if node.text else []) + self._line[links_before:]
            self._line_any_links.extend(link_text)
            if self._link(node):
                self._line_links.extend(link_text)
        if block:
            self._flush()
            self._centered, self._caption = saved
        self._tail(node, top)

    def _tail(self, node: etree._Element, top: bool) -> None:
        if node.tail and not top:
            self._line.append(node.tail)

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
        name = element_text(node)
        if not is_attachment_link(href, name):
            return False
        url = safe_urljoin(self.base_url, href)
        if url is None:
            return True  # an attachment line still, though its link leads nowhere
        if all(a.url != url for a in self.attachments):
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
                    or CAPTION_START.match(after.text)
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
        after_heading = i > 0 and RELATED_HEADING.fullmatch(blocks[i - 1].text) is not None
        if neighbours or after_heading:
            listed.add(i)
    return listed


def article_score(element: etree._Element) -> float:
    """How much sentence text an element holds outside links: punctuation marks of running
    text, discounted by the share of its text that is links."""
    text = element_text(element)
    linked = sum(len(element_text(a)) for a in element.iter("a"))
    density = min(1.0, linked / len(text)) if text else 1.0
    if density > MAX_LINK_DENSITY:
        return 0.0
    sentences = sum(text.count(mark) for mark in SENTENCE_MARKS)
    return (sentences + len(text) / 100) * (1.0 - density)


def depth(element: etree._Element) -> int:
    """Number of ancestors of an element."""
    return sum(1 for _ in element.iterancestors())


def choose_container(
    override: str | None, root: etree._Element, source: str | None = None
) -> etree._Element | None:
    """The element holding the article.

    The profile's selector wins when it matches visible text. Otherwise every match of the
    known CMS containers and the densest text block compete on `article_score`; among those
    scoring close to the best, the deepest is taken, so a page-wide wrapper that also holds
    sidebars and navigation loses to the article block inside it.
    """
    if override:
        for element in css_elements(root, override, source):
            if is_visible(element) and len(element_text(element)) >= MIN_BODY_CHARS:
                return element
    candidates: list[etree._Element] = []
    for query in KNOWN_BODY_SELECTORS:
        for element in css_elements(root, query, source):
            if element not in candidates:
                candidates.append(element)
    densest = densest_container(root)
    if densest is not None and densest not in candidates:
        candidates.append(densest)
    scored = [(c, article_score(c)) for c in candidates if is_visible(c)]
    scored = [(c, score) for c, score in scored if score > 0]
    if not scored:
        return None
    best = max(score for _, score in scored)
    close = [c for c, score in scored if score >= CLOSE_TO_BEST * best]
    return max(close, key=depth)


def densest_container(root: etree._Element) -> etree._Element | None:
    """Text-density fallback: the element whose paragraphs carry the most sentence text."""
    scores: dict[etree._Element, float] = {}
    for node in root.iter("p", "div", "td", "li", "section"):
        if not is_visible(node):
            continue
        own = clean_inline((node.text or "") + "".join(c.tail or "" for c in node))
        if len(own) < 10:
            continue
        score = 1.0 + own.count("，") + own.count("。") + own.count(",") + len(own) / 100
        parent = node.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + score
        grand = parent.getparent()
        if grand is not None:
            scores[grand] = scores.get(grand, 0.0) + score / 2
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    for element, _ in ranked[:5]:
        if link_density(element) <= MAX_LINK_DENSITY and len(element_text(element)) >= 50:
            return element
    return None


def without_site_name(title: str, site_names: list[str]) -> str:
    """A title with a trailing " - Site name" (or "_", "|") taken off."""
    for site in site_names:
        match = re.search(r"\s*(?:-|_|\||｜|—|–)\s*" + re.escape(site) + r"$", title)
        if match and match.start() > 0:
            return title[: match.start()]
    return title


def heading_text(element: etree._Element) -> str:
    """A heading's text without the date or meta line some templates nest inside it."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str) or child.tag in SKIPPED_TAGS or is_hidden(child):
            parts.append(child.tail or "")
            continue
        text = element_text(child)
        if not (DATE_PATTERN.search(text) or SOURCE_LABEL.search(text)):
            parts.append(text)
        parts.append(child.tail or "")
    return clean_inline("".join(parts))


def find_title(
    root: etree._Element, metas: dict[str, str], override: str | None, source: str | None = None
) -> str | None:
    """Title from the profile's selector, the ArticleTitle meta, og:title, a heading, `<title>`."""
    if override:
        texts = [element_text(e) for e in css_elements(root, override)]
        if texts and texts[0]:
            return texts[0]
    site_names = [n for n in (metas.get("og:site_name"), metas.get("sitename")) if n]
    for name in ("articletitle", "og:title"):
        if metas.get(name):
            return without_site_name(metas[name], site_names)
    page_title = clean_inline(str(PAGE_TITLE(root)))
    headings: list[str] = []
    for query in TITLE_CANDIDATES:
        for element in css_elements(root, query, source):
            if is_visible(element):
                text = heading_text(element)
                if 4 <= len(text) <= 120:
                    headings.append(text)
    for text in headings:
        if page_title and (text in page_title or page_title.startswith(text[:10])):
            return text
    if headings:
        return headings[0]
    if page_title:
        return TITLE_SPLIT.split(page_title)[0] or page_title
    return None


def labelled_value(line: str, label: re.Pattern[str]) -> str | None:
    """The value after `label` on a meta line, up to the next field; None when empty."""
    match = label.search(line)
    if match is None:
        return None
    rest = line[match.end() :]
    end = FIELD_END.search(rest)
    value = rest[: end.start()] if end else rest
    value = value.strip(" :：|｜")
    return value or None


def page_lines(
    root: etree._Element, content: etree._Element, base_url: str
) -> tuple[list[str], list[str]]:
    """The page's visible text lines before and after the content container."""
    walker = BlockWalker(base_url, stand_in=content, lines_only=True)
    walker.walk(root)
    lines = [b.text for b in walker.blocks]
    if CONTENT_MARK in lines:
        at = lines.index(CONTENT_MARK)
        return lines[:at], lines[at + 1 :]
    return lines, []


@dataclass(frozen=True)
class MetaLine:
    """Fields of the "时间: … |来源: … |作者: …" line above the article."""

    published_at: str | None = None
    source: str | None = None
    author: str | None = None
    photographer: str | None = None


def find_meta_line(head: list[str]) -> MetaLine:
    """Date, source, author and photographer from the meta line just above the article."""
    for line in reversed(head[-12:]):
        if len(line) > META_LINE_MAX_CHARS:
            continue
        if DATE_LABEL.search(line) is None and not is_meta_line(line):
            continue
        found = read_meta_line(line)
        if found.published_at is not None:
            return found
    return MetaLine()


def real_value(value: str | None) -> str | None:
    """None for the placeholders CMS templates print when a field was left empty."""
    if value is None or value.strip().lower() in PLACEHOLDER_VALUES:
        return None
    return value


def personal_author(value: str | None, *organisations: str | None) -> str | None:
    """The Author meta when it names people; None when it names the publishing office (some
    templates fill it with the site or the department for every page)."""
    value = real_value(value)
    if value is None or value in organisations or ORGANISATION_NAME.search(value):
        return None
    return value


def join_names(value: str | None) -> str | None:
    """Several personal names given in one field ("王珺 陈晓雯", "王珺，陈晓雯") as "王珺、陈晓雯";
    anything that is not a list of names is left as it is."""
    if not value:
        return None
    names = [n for n in NAME_SEPARATORS.split(value) if n]
    if len(names) > 1 and all(PERSONAL_NAME.fullmatch(n) for n in names):
        return "、".join(names)
    return value


def is_meta_line(line: str) -> bool:
    """True for a page's own "发布时间：… 来源：… 浏览：…" line, as opposed to an article sentence
    or an event's "时间：…" detail: it names publication, or carries two page fields, or is a
    bare date with a time of day and a short name."""
    if len(line) > META_LINE_MAX_CHARS or SENTENCE_END.search(line):
        return False
    if PUBLICATION_LABEL.search(line) and DATE_PATTERN.search(line):
        return True
    fields = len(META_FIELD.findall(line))
    if fields >= 2 and (DATE_PATTERN.search(line) or SOURCE_LABEL.search(line)):
        return True
    bare = DATE_PATTERN.match(line)
    return bool(bare and bare["H"] is not None and len(line) - bare.end() <= BARE_META_REST_CHARS)


def split_inner_meta_lines(blocks: list[str], title: str) -> tuple[list[str], MetaLine]:
    """Meta lines templates put inside the content container, at its head or under a repeated
    title, taken out of the blocks and read; lines repeating the title go too."""
    kept: list[str] = []
    found = MetaLine()
    for index, block in enumerate(blocks):
        after_title = index > 0 and blocks[index - 1] == title
        if block == title:
            continue
        if (index < INNER_META_WINDOW or after_title) and is_meta_line(block):
            if found.published_at is None and found.source is None:
                found = read_meta_line(block)
            continue
        kept.append(block)
    return kept, found


def read_meta_line(line: str) -> MetaLine:
    """The fields of one meta line."""
    label = DATE_LABEL.search(line)
    published = parse_datetime(line[label.end() :] if label else line)
    return MetaLine(
        published_at=published,
        source=labelled_value(line, SOURCE_LABEL),
        author=join_names(labelled_value(line, AUTHOR_LABEL)),
        photographer=join_names(labelled_value(line, PHOTOGRAPHER_LABEL)),
    )


def merge_meta_lines(outer: MetaLine, inner: MetaLine) -> MetaLine:
    """The meta line above the content, completed by one found inside it."""
    return MetaLine(
        published_at=outer.published_at or inner.published_at,
        source=outer.source or inner.source,
        author=outer.author or inner.author,
        photographer=outer.photographer or inner.photographer,
    )


def find_editor_line(tail: list[str]) -> str | None:
    """The "责任编辑：X" line that some templates put just below the article."""
    for line in tail[:EDITOR_LINE_WINDOW]:
        match = EDITOR_LINE.fullmatch(line)
        if match:
            return match[1]
    return None


def find_breadcrumb_section(head: list[str]) -> str | None:
    """The last named step of a "当前位置: 首页 > 新闻中心 > 图说园区" breadcrumb."""
    for line in head:
        label = BREADCRUMB_LABEL.match(line)
        if label is None:
            continue
        steps = [s for s in BREADCRUMB_SPLIT.split(line[label.end() :]) if s.strip()]
        steps = [s.strip() for s in steps if s.strip() not in BREADCRUMB_TAIL_WORDS]
        if len(steps) >= 2:
            return steps[-1]
    return None


def same_host(url: str, other: str) -> bool:
    """True when both URLs name the same host."""
    return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()


def find_canonical(root: etree._Element, metas: dict[str, str], url: str) -> str:
    """rel=canonical, the `Url` meta or og:url when they stay on the page's host, else `url`."""
    candidates = [
        first_value(root, CANONICAL_LINK),
        metas.get("url", ""),
        metas.get("og:url", ""),
    ]
    for candidate in candidates:
        absolute = safe_urljoin(url, candidate) if candidate.strip() else None
        if absolute and absolute.startswith(("http://", "https://")) and same_host(absolute, url):
            return canonical_url(absolute)
    return canonical_url(url)


def extract(html: str, url: str, selectors: Selectors | None = None) -> Extraction:
    """Extract one article page; NotAnArticle when it holds no article."""
    if not html.strip():
        raise NotAnArticle("the page is empty")
    start = html[:4096]
    if "\x00" in start or start.lstrip().startswith(BINARY_MAGIC):
        raise NotAnArticle("the content is binary (a file served as a page), not HTML")
    selectors = selectors or Selectors()
    source = html.lower()
    if source.count("<div") >= BARE_DIV_RUN or source.count("</div") >= BARE_DIV_RUN:
        html = BARE_DIV_OPENINGS.sub("<div>", BARE_DIV_CLOSINGS.sub("</div>", html))
        source = html.lower()
    try:
        return extract_tree(html, source, url, selectors)
    except RecursionError:
        raise NotAnArticle("the page is nested too deeply to read") from None


def extract_tree(html: str, source: str, url: str, selectors: Selectors) -> Extraction:
    """`extract` on a page whose runs of bare wrappers are already collapsed; `source` is the
    page lower-cased."""
    root = parse_html(html)
    if not isinstance(root, etree._Element):
        raise NotAnArticle("the page is not HTML")
    mark_hidden(root)
    metas = page_metas(root)
    content = choose_container(selectors.body, root, source)
    if content is None:
        raise NotAnArticle("no article body found (no known content container, no dense text)")
    walker = BlockWalker(url, skip_furniture=True)
    walker.walk(content)
    blocks, images, attachments = walker.result()
    if sum(len(b) for b in blocks) < MIN_BODY_CHARS:
        raise NotAnArticle("the content container holds no article text")
    title = find_title(root, metas, selectors.title, source)
    if not title:
        raise NotAnArticle("no title found")
    blocks, inner_meta = split_inner_meta_lines(blocks, title)
    if sum(len(b) for b in blocks) < MIN_BODY_CHARS:
        raise NotAnArticle("the content container holds no article text")
    head, tail = page_lines(root, content, url)
    attachments = attachments + [
        a for a in following_attachments(content, url) if a not in attachments
    ]
    meta_line = merge_meta_lines(find_meta_line(head), inner_meta)
    override_date = None
    if selectors.published_at:
        found = Selector(root=root, base_url=url).css(selectors.published_at).getall()
        override_date = parse_datetime(" ".join(found))
    published = most_precise(
        override_date,
        parse_datetime(metas.get("pubdate", "")),
        parse_datetime(metas.get("article:published_time", "")),
        meta_line.published_at,
        parse_datetime(first_value(root, TIME_DATETIME)),
    )
    return Extraction(
        title=title,
        published_at=published,
        source=real_value(metas.get("contentsource")) or real_value(meta_line.source),
        author=join_names(
            personal_author(metas.get("author"), metas.get("sitename"), metas.get("contentsource"))
        )
        or real_value(meta_line.author),
        editor=find_editor_line(tail),
        photographer=meta_line.photographer,
        section=metas.get("columnname") or find_breadcrumb_section(head),
        site_name=metas.get("sitename"),
        canonical_url=find_canonical(root, metas, url),
        body_blocks=blocks,
        images=images,
        attachments=attachments,
    )


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
        if is_attachment_link(href, text) or any(ext in text for ext in ATTACHMENT_EXTENSIONS):
            return True
    return False


def url_date(url: str) -> str | None:
    """The date a URL carries (t20240315_…, /art/2021/4/29/), as "YYYY-MM-DD"."""
    path = urlsplit(url).path
    match = re.search(r"/t(\d{4})(\d{2})(\d{2})_", path) or re.search(
        r"/art/(\d{4})/(\d{1,2})/(\d{1,2})/", path
    )
    if match is None:
        return None
    return parse_datetime("-".join(match.groups()))


def language_of(text: str) -> str:
    """ "zh" when the text holds Han characters, "und" otherwise."""
    return "zh" if re.search(r"[\u4e00-\u9fff\u3400-\u4dbf]", text) else "und"


def utc_now() -> str:
    """Current UTC time as "YYYY-MM-DDTHH:MM:SSZ"."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_record(
    html: str,
    url: str,
    profile: SiteProfile,
    *,
    fetched_at: str | None = None,
    section_hint: str | None = None,
    date_hint: str | None = None,
) -> ArticleRecord:
    """The record of one article page of `profile`'s site; NotAnArticle when there is none."""
    found = extract(html, url, profile.selectors)
    body = "\n".join(found.body_blocks)
    canonical = found.canonical_url
    return ArticleRecord(
        id=record_id(canonical),
        url=url,
        canonical_url=canonical,
        site=profile.key,
        site_name=profile.name if profile.key != "generic" else found.site_name or profile.name,
        section=found.section or section_hint or None,
        title=found.title,
        published_at=found.published_at or url_date(url) or date_hint,
        source=found.source,
        author=found.author,
        editor=found.editor,
        photographer=found.photographer,
        body=body,
        images=found.images,
        attachments=found.attachments,
        language=language_of(body),
        fetched_at=fetched_at or utc_now(),
    )
