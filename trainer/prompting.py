"""The one prompt format: SFT warm start, GRPO rollouts, benefit labels and evaluation all build it here.

A prompt is a single user turn: the retrieved demonstrations (problem, worked solution, boxed answer), then the
problem. The completion is the worked solution ending in `Answer: \\boxed{N}`, which math-verify checks.
The policy's own chat template renders the turn, so a real Qwen3 and the tiny embedded policy share the code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
                  budget_tokens: int | None = None, template_kwargs: Mapping[str, Any] | None = None) -> str:
    """Chat-templated prompt text, ending where the assistant's completion starts.

    `template_kwargs` go to the chat template (`--chat-template-kwargs`), e.g. `{"enable_thinking": false}` for Qwen3.
    """
    if budget_tokens is not None:
        demos = fit_demonstrations(tokenizer, demos, budget_tokens)
    return tokenizer.apply_chat_template(
        build_messages(problem, demos), tokenize=False, add_generation_prompt=True, **dict(template_kwargs or {})
    )


EMPTY_THINK = "<think>\n\n</think>\n\n"  # what Qwen3's template writes for a turn without thinking


def answer_prefix(tokenizer: _Tokenizer, template_kwargs: Mapping[str, Any] | None = None) -> str:
    """Text between the generation prompt and the answer, for scoring a gold solution where the template puts it.

    A thinking template (one that mentions `<think>`) whose generation prompt does not already close an empty think
    block (Qwen3 with thinking on) answers after the trace: the gold solution is scored as the answer part, after an
    empty trace. Templates without thinking, and thinking turned off, need nothing.
    """
    template = getattr(tokenizer, "chat_template", None) or ""
    if "<think>" not in str(template):
        return ""
    probe = render_prompt(tokenizer, "1 + 1?", (), None, template_kwargs)
    return "" if probe.rstrip().endswith("</think>") else EMPTY_THINK
