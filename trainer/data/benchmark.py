"""The embedded analogy benchmark: every strategy crossed with every theme, plus surface twins.

It tests the paper's claim in miniature: a semantic encoder sees the theme (names, objects, places), while the
reasoning strategy lives in the question's structure. Theme and strategy are assigned to rows from a balanced
crossing (so they are statistically independent), and "surface twins" (one scene, two questions, two
strategies) put a near-duplicate of a warm-start problem into the bank that needs a different procedure.

Five splits, each with its own wordings (`Strategy.wording`), so that a demonstration is needed exactly where RL
learns and where the test measures:
- bank (retrieval corpus) and train (the warm start's SFT rows): 'familiar' and 'novel' templates, twins;
- rl (the RL rows): 'rl' templates no other split uses, so the warm start has never read them. GRPO can only
  memorise these wordings, which does not transfer to the test's; learning to follow a retrieved plan does;
- dev and test: 'unseen' templates only (at least 3 per strategy), drawn the same way, so every choice made on
  dev transfers to test, and a semantic retriever cannot find a same-strategy row by matching the template.
No exact copies: a worked solution (and so a (strategy, parameters) pair) belongs to the held-out half of the
solution space (`held_out_solution`) or the open one; dev and test draw only held-out solutions, every other split
only open ones, so the gold solution of a dev or test problem is never in the bank or in training.
Everything is deterministic from the seed; no two rows in any split share a normalised problem.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from shared.contract import Demonstration
from shared.text import problem_hash
from trainer.data.arith import render_steps
from trainer.data.samplers import K_WORD, Params
from trainer.data.strategies import STRATEGIES, STRATEGY_BY_NAME
from trainer.data.twins import TWIN_PAIRS, TwinPair, twin_params
from trainer.data.themes import THEME_BY_NAME, THEMES, Theme

GENERATOR = "rarft-analogy-v4"  # v4: rl/dev splits, unseen-only dev and test, held-out solutions; other versions are rebuilt
SPLITS = ("bank", "train", "rl", "dev", "test")
EVAL_SPLITS = ("dev", "test")  # unseen wordings and held-out solutions only
SPLIT_WORDING = {"rl": "rl", "dev": "unseen", "test": "unseen"}  # the template block each split draws (else the shared ones)
TWIN_RATE = 0.4  # share of eligible train cells that get a surface twin in the bank
# A quarter of every strategy's solution space is held out for dev and test (by a hash of the solution text, so the
# partition is the same for every seed and size); the small parameter spaces (percent_of has ~60) keep ~15 each.
HELD_OUT_MOD = 4
SCENE_RATE = 1.0  # share of problems that open with a theme scene sentence (more theme words, same strategy)
MAX_SCENE_WORDS = 30  # no scene sentence when the question alone is longer, to keep problems <= ~38 words
# Surface siblings: a share of test/train problems get SIBLINGS bank rows of other strategies written with the
# same surface (people, items, container, place, scene): their nearest semantic neighbours, by design.
SIBLINGS = 2
SIBLING_BANK_SHARE = {"test": 0.15, "dev": 0.1, "train": 0.15, "rl": 0.05}  # share of the bank for each split's siblings (at most)
_UNIT_TEMPLATE = {12: 0, 7: 1, 24: 2}
_PREPOSITION = re.compile(r"^(below deck on|out in|at|in|on|aboard|among|beside|around)\s+")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def sample_vocab(theme: Theme, rng: random.Random) -> dict[str, str]:
    """One row's surface: three people, a role, two item kinds, a container, a place, a verb, a period."""
    p1, p2, p3 = rng.sample(theme.people, 3)
    (item, items), (item2, items2) = rng.sample(theme.items, 2)
    cont, conts = rng.choice(theme.containers)
    place = rng.choice(theme.places)
    period, periods = rng.choice(theme.periods)
    role = rng.choice(theme.roles)
    return {
        "P1": p1, "P2": p2, "P3": p3, "role": role, "Role": _cap(role),
        "item": item, "items": items, "Items": _cap(items), "item2": item2, "items2": items2,
        "cont": cont, "conts": conts, "place": place, "Place": _cap(place),
        "place_bare": _PREPOSITION.sub("", place), "verb": rng.choice(theme.verbs)[0],
        "period": period, "periods": periods, "scene": rng.choice(theme.scenes),
    }


# Interchangeable wordings of cue phrases: each row draws its own, so rows of one template do not share every
# cue word (a semantic encoder then cannot match a strategy by its template's exact wording).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("gave away", "handed out", "donated"),
    ("altogether", "in total", "in all", "combined"),
    ("evenly", "equally", "fairly"),
    ("at first", "at the start", "originally", "to begin with"),
    ("smallest", "least", "lowest"),
    ("remain?", "are left?", "are still there?"),
    ("still have", "have left", "keep"),
    ("largest number of", "greatest number of", "biggest number of"),
    (" percent", "%"),
)


def vary(text: str, rng: random.Random) -> str:
    """Swap every cue phrase found for a random equivalent (all members of a group are matched)."""
    for group in SYNONYMS:
        for phrase in group:
            pattern = (r"\b" if phrase[0].isalnum() else "") + re.escape(phrase) + r"(?!\w)"
            if re.search(pattern, text):
                text = re.sub(pattern, rng.choice(group), text)
                break
    return text


def render(template: str, params: Params, vocab: dict[str, str], with_scene: bool,
           wording: random.Random | None = None) -> str:
    text = _cap(template.format(**vocab, **params, kword=K_WORD.get(params.get("k", 0), "")))
    if wording is not None:
        text = vary(text, wording)
    if with_scene and len(text.split()) <= MAX_SCENE_WORDS:
        text = f"{vocab['scene']} {text}"
    return text


def worked_solution(strategy: str, params: Params) -> tuple[str, int]:
    """A strategy's worked solution (plan line, steps, boxed answer) for these params, and its value."""
    strat = STRATEGY_BY_NAME[strategy]
    return render_steps(list(strat.steps), params, plan=strat.plan)


def held_out_solution(solution: str) -> bool:
    """Whether a worked solution belongs to the dev/test half of the solution space (same text, same half)."""
    return int(problem_hash(solution), 16) % HELD_OUT_MOD == 0


def _row(strategy: str, theme: str, problem: str, params: Params, template: int, **meta: Any) -> dict[str, Any]:
    solution, answer = worked_solution(strategy, params)
    return {
        "problem": problem, "solution": solution, "answer": str(answer), "strategy": strategy, "theme": theme,
        "metadata": {"template": template, "params": dict(params), **meta},
    }


def _sample_params(strategy: str, rng: random.Random, held_out: bool, max_tries: int = 2000) -> Params:
    """Parameters whose worked solution lies in the requested half of the solution space."""
    strat = STRATEGY_BY_NAME[strategy]
    for _ in range(max_tries):
        params = strat.sample(rng)
        if held_out_solution(worked_solution(strategy, params)[0]) == held_out:
            return params
    raise RuntimeError(f"no {'held-out' if held_out else 'open'} solution of {strategy} in {max_tries} draws")


def _per_wording(strat) -> int:
    """Templates per wording: unit_conversion writes each wording once per unit (dozen, weeks, hours)."""
    return len(_UNIT_TEMPLATE) if strat.name == "unit_conversion" else 1


def max_rl_wordings() -> int:
    """The most RL-only wordings every strategy has (`rarft data --rl-wordings`)."""
    return min(len(s.rl_only) // _per_wording(s) for s in STRATEGY_BY_NAME.values())


def _template_block(strat, wording: str) -> tuple[int, int]:
    """(first index, count) of a wording's templates in templates + unseen + rl_only. The RL block is its first
    wording: further RL wordings are drawn apart from the row's random stream (`generate_one`)."""
    shared, unseen = len(strat.templates), len(strat.unseen)
    if wording == "unseen":
        return shared, unseen
    if wording == "rl":
        return shared + unseen, _per_wording(strat)
    return 0, shared


def generate_one(strategy: str, theme: str, rng: random.Random, vocab: dict[str, str] | None = None,
                 with_scene: bool | None = None, wording: str = "shared", held_out: bool = False,
                 rl_wordings: int = 1) -> dict[str, Any]:
    """A single problem of this strategy in this theme (optionally with a given surface), worked and solved.
    `wording` picks the template block ('shared': familiar + novel, 'unseen', 'rl'); `held_out` the half of the
    solution space (dev and test rows only). An RL row is written in one of the first `rl_wordings` RL-only
    wordings, chosen by a generator of its own (seeded by the row's params and surface), so the number of RL
    wordings changes only the RL rows' questions: every other row, and every RL row's params, stay the same."""
    strat = STRATEGY_BY_NAME[strategy]
    params = _sample_params(strategy, rng, held_out)
    first, count = _template_block(strat, wording)
    per = _per_wording(strat)
    unit = _UNIT_TEMPLATE[params["f"]] if per > 1 else 0  # a unit_conversion template names the sampled factor's unit
    template = first + unit + per * rng.randrange(count // per)
    vocab = vocab or sample_vocab(THEME_BY_NAME[theme], rng)
    if wording == "rl" and rl_wordings > 1:
        own = random.Random(f"rl-wording:{strategy}:{sorted(params.items())}:{sorted(vocab.items())}")
        template += per * own.randrange(rl_wordings)
    with_scene = rng.random() < SCENE_RATE if with_scene is None else with_scene
    problem = render(strat.template(template), params, vocab, with_scene, random.Random(rng.random()))
    surface = {"people": [vocab["P1"], vocab["P2"], vocab["P3"]], "items": vocab["items"], "place": vocab["place"]}
    return _row(strategy, theme, problem, params, template, surface=surface, wording=strat.wording(template))


def generate_twins(pair: TwinPair, theme: str, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """One scene, two questions: texts that read almost the same but need different procedures."""
    while True:  # both twins' solutions in the open half: twins live in train and the bank
        params = twin_params(pair, rng)
        if not any(held_out_solution(worked_solution(x, params)[0]) for x in (pair.first, pair.second)):
            break
    vocab = sample_vocab(THEME_BY_NAME[theme], rng)
    with_scene = rng.random() < SCENE_RATE
    wording = rng.random()  # both twins draw the same wordings
    rows = []
    for strategy, template in zip((pair.first, pair.second), pair.templates):
        problem = render(template, params, vocab, with_scene, random.Random(wording))
        rows.append(_row(strategy, theme, problem, params, -1, twin_pair=f"{pair.first}|{pair.second}",
                         wording="familiar"))
    return rows[0], rows[1]


def balanced_cells(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """n (theme, strategy) cells: whole rounds of the full crossing, then a random partial round."""
    crossing = list(product([t.name for t in THEMES], [s.name for s in STRATEGIES]))
    cells = crossing * (n // len(crossing))
    # partial round: unused cells picked greedily where both the theme and the strategy are least used, so
    # even a tiny split (fewer rows than cells) has near-equal strategy and theme counts
    left = rng.sample(crossing, len(crossing))
    used_t: Counter[str] = Counter()
    used_s: Counter[str] = Counter()
    for _ in range(n % len(crossing)):
        best = min(range(len(left)), key=lambda i: (used_s[left[i][1]] + used_t[left[i][0]], i))
        theme, strategy = left.pop(best)
        used_t[theme] += 1
        used_s[strategy] += 1
        cells.append((theme, strategy))
    rng.shuffle(cells)
    return cells


@dataclass
class _Builder:
    rng: random.Random
    seen: set[str] = field(default_factory=set)

    def fresh(self, make, max_tries: int = 200):
        """Call make() until its rows are problems no split has yet (the leakage guard at the source)."""
        for _ in range(max_tries):
            rows = make()
            hashes = [problem_hash(r["problem"]) for r in rows]
            if len(set(hashes)) == len(hashes) and not self.seen.intersection(hashes):
                self.seen.update(hashes)
                return rows
        raise RuntimeError("could not generate a new distinct problem; the vocabulary is too small for these sizes")


def generate_benchmark(seed: int, sizes: Mapping[str, int], rl_wordings: int = 1) -> dict[str, list[Demonstration]]:
    """The five splits (sizes keyed by SPLITS); deterministic from the seed, leakage-free, theme x strategy balanced.
    `rl_wordings`: RL-only templates per strategy the RL rows are written from (see `generate_one`)."""
    missing = [name for name in SPLITS if name not in sizes]
    if missing:
        raise ValueError(f"sizes must name every split {SPLITS}; missing {missing}")
    if not 1 <= rl_wordings <= max_rl_wordings():
        raise ValueError(f"rl_wordings must be 1..{max_rl_wordings()}; got {rl_wordings}")
    rng = random.Random(seed)
    cells = {split: balanced_cells(sizes[split], rng) for split in SPLITS}
    rows: dict[str, list[dict[str, Any] | None]] = {split: [None] * sizes[split] for split in SPLITS}
    free_bank: dict[tuple[str, str], list[int]] = defaultdict(list)  # unfilled bank cells, for twin partners
    for i, cell in enumerate(cells["bank"]):
        free_bank[cell].append(i)
    partner = {}
    for pair in TWIN_PAIRS:
        partner[pair.first] = (pair, 0)
        partner[pair.second] = (pair, 1)

    builder = _Builder(rng)
    twin_count = sibling_count = 0
    bank_size = sizes["bank"]
    sibling_rate = {name: min(1.0, SIBLING_BANK_SHARE[name] * bank_size / (SIBLINGS * max(sizes[name], 1)))
                    for name in SIBLING_BANK_SHARE}
    for split in ("test", "dev", "train", "rl", "bank"):  # eval splits first: their siblings are the bank's hardest negatives
        held_out = split in EVAL_SPLITS
        wording = SPLIT_WORDING.get(split, "shared")
        for i, (theme, strategy) in enumerate(cells[split]):
            if rows[split][i] is not None:
                continue
            if split == "bank" and i in free_bank[(theme, strategy)]:
                free_bank[(theme, strategy)].remove(i)
            twin = partner.get(strategy)
            if split == "train" and twin and rng.random() < TWIN_RATE:
                pair, side = twin
                other = pair.second if side == 0 else pair.first
                slots = free_bank[(theme, other)]
                if slots:
                    j = slots.pop(rng.randrange(len(slots)))
                    a, b = builder.fresh(lambda: generate_twins(pair, theme, rng))
                    mine, theirs = (a, b) if side == 0 else (b, a)
                    twin_count += 1
                    mine["metadata"]["twin_group"] = theirs["metadata"]["twin_group"] = twin_count
                    rows[split][i], rows["bank"][j] = mine, theirs
                    continue
            vocab = sample_vocab(THEME_BY_NAME[theme], rng)
            with_scene = rng.random() < SCENE_RATE
            decoys: list[tuple[str, int]] = []
            if split in sibling_rate and rng.random() < sibling_rate[split]:
                others = [x for x in STRATEGY_BY_NAME if x != strategy and free_bank[(theme, x)]]
                for other in rng.sample(others, min(SIBLINGS, len(others))):
                    slots = free_bank[(theme, other)]
                    decoys.append((other, slots.pop(rng.randrange(len(slots)))))
            made = builder.fresh(lambda: [generate_one(strategy, theme, rng, vocab, with_scene, wording, held_out,
                                                       rl_wordings)]
                                 + [generate_one(d[0], theme, rng, vocab, with_scene) for d in decoys])
            rows[split][i] = made[0]
            if decoys:
                sibling_count += 1
                made[0]["metadata"].update(sibling_group=sibling_count, sibling_role="query")
                for row, (_, j) in zip(made[1:], decoys):
                    row["metadata"].update(sibling_group=sibling_count, sibling_role="decoy")
                    rows["bank"][j] = row

    out: dict[str, list[Demonstration]] = {}
    ids_by_group: dict[int, list[str]] = defaultdict(list)
    sibling_ids: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for split in SPLITS:
        out[split] = []
        for i, row in enumerate(rows[split]):
            assert row is not None
            demo = Demonstration(id=f"{split}-{i:05d}", source=GENERATOR, **row)
            if "twin_group" in row["metadata"]:
                ids_by_group[row["metadata"]["twin_group"]].append(demo.id)
            if "sibling_group" in row["metadata"]:
                sibling_ids[row["metadata"]["sibling_group"]][row["metadata"]["sibling_role"]].append(demo.id)
            out[split].append(demo)
    for split in SPLITS:  # each twin records its partner's id, so evaluations can find the pair
        for demo in out[split]:
            group = demo.metadata.get("twin_group")
            if group is not None:
                demo.metadata["twin_of"] = next(x for x in ids_by_group[group] if x != demo.id)
            group = demo.metadata.get("sibling_group")
            if group is not None:
                if demo.metadata["sibling_role"] == "query":
                    demo.metadata["siblings"] = sibling_ids[group]["decoy"]
                else:
                    demo.metadata["sibling_of"] = sibling_ids[group]["query"][0]
    return out
