"""Company names folded for duplicate checks: "Müller GmbH & Co. KG" and "MULLER" are one.

Case, accents, punctuation and the legal form go; what is left is compared exactly (the
stored ``customers.name_key``, indexed) and by similarity among names sharing a prefix.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

# legal forms and filler words, as they appear folded (lowercase, no punctuation)
LEGAL = frozenset(
    [
        "gmbh",
        "co",
        "kg",
        "ag",
        "se",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ltd",
        "limited",
        "llc",
        "inc",
        "corp",
        "corporation",
        "plc",
        "oy",
        "ab",
        "as",
        "aps",
        "sp",
        "z",
        "oo",
        "s",
        "r",
        "o",
        "kft",
        "zrt",
        "doo",
        "sro",
        "the",
        "und",
        "and",
        "et",
    ]
)
SIMILAR = 0.88  # SequenceMatcher ratio at which two folded names are taken for one company


# spelled out as German spells them without the letter: Müller and Mueller are one name
_SPELLED = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


_INITIALS = re.compile(r"\b([a-z])\.(?=[a-z]\b)")


def name_key(name: str) -> str:
    """``name`` folded: lower case, accents off, legal forms and punctuation dropped."""
    spelled = name.translate(_SPELLED)
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode().lower()
    plain = _INITIALS.sub(r"\1", plain)  # "g.m.b.h." is "gmbh", "s.r.o." is "sro"
    words = [w for w in re.split(r"[^a-z0-9]+", plain) if w and w not in LEGAL]
    return " ".join(words) or plain.strip()


def similar(a: str, b: str) -> bool:
    """Two folded names close enough to ask whether they are one company."""
    return a == b or SequenceMatcher(None, a, b).ratio() >= SIMILAR
