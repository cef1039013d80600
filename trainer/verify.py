"""Answer checking with math-verify: the verifiable outcome behind rewards and accuracies.

Thinking models (Qwen3) write a `<think>...</think>` trace before the answer. Only the text after the last
`</think>` is the answer; a trace that never closes (cut off by the length limit) has none, however many
`\\boxed{}` it tried on the way.
"""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\boxed\{")
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def answer_part(text: str) -> str | None:
    """The completion's answer: after the last `</think>`; None inside an unfinished `<think>`; else all of it."""
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        return text[close + len(THINK_CLOSE):]
    if THINK_OPEN in text:
        return None
    return text


def extract_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (balanced braces), or None."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    i = start = starts[-1]
    depth = 1
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
        i += 1
    return None


def is_correct(completion: str, gold: str) -> bool:
    """True when the completion's final answer equals the gold answer under math-verify."""
    from math_verify import parse, verify

    answer = answer_part(completion)
    predicted = extract_boxed(answer) if answer is not None else None
    if predicted is None:  # the prompt asks for \boxed{}; a stray number elsewhere is not an answer
        return False
    gold_inner = extract_boxed(gold) or gold.strip().strip("$")
    try:
        return bool(verify(parse(f"${gold_inner}$"), parse(f"${predicted}$")))
    except Exception:  # math-verify raises on pathological strings; a crash is not a correct answer
        return False
