"""The step language of worked solutions: each step is an expression over the problem's numbers, built from
the earlier steps, and the last step, boxed, is the answer; math-verify evaluates it.

Why expressions and not `expr = value` lines: the embedded benchmark measures *strategy* (which procedure to
apply, and to which numbers), not carry arithmetic. A policy of a few million parameters trained for minutes on
a CPU got a quarter of its `a * b = c` steps right (docs/data.md), so arithmetic, not the strategy, capped every
accuracy and hid the benefit of a demonstration. A step here is written once per strategy as a template,
`{a} * {b}` then `[1] - {c}` (where `[k]` is step k's expression), so step 2 reads `8 * 7 - 3`.

A solution opens with one plan line, `Plan: two totals, then their difference.`, naming the approach the way a
worked solution does. It is the same line for every row of a strategy, so a same-strategy demonstration hands the
policy its approach in words it can copy; with it the embedded warm start also reached 0.480 greedy accuracy on 200
test problems where the same data without it reached 0.345 (docs/data.md).

Every row is re-checked by parsing its text: each step evaluates exactly, uses only numbers from the problem or
the strategy's constants, and the boxed last step equals the verified integer answer.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Mapping

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv}
_NUMBER = re.compile(r"\d+")
_STEP_REF = re.compile(r"\[(\d+)\]")
PLAN_PREFIX = "Plan: "
CONSTANTS = frozenset({"1", "2", "3", "4", "7", "12", "24", "100"})  # the strategies' own numbers (doubled, tripled, dozen, week, day, percent)


def _to_python(expr: str) -> str:
    """The LaTeX spellings math-verify reads (`\\gcd`, `\\lfloor x / y \\rfloor`) as Python syntax."""
    return expr.replace("\\gcd", "gcd").replace("\\lfloor", "floor(").replace("\\rfloor", ")")


def eval_expression(expr: str) -> int:
    """Exact integer value of a step: + - * / // gcd and floor(a / b); '/' elsewhere must divide exactly."""
    return _eval(ast.parse(_to_python(expr).strip(), mode="eval").body, expr)


def _eval(node: ast.AST, expr: str) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, expr), _eval(node.right, expr)
        if isinstance(node.op, ast.Div):
            if right == 0 or left % right:
                raise ValueError(f"{expr!r}: {left} / {right} is not an exact division")
            return left // right
        if type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 2 and node.func.id == "gcd":
        return math.gcd(_eval(node.args[0], expr), _eval(node.args[1], expr))
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "floor" and len(node.args) == 1
            and isinstance(node.args[0], ast.BinOp) and isinstance(node.args[0].op, ast.Div)):
        num, den = _eval(node.args[0].left, expr), _eval(node.args[0].right, expr)
        if den == 0:
            raise ValueError(f"{expr!r}: division by zero")
        return num // den
    raise ValueError(f"unsupported step expression {expr!r}")


def answer_line(expr: str) -> str:
    return f"Answer: \\boxed{{{expr}}}"


def plan_line(plan: str) -> str:
    return f"{PLAN_PREFIX}{plan}."


def render_steps(templates: list[str], params: Mapping[str, int], plan: str | None = None) -> tuple[str, int]:
    """Step templates -> the worked solution (the plan line when given, one expression per line, then the boxed
    answer) and its value."""
    lines: list[str] = []
    for template in templates:
        text = template.format(**params)
        text = _STEP_REF.sub(lambda m: lines[int(m.group(1)) - 1], text)
        lines.append(text)
    value = eval_expression(lines[-1])
    head = [plan_line(plan)] if plan else []
    return "\n".join([*head, *lines, answer_line(lines[-1])]), value


def check_solution(problem: str, solution: str, answer: str) -> list[str]:
    """Problems with a worked solution; empty when every step evaluates, uses only the problem's numbers (or
    the strategy constants), and the boxed last step is the answer. An opening plan line is words, not a step."""
    errors: list[str] = []
    known = set(_NUMBER.findall(problem)) | CONSTANTS
    lines = [ln.strip() for ln in solution.strip().splitlines() if ln.strip()]
    if lines and lines[0].startswith(PLAN_PREFIX):
        lines = lines[1:]
    if len(lines) < 2 or not lines[-1].startswith("Answer: \\boxed{"):
        return ["a solution is at least one step and a final 'Answer: \\boxed{...}' line"]
    *steps, final = lines
    value: int | None = None
    for i, step in enumerate(steps, 1):
        try:
            value = eval_expression(step)
        except (ValueError, SyntaxError) as exc:
            errors.append(f"step {i}: {exc}")
            continue
        unknown = [n for n in _NUMBER.findall(step) if n not in known]
        if unknown:
            errors.append(f"step {i} {step!r} uses {unknown}, found neither in the problem nor the strategy")
    if final != answer_line(steps[-1]):
        errors.append(f"the boxed answer {final!r} is not the last step {steps[-1]!r}")
    elif not errors and str(value) != str(answer).strip():
        errors.append(f"the last step gives {value}, the answer is {answer}")
    return errors
