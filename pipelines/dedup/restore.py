"""Spans a mirror damaged, mended from the original article when the run has both."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

RESTORE_CONTEXT_CHARS = 6
"""Characters on each side of a damaged span that must match the original exactly."""

RESTORE_MAX_CHARS = 12
"""Longest stretch of the original that may stand in for one damaged span."""


def restore_damaged_spans(record: Mapping[str, Any], original: str | None) -> dict[str, Any]:
    """Mend the spans a mirror damaged from the original article's body, where the text on
    both sides of a span is found in the original exactly once; spans that cannot be mended
    stay flagged in `damaged_annotations`."""
    out = dict(record)
    if not original:
        return out
    body = str(out.get("body") or "")
    left_damaged = []
    for span in out.get("damaged_annotations") or []:
        at = body.find(span)
        if at < 0:
            continue
        before = body[max(0, at - RESTORE_CONTEXT_CHARS) : at]
        after = body[at + len(span) : at + len(span) + RESTORE_CONTEXT_CHARS]
        pattern = re.escape(before) + f"(.{{0,{RESTORE_MAX_CHARS}}}?)" + re.escape(after)
        matches = list(re.finditer(pattern, original))
        if len(before) == len(after) == RESTORE_CONTEXT_CHARS and len(matches) == 1:
            body = body[:at] + matches[0][1] + body[at + len(span) :]
        else:
            left_damaged.append(span)
    if len(left_damaged) < len(out.get("damaged_annotations") or []):
        out["body"] = body
        out["normalisations"] = [*out.get("normalisations", []), "restored_from_original"]
        if left_damaged:
            out["damaged_annotations"] = left_damaged
        else:
            out.pop("damaged_annotations", None)
    return out
