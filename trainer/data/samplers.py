"""Parameter samplers of the strategy families: small operands, every intermediate value below 100 (strategies.py)."""

from __future__ import annotations

import math
import random

Params = dict[str, int]


def _ri(rng: random.Random, lo: int, hi: int) -> int:
    return rng.randint(lo, hi)


K_WORD = {2: "doubled", 3: "tripled"}


def product_difference(rng: random.Random) -> Params:
    a, b = _ri(rng, 2, 9), _ri(rng, 2, 9)
    return {"a": a, "b": b, "c": _ri(rng, 2, min(9, a * b - 1))}


def share_equally(rng: random.Random) -> Params:
    while True:
        n, a, b, c = _ri(rng, 2, 6), _ri(rng, 2, 15), _ri(rng, 2, 15), _ri(rng, 2, 15)
        if (a + b + c) % n == 0:
            return {"a": a, "b": b, "c": c, "n": n}


def products(rng: random.Random) -> Params:
    while True:
        a, b, c, d = (_ri(rng, 2, 9) for _ in range(4))
        if a * b > c * d and a * b + c * d < 100:
            return {"a": a, "b": b, "c": c, "d": d}


def remainder(rng: random.Random) -> Params:
    while True:
        b = _ri(rng, 3, 9)
        total = _ri(rng, max(10, b + 1), 10 * b - 1)  # at most 9 full groups: every step stays below 100
        if total % b:
            return {"A": total, "b": b}


def backwards(rng: random.Random) -> Params:
    k, h, c = rng.choice((2, 3)), _ri(rng, 2, 15), _ri(rng, 2, 9)
    return {"k": k, "c": c, "E": h * k, "X": h + c}  # X = start (forward), E = end (backward)


def backwards_twin(rng: random.Random) -> Params:
    """Same k and c, but the start of one twin is never the end of the other: no answer leaks via the pair."""
    p = backwards(rng)
    while True:
        q = backwards(rng)
        if q["X"] - p["c"] >= 1 and (q["X"] - p["c"]) * p["k"] < 100 and q["X"] != p["E"] // p["k"] + p["c"] and (q["X"] - p["c"]) * p["k"] != p["E"]:
            return {**p, "X": q["X"]}


def percent(rng: random.Random) -> Params:
    """A percent that is one part in m (10% = 1/10, 20% = 1/5, 25% = 1/4, 50% = 1/2) of a whole below 100."""
    pct = rng.choice((10, 20, 25, 50))
    return {"pct": pct, "B": 100 // pct * _ri(rng, 2, min(19, 99 // (100 // pct)))}


def ratio(rng: random.Random) -> Params:
    a, b = rng.sample(range(2, 10), 2)
    return {"a": a, "b": b, "C": a * _ri(rng, 2, 9)}


def series(rng: random.Random) -> Params:
    while True:
        a, d, n = _ri(rng, 2, 9), _ri(rng, 2, 5), _ri(rng, 3, 6)
        last = a + (n - 1) * d
        if (a + last) % 2 == 0 and (a + last) // 2 * n < 100:  # the middle term is whole; total below 100
            return {"a": a, "d": d, "n": n}




def units(rng: random.Random) -> Params:
    """Factor 12 (dozens), 7 (weeks/days) or 24 (days/hours), with big * factor + extra below 100."""
    f = rng.choice((12, 7, 24))
    a = _ri(rng, 2, 99 // f - 1 if f > 7 else 9)
    return {"f": f, "a": a, "b": _ri(rng, 1, min(f - 1, 99 - a * f))}


def lcm(rng: random.Random) -> Params:
    while True:
        a, b = rng.sample(range(2, 16), 2)
        g = math.gcd(a, b)
        if g > 1 and a * b // g < 100:  # g > 1 so "multiply them" is not the same as the LCM
            return {"A": a, "B": b}


def gcd(rng: random.Random) -> Params:
    while True:
        g, p, q = _ri(rng, 2, 10), _ri(rng, 2, 9), _ri(rng, 2, 9)
        if p != q and math.gcd(p, q) == 1 and g * p * q < 100:  # the LCM twin stays below 100 too
            return {"A": g * p, "B": g * q}


def remainder_and_difference(rng: random.Random) -> Params:
    """One container size b for both twins: A items into groups of b, or a groups of b minus c."""
    p = remainder(rng)
    a = _ri(rng, 2, 9)
    return {**p, "a": a, "c": _ri(rng, 2, min(9, a * p["b"] - 1))}


def age(rng: random.Random) -> Params:
    a, b, young = _ri(rng, 2, 9), _ri(rng, 2, 9), _ri(rng, 3, 30)
    return {"a": a, "b": b, "C": young + a + b}


def average(rng: random.Random) -> Params:
    while True:
        a, b, c, d = _ri(rng, 2, 15), _ri(rng, 2, 15), _ri(rng, 2, 15), _ri(rng, 4, 20)
        x = 4 * d - (a + b + c)
        if 2 <= x <= 30:
            return {"a": a, "b": b, "c": c, "D": d}
