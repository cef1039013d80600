"""The one prompt format: SFT warm start, GRPO rollouts, benefit labels and evaluation all build it here.

A prompt is a single user turn: the retrieved demonstrations (problem, worked solution, boxed answer), then the
problem. The completion is the worked solution ending in `Answer: \\boxed{N}`, which math-verify checks.
The policy's own chat template renders the turn, so a real Qwen3 and the tiny embedded policy share the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from shared.contract import Demonstration

INSTRUCTION = "Solve the problem step by step. End with 'Answer: \\boxed{N}'."
SOLUTION_PREFIX = "Solution: "  # precedes each demonstration's worked solution (the warm start finds it by this)


class _Tokenizer(Protocol):
    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...
    def __call__(self, text: str, **kwargs: Any) -> Any: ...


def format_completion(solution: str, answer: str) -> str:
    """Worked solution plus the boxed answer line (not duplicated when the solution already boxes it)."""
    solution = solution.strip()
    if "\\boxed" in solution:
        return solution
    return f"{solution}\nAnswer: \\boxed{{{answer}}}" if solution else f"Answer: \\boxed{{{answer}}}"


def format_demonstration(demo: Demonstration, index: int) -> str:
    return f"Example {index}:\nProblem: {demo.problem.strip()}\n{SOLUTION_PREFIX}{format_completion(demo.solution, demo.answer)}"


def build_user_message(problem: str, demos: Sequence[Demonstration] = ()) -> str:
    parts = [format_demonstration(d, i + 1) for i, d in enumerate(demos)]
    parts.append(f"{INSTRUCTION}\nProblem: {problem.strip()}")
    return "\n\n".join(parts)


def build_messages(problem: str, demos: Sequence[Demonstration] = ()) -> list[dict[str, str]]:
    return [{"role": "user", "content": build_user_message(problem, demos)}]


def fit_demonstrations(tokenizer: _Tokenizer, demos: Sequence[Demonstration], budget_tokens: int) -> list[Demonstration]:
    """Keep demonstrations in rank order while their tokens fit the budget; the problem is never cut."""
    kept: list[Demonstration] = []
    used = 0
    for i, demo in enumerate(demos):
        n = len(tokenizer(format_demonstration(demo, i + 1), add_special_tokens=False)["input_ids"])
        if used + n > budget_tokens:
            break
        kept.append(demo)
        used += n
    return kept


def render_prompt(tokenizer: _Tokenizer, problem: str, demos: Sequence[Demonstration] = (),
                  budget_tokens: int | None = None) -> str:
    """Chat-templated prompt text, ending where the assistant's completion starts."""
    if budget_tokens is not None:
        demos = fit_demonstrations(tokenizer, demos, budget_tokens)
    return tokenizer.apply_chat_template(
        build_messages(problem, demos), tokenize=False, add_generation_prompt=True
    )
