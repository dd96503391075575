"""Recognise soleus-pushup (SPU) bouts in free text: the one rule every reader uses.

People log SPU bouts in whatever field their app offers: a Dexcom exercise entry or note, a
LibreView note, a Nightscout treatment's notes, an Apple Health workout's metadata, a food or
exercise diary. A text names an SPU bout when it contains the word ``SPU``/``SPUs`` or anything
with ``soleus`` (case-insensitive). Its length in minutes is read from a number next to it:
``"SPU 30"``, ``"SPU: 30 min"``, ``"soleus pushups 45'"``, ``"20 min SPU"``.
"""

from __future__ import annotations

import re

import pandas as pd

SPU_RE = re.compile(r"\bspus?\b|soleus", re.IGNORECASE)
_MIN_AFTER_RE = re.compile(
    r"(?:\bspus?\b|soleus(?:[\s-]*push[\s-]*ups?)?)\s*[:=\-]?\s*(\d{1,4}(?:[.,]\d{1,2})?)(?![\d])\s*"
    r"(?:min(?:utes?|s)?\b|m\b|')?",
    re.IGNORECASE,
)
# the number starts where a run of digits starts (never inside one) and has at most four
# digits, so that a cell of many digits is scanned in linear time, not tried at every digit
_MIN_BEFORE_RE = re.compile(
    r"(?<![\d.,])(\d{1,4}(?:[.,]\d{1,2})?)\s*(?:min(?:utes?|s)?|m|')\s*(?:of\s+)?"
    r"(?:\bspus?\b|soleus)",
    re.IGNORECASE,
)


def spu_mask(text: pd.Series) -> pd.Series:
    """Boolean Series: True where free text names a soleus-pushup bout (missing text: False)."""
    return text.fillna("").astype(str).str.contains(SPU_RE, regex=True)


def spu_minutes(text: pd.Series) -> pd.Series:
    """Bout length in minutes (float, NaN if none) named in SPU free text.

    ``"SPU 30"``, ``"SPU: 30 min"``, ``"soleus pushups 45'"`` and ``"20 min SPU"`` all give a
    duration; a number alone after ``SPU`` is read as minutes.
    """
    s = text.fillna("").astype(str)
    after = s.str.extract(_MIN_AFTER_RE, expand=False)
    before = s.str.extract(_MIN_BEFORE_RE, expand=False)
    out = after.fillna(before).str.replace(",", ".", regex=False)
    return pd.to_numeric(out, errors="coerce").astype("float64")
