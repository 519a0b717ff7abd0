"""Words of page furniture that extraction and cleaning both recognise, declared once.

Patterns here match text as pages print it (full-width or ASCII punctuation alike), so the
extractor can use them on raw lines and the cleaning steps on NFKC-normalised blocks.
"""

from __future__ import annotations

import re

RELATED_LINKS_WORDS = (
    r"(?:相关(?:链接|阅读|新闻|文章|信息|稿件|推荐|报道|专题|内容)"
    r"|(?:延伸|推荐|热点)(?:链接|阅读|新闻|文章|信息)|友情链接)"
)
"""What heads a list of links to other articles: 相关链接, 延伸阅读, 推荐阅读, 友情链接…"""
RELATED_LINKS_HEADING = re.compile(rf"[\[【]?{RELATED_LINKS_WORDS}[\]】]?\s*[:：]?")
"""A line that is only such a heading ("相关链接", "【相关阅读】", "延伸阅读："): fullmatch."""
RELATED_LINKS_INLINE = re.compile(rf"{RELATED_LINKS_WORDS}\s*[:：][^。!?！？]{{0,80}}")
"""The heading and one link title on a single line ("相关链接：园区召开…"): fullmatch."""
ATTACHMENTS_HEADING = re.compile(r"[\[【]?(?:相关)?附件(?:信息|下载|列表)?[\]】]?\s*[:：]?")
"""A line that only heads a page's list of attached files ("附件：", "附件信息:"): fullmatch."""
LEGAL_NOTICE_HEADING = re.compile(
    r"[\[【]?(?:版权(?:与|及|和)?免责声明|免责(?:声明|条款)|版权(?:声明|说明)|法律声明)[\]】]?\s*[:：]?"
)
"""A line that only heads a page's legal notice ("版权与免责声明"): fullmatch."""

CAPTION_OPENING = re.compile(
    r"[(\[（【]?\s*(?:图为|上图(?:为|[:：])|下图(?:为|[:：])|左图为|右图为|图片为|图注|▲|△)"
)
"""How a photo caption starts wherever it stands ("图为会议现场", "▲园区夜景"): match."""
IMAGE_LABEL_OPENING = re.compile(r"图\s*[:：]|[(（]图[)）]|图\s*\d")
"""How a line right under an image labels it ("图：…", "（图）", "图1 …"). Anywhere else
"图：张三" is a photographer's byline, so only the extractor, which knows the line follows an
image, reads these as captions: match."""

FURNITURE_WORDS = (
    # copyright and disclaimers
    "版权所有",
    "版权与免责",
    "免责声明",
    "版权声明",
    "(?i:copyright)",
    "©",
    r"转载.{0,20}注明",
    "不代表本(?:站|网)",
    # site registration and ownership
    "ICP备",
    "ICP证",
    "公网安备",
    "网站标识码",
    "主办单位",
    "承办单位",
    "技术支持",
    "网站地图",
    # the contact block
    "联系我们",
    *(
        rf"{label}\s*[:：]"
        for label in (
            "地址",
            "邮编",
            "邮政编码",
            "电话",
            "传真",
            "电子信箱",
            "电子邮箱",
            "(?i:e-?mail)",
        )
    ),
)
"""What marks a line of a page's footer or legal notice: copyright and disclaimers, site
ownership and the contact block (address, post code, phone, fax, e-mail)."""


def first_characters(alternatives: tuple[str, ...]) -> str:
    """The characters a match of one of the regex `alternatives` can start with: each opens
    with a plain character, or with "(?i:" and a letter. ValueError for any other."""
    found: list[str] = []
    for alternative in alternatives:
        ignore_case = alternative.startswith("(?i:")
        first = alternative[4] if ignore_case else alternative[0]
        if re.escape(first) != first:
            raise ValueError(f"{alternative!r} must open with a plain character")
        found += [first.lower(), first.upper()] if ignore_case else [first]
    return "".join(dict.fromkeys(found))


FURNITURE_LINE = re.compile(
    rf"(?=[{first_characters(FURNITURE_WORDS)}])(?:{'|'.join(FURNITURE_WORDS)})"
)
"""A line of a page's footer or legal notice (`FURNITURE_WORDS`). Searched. The lookahead
for their first characters lets the regex engine skip the rest of a line fast."""
