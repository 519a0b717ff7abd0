"""The page as a tree: parsing, CSS queries, what the page hides, and visible text."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar, cast

from lxml import etree
from parsel.csstranslator import css2xpath

from crawler.text.inline import clean_inline

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

FURNITURE_TAGS = frozenset({"nav", "aside", "footer"})

LOGIN_FIELD = etree.XPath(".//input[translate(@type, 'PASSWORD', 'password') = 'password']")
"""A password field: the form holding it is a login box, never the article."""

FURNITURE_NAME = re.compile(
    r"(?:ad|ads|adv|advert\w*|ad[-_]?(?:box|tag|banner|wrap)|guanggao|gg[-_]?box"
    r"|share\w*|bdshare\w*|bshare\w*|jiathis\w*|print[-_]?(?:bar|btn)|footer|breadcrumb"
    r"|comments?|comment[-_]?(?:list|box|area|wrap|form)|feedback|pinglun\w*)"
)


@lru_cache(maxsize=512)
def compiled_css(query: str) -> etree.XPath:
    """A CSS selector translated as parsel does and compiled once, not on every page."""
    return etree.XPath(css2xpath(query))


def ascii_lowered(text: str) -> str:
    """`text` with its ASCII letters lower-cased and every other character kept: enough
    for finding tags and class names in a page's source, at half the cost of `str.lower`
    on a CJK page (through UTF-8, whose bytes.lower touches ASCII alone)."""
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


SIMPLE_SELECTOR = re.compile(r"(?P<tag>[a-z][a-z0-9]*)?(?P<names>(?:[.#][\w-]+)*)", re.I)

SELECTOR_NAME = re.compile(r"[.#]([\w-]+)")


@lru_cache(maxsize=512)
def selector_needles(query: str) -> tuple[str, ...] | None:
    """Strings a page's source (`ascii_lowered`) must hold for a simple selector
    ("div.TRS_Editor", "#zoom", "article") to match: "<tag" and each class or id name, ASCII
    lower-cased too. None for other selectors."""
    match = SIMPLE_SELECTOR.fullmatch(query.strip())
    if match is None:
        return None
    needles = [f"<{ascii_lowered(match['tag'])}"] if match["tag"] else []
    needles += [ascii_lowered(name) for name in selector_names(query)]
    return tuple(needles)


@lru_cache(maxsize=512)
def selector_names(query: str) -> tuple[str, ...]:
    """The class and id names a simple selector requires, as written; none for others."""
    match = SIMPLE_SELECTOR.fullmatch(query.strip())
    return tuple(SELECTOR_NAME.findall(match["names"])) if match else ()


def css_elements(
    root: etree._Element, query: str, source: str | None = None
) -> list[etree._Element]:
    """The elements under `root` matching a CSS selector, in document order. With the page's
    `source` (`ascii_lowered`), a simple selector whose names the page lacks is not evaluated."""
    if source is not None:
        needles = selector_needles(query)
        if needles is not None and not all(needle in source for needle in needles):
            return []
    return xpath_elements(root, compiled_css(query))


def xpath_elements(root: etree._Element, path: etree.XPath) -> list[etree._Element]:
    """The elements an XPath finds under `root` (strings and other results left out)."""
    found = path(root)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def first_attribute(root: etree._Element, tag: str, name: str, **equal: str) -> str:
    """The `name` attribute of the first `tag` element that has one (and whose attributes
    named in `equal` have those values), else "": what the XPath //tag[@k='v']/@name finds
    first, found without gathering every node of the page as the XPath does."""
    for element in root.iter(tag):
        value = element.get(name)
        if value is not None and all(element.get(k) == v for k, v in equal.items()):
            return value
    return ""


HIDDEN_MARK = "data-parknews-hidden"

HIDING_ATTRIBUTES = frozenset({"style", "hidden", "aria-hidden", "class"})
"""The attributes by which an element hides itself (`hides_itself`)."""

COLLAPSED_NAMES = frozenset({"collapsed", "mw-collapsed"})
"""Class names of a block the page shows collapsed: its heading, its content a click away."""


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


def hides_itself(element: etree._Element, shown_ids: frozenset[str] = frozenset()) -> bool:
    """True when the element is hidden by inline style or the `hidden` attribute, or is
    the content of a collapsed block (`collapsed_content`). An inline `visibility:hidden`
    does not hide an element whose id is one of `shown_ids` (`script_shown_ids`): the page's
    own script shows it once it has laid it out, as WeChat-style article pages do."""
    style = (element.get("style") or "").replace(" ", "").lower()
    return (
        "display:none" in style
        or ("visibility:hidden" in style and element.get("id") not in shown_ids)
        or element.get("hidden") is not None
        or (element.get("aria-hidden") == "true" and element.tag not in ("i", "span"))
        or collapsed_content(element)
    )


def collapsed_content(element: etree._Element) -> bool:
    """True for the part named content ("NavContent", "mw-collapsible-content") of a block
    the page shows collapsed (COLLAPSED_NAMES): the reader sees the block's heading, and its
    content only after a click."""
    names = (element.get("class") or "").lower()
    if "content" not in names or not any(name.endswith("content") for name in names.split()):
        return False
    parent = element.getparent()
    holder = (parent.get("class") or "") if parent is not None else ""
    return not COLLAPSED_NAMES.isdisjoint(holder.lower().split())


CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
CSS_CONDITIONAL_BLOCK = re.compile(r"@[^{};]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}")
"""An at-rule with rules inside (`@media print {…}`): what it hides, it hides only there."""
CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
CSS_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")


def style_hidden_classes(root: etree._Element) -> frozenset[str]:
    """The class names the page's own `<style>` elements hide whatever an element's own style
    says: a rule for the bare class with `display:none !important` (".ng-hide{…}", which a
    script hides and shows elements with), outside any `@media` block, the class named by no
    rule that sets another display. A plain `display:none` is left alone: a page hides its
    content with it until a script shows it (by an inline style, or not yet on a page saved
    before its scripts ran)."""
    hidden: set[str] = set()
    shown: set[str] = set()
    for style in root.iter("style"):
        css = CSS_CONDITIONAL_BLOCK.sub("", CSS_COMMENT.sub("", style.text or ""))
        for selectors, declarations in CSS_RULE.findall(css):
            declared = declarations.replace(" ", "").lower()
            if "display:" not in declared:
                continue
            for selector in selectors.split(","):
                bare = CSS_CLASS.fullmatch(selector.strip())
                if "display:none!important" in declared and bare:
                    hidden.add(bare[1])
                elif "display:none" not in declared:
                    shown.update(CSS_CLASS.findall(selector))
    return frozenset(hidden - shown)


SCRIPT_SHOWING = re.compile(r"visibility\W{0,20}visible")
"""A script setting an element's visibility to visible (".style.visibility = 'visible'",
".css('visibility', 'visible')")."""
SCRIPT_ID = re.compile(r"""getElementById\(\s*["']([^"'\s]+)["']|["']#([\w-]+)["']""")
"""An element a script looks up by its id."""


def script_shown_ids(root: etree._Element) -> frozenset[str]:
    """The ids of the elements that the page's inline scripts look up and set visible: a
    script that sets a visibility to visible, and the ids it looks up."""
    shown: set[str] = set()
    for script in root.iter("script"):
        code = script.text or ""
        if "visible" in code and SCRIPT_SHOWING.search(code):
            shown.update(a or b for a, b in SCRIPT_ID.findall(code))
    return frozenset(shown)


def mark_hidden(
    element: etree._Element,
    attributes: Sequence[str | bytes],
    shown_ids: frozenset[str] = frozenset(),
) -> bool:
    """Mark the element when the page hides it (`attributes` are its attribute names;
    `shown_ids` as for `hides_itself`), so that the walks over the page test one attribute
    per element instead of reading its style. True when the element is marked, now or
    before."""
    if HIDING_ATTRIBUTES.isdisjoint(attributes):
        return HIDDEN_MARK in attributes
    if hides_itself(element, shown_ids):
        element.set(HIDDEN_MARK, "")
        return True
    return HIDDEN_MARK in attributes


def is_hidden(element: etree._Element) -> bool:
    """True when `mark_hidden` found the element hidden."""
    return element.get(HIDDEN_MARK) is not None


def is_furniture(element: etree._Element) -> bool:
    """True for page furniture that templates nest inside the article: ads, share bars,
    navigation, asides, footers and login forms."""
    if element.tag in FURNITURE_TAGS:
        return True
    if element.tag == "form" and LOGIN_FIELD(element):
        return True
    return names_furniture(element.get("class"), element.get("id"))


def names_furniture(class_names: str | None, element_id: str | None) -> bool:
    """True when an element's class or id names it page furniture (`FURNITURE_NAME`)."""
    if not class_names and not element_id:
        return False
    return furniture_names(f"{class_names or ''} {element_id or ''}")


@lru_cache(maxsize=4096)
def furniture_names(names: str) -> bool:
    """`names_furniture` of the names an element carries ("class names id"). Cached: a page
    gives hundreds of elements the same few names, and a site's pages the same ones."""
    return any(FURNITURE_NAME.fullmatch(name) for name in names.lower().split())


def element_text(element: etree._Element) -> str:
    """Visible text of an element, scripts and hidden parts left out."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        # lxml decodes text and tails anew on every read: each is read once.
        if isinstance(node.tag, str) and node.tag not in SKIPPED_TAGS and not is_hidden(node):
            if text := node.text:
                parts.append(text)
            for child in node:
                walk(child)
        if node is not element and (tail := node.tail):
            parts.append(tail)

    walk(element)
    return clean_inline(" ".join(parts))


Derived = TypeVar("Derived")


class PageFacts:
    """What the extractor learns of one parsed page once and then asks many times: which
    elements are hidden (themselves or by an ancestor) and which are page furniture, the
    class and id names the page uses, the visible text of an element, the document order of
    the elements, and how much text sits in links under an element.

    One per page, built by the extractor: nothing here outlives the page it was made for.
    """

    def __init__(self, root: etree._Element, source: str | None = None) -> None:
        self.root = root
        self.source = source
        """The page's source (`ascii_lowered`), when the extractor has it: tests on the
        source tell what no text of the page can hold."""
        self.nodes: list[etree._Element] = list(root.iter())
        """Every node of the page, comments and processing instructions too, in document
        order: the walks over the whole page read this list instead of the tree."""
        self.elements = [node for node in self.nodes if isinstance(node.tag, str)]
        """The elements of `nodes`."""
        self.hidden: set[etree._Element] = set()
        self.named: list[tuple[etree._Element, str]] = []
        """The elements that carry a class or an id, in document order, with their names
        ("class names id")."""
        self.classed: list[tuple[etree._Element, str]] = []
        """The elements that carry a class, in document order, with their class names."""
        self.aligned: list[etree._Element] = []
        """The elements that carry an `align` attribute, in document order."""
        self._furniture: set[etree._Element] = set()
        self._names: set[str] = set()
        self._read_attributes()
        self._texts: dict[etree._Element, str] = {}
        self._pieces: list[str] = []
        self._owners: list[etree._Element] = []
        self._own: dict[etree._Element, int] = {}
        self._spans: dict[etree._Element, tuple[int, int]] | None = None
        self._offsets: list[int] | None = None
        self._linked: dict[etree._Element, int] = {}
        self._order = {node: index for index, node in enumerate(self.nodes)}
        self._derived: dict[Callable[[PageFacts], object], object] = {}

    def _read_attributes(self) -> None:
        """One pass over the elements' attributes: mark what the page hides (`mark_hidden`,
        and the classes its `<style>` hides),
        find its furniture and collect the class and id names its elements carry."""
        styled = style_hidden_classes(self.root)
        shown_ids = script_shown_ids(self.root)
        for node in self.elements:
            attributes = node.keys()  # most elements have none: one call tells so
            class_names = element_id = names = None
            if attributes:
                if "align" in attributes:
                    self.aligned.append(node)
                if "class" in attributes and (class_names := node.get("class")):
                    self._names.update(class_names.split())
                    self.classed.append((node, class_names))
                hidden = mark_hidden(node, attributes, shown_ids)
                if not hidden and class_names and not styled.isdisjoint(class_names.split()):
                    node.set(HIDDEN_MARK, "")
                    hidden = True
                if hidden:
                    self.hidden.update(node.iter())
                if "id" in attributes and (element_id := node.get("id")):
                    self._names.add(element_id)
                if class_names or element_id:
                    names = f"{class_names or ''} {element_id or ''}"
                    self.named.append((node, names))
            if node not in self._furniture and (
                node.tag in FURNITURE_TAGS
                or (names is not None and furniture_names(names))
                or (node.tag == "form" and LOGIN_FIELD(node))
            ):
                self._furniture.update(node.iter())

    def visible(self, element: etree._Element) -> bool:
        """True when neither the element nor any ancestor is hidden."""
        return element not in self.hidden

    def in_furniture(self, element: etree._Element) -> bool:
        """True when the element or an ancestor is page furniture (`is_furniture`): a
        comment thread or a footer is never the article, nor a part of it."""
        return element in self._furniture

    def css(self, query: str, source: str | None = None) -> list[etree._Element]:
        """`css_elements` of the page. A simple selector naming a class or an id that no
        element of the page carries finds nothing: it is not evaluated."""
        if not self._names.issuperset(selector_names(query)):
            return []
        return css_elements(self.root, query, source)

    def text(self, element: etree._Element) -> str:
        """`element_text` of an element, computed once, from the page's pieces of text."""
        found = self._texts.get(element)
        if found is None:
            span = self._text_spans().get(element)
            if span is None:  # inside a hidden or skipped element: walked on its own
                found = element_text(element)
            else:
                found = clean_inline(" ".join(self._pieces[span[0] : span[1]]))
            self._texts[element] = found
        return found

    def raw_length(self, element: etree._Element) -> int:
        """Characters of an element's text pieces before whitespace is cleaned: at least
        the length of its `text`, found without building it."""
        span = self._text_spans().get(element)
        if span is None:
            return len(self.text(element))
        offsets = self.piece_offsets()
        return offsets[span[1]] - offsets[span[0]]

    def text_pieces(self) -> tuple[list[str], list[etree._Element]]:
        """The pieces of text the text walk read, in document order (an element's text, a
        node's tail), and the element holding each (the element, the tail's parent)."""
        self._text_spans()
        return self._pieces, self._owners

    def piece_offsets(self) -> list[int]:
        """Where each piece of `text_pieces` starts in the pieces joined with one character
        between them, and the end."""
        if self._offsets is None:
            pieces = self.text_pieces()[0]
            self._offsets = [0, *accumulate(len(piece) + 1 for piece in pieces)]
        return self._offsets

    def _text_spans(self) -> dict[etree._Element, tuple[int, int]]:
        """The run of text pieces of every element walked (`_index_text`), built once."""
        if self._spans is None:
            self._spans = self._index_text()
        return self._spans

    def _index_text(self) -> dict[etree._Element, tuple[int, int]]:
        """Walk the page once, as `element_text` would walk the root, noting for every
        node walked the run of text pieces that is its own text (its tail left out), and
        the length of the text it holds itself (`own_lengths`)."""
        pieces, owners, root, hidden = self._pieces, self._owners, self.root, self.hidden
        own = self._own
        spans: dict[etree._Element, tuple[int, int]] = {}
        opened: list[int] = []  # where the text of each element being walked starts
        holders: list[etree._Element] = []  # the elements being walked, innermost last
        walk = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
        for event, node in walk:
            if event == "start":
                opened.append(len(pieces))
                holders.append(node)
                # The walk never enters a hidden element, so a node it meets in `hidden` is
                # one the page hides itself.
                if node.tag in SKIPPED_TAGS or node in hidden:
                    walk.skip_subtree()  # its "end" still comes, with no text in between
                elif text := node.text:  # lxml decodes it anew on every read
                    pieces.append(text)
                    owners.append(node)
                    own[node] = len(text)
                continue
            if event == "end":
                start = opened.pop()
                holders.pop()
            else:
                start = len(pieces)
            spans[node] = (start, len(pieces))
            if node is not root and (tail := node.tail):
                pieces.append(tail)
                holder = holders[-1]
                owners.append(holder)
                own[holder] = own.get(holder, 0) + len(tail)
        return spans

    def own_lengths(self) -> dict[etree._Element, int]:
        """Characters of the text each element holds itself, its text and its children's
        tails (uncleaned), by element; elements holding none, or that the text walk does not
        enter (hidden, skipped), are left out."""
        self._text_spans()
        return self._own

    def linked_chars(self, element: etree._Element) -> int:
        """Characters of the text of the links under (or at) an element."""
        found = self._linked.get(element)
        if found is None:
            found = self._linked[element] = sum(len(self.text(a)) for a in element.iter("a"))
        return found

    def order(self, element: etree._Element) -> int:
        """The element's position in document order."""
        return self._order[element]

    def once(self, compute: Callable[[PageFacts], Derived]) -> Derived:
        """A page-wide fact another module derives (`compute(self)`), computed once a page."""
        if compute not in self._derived:
            self._derived[compute] = compute(self)
        return cast(Derived, self._derived[compute])

    def last_order(self, element: etree._Element) -> int:
        """Document-order position of the last node inside an element (its own when empty)."""
        last = element
        while len(last):
            last = last[-1]
        return self.order(last)

    def link_density(self, element: etree._Element) -> float:
        """Share of an element's text that sits inside links."""
        total = len(self.text(element))
        return 1.0 if total == 0 else min(1.0, self.linked_chars(element) / total)
