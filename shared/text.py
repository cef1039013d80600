"""Text normalisation shared by the leakage guard (service) and the leakage-safe splits (data)."""

from __future__ import annotations

import hashlib
import unicodedata


def normalize_problem(text: str) -> str:
    """Case-, whitespace- and Unicode-form-insensitive form of a problem statement."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split())  # = re.sub(r"\s+", " ", text).strip(), without the regex


def problem_hash(text: str) -> str:
    """Stable id of a problem's normalised text: two rows with the same hash are the same problem."""
    return hashlib.sha256(normalize_problem(text).encode("utf-8")).hexdigest()[:16]
