"""Twin pairs: two strategies sharing one scene and its numbers, whose texts differ only in the question.

A twin in the bank looks almost exactly like its train row and needs the other procedure: the case where
semantic retrieval hands the policy the wrong plan.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from trainer.data import samplers as S
from trainer.data.samplers import Params


@dataclass(frozen=True)
class TwinPair:
    """Two strategies sharing one scene and its numbers: the texts differ only in the question."""

    first: str
    second: str
    sample: Callable[[random.Random], Params]  # params valid for both strategies
    templates: tuple[str, str]


TWIN_PAIRS: tuple[TwinPair, ...] = (
    TwinPair(
        "compare_products", "combine_products", S.products,
        ("{P1} {verb} {a} {conts} of {b} {items} and {P2} {verb} {c} {conts} of {d} {items} {place}. How many more {items} did {P1} have than {P2}?",
         "{P1} {verb} {a} {conts} of {b} {items} and {P2} {verb} {c} {conts} of {d} {items} {place}. How many {items} did they have together?"),
    ),
    TwinPair(
        "work_backwards", "forward_steps", lambda rng: S.backwards_twin(rng),
        ("{P1} gave away {c} {items} {place} and then {kword} what was left, ending with {E}. How many {items} were there at the start?",
         "{P1} gave away {c} {items} {place} and then {kword} what was left, starting with {X}. How many {items} were there at the end?"),
    ),
    TwinPair(
        "share_equally", "missing_for_average", lambda rng: {**S.average(rng), "n": 0},
        ("{P1}, {P2} and {P3} {verb} {a}, {b} and {c} {items} {place}. They share them equally in {n} {conts}. How many {items} go in each?",
         "{P1}, {P2} and {P3} {verb} {a}, {b} and {c} {items} {place}. How many must a fourth friend add so the four average {D} each?"),
    ),
    TwinPair(
        "gcd_groups", "lcm_meet", S.gcd,
        ("{P1} is sorting {A} {items} and {B} {items2} {place} into the largest number of equal piles. How many things are in each pile?",
         "{P1} is sorting {items} into piles of {A} and {items2} into piles of {B} {place}, with equal totals. What is the smallest total?"),
    ),
    TwinPair(
        "product_difference", "leftover_remainder", lambda rng: S.remainder_and_difference(rng),
        ("{P1} filled {a} {conts} with {b} {items} each {place} and then gave {c} away. How many {items} are left?",
         "{P1} filled as many {conts} with {b} {items} each {place} as possible from {A} {items}. How many {items} are left?"),
    ),
)


def twin_params(pair: TwinPair, rng: random.Random) -> Params:
    """Joint params for a twin pair; share_equally needs a divisor of the three amounts chosen afterwards."""
    p = pair.sample(rng)
    if pair.first == "share_equally":
        total = p["a"] + p["b"] + p["c"]
        p["n"] = rng.choice([n for n in range(2, 7) if total % n == 0] or [1])
        if p["n"] == 1:
            return twin_params(pair, rng)
    return p
