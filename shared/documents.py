"""What a retriever version embeds for a bank row: its problem, or its problem with the worked solution.

Queries are always problems. A document can carry the worked solution too, because the strategy a demonstration
would lend lives in its plan and steps, not in the wording of its question. The choice is recorded in the
version's manifest, so building, distilling and evaluating a version embed its bank the same way.
"""

from __future__ import annotations

from typing import Literal

from shared.contract import Demonstration

DocumentText = Literal["problem", "problem_solution"]
DOCUMENT_TEXT_HELP = ("what a bank row is embedded as: 'problem' (its question) or 'problem_solution' (question, "
                      "then the worked solution); queries are always questions")


def as_document(row: Demonstration, how: DocumentText) -> str:
    """The text a version embeds for `row`."""
    if how == "problem":
        return row.problem
    return f"{row.problem}\n{row.solution}"
