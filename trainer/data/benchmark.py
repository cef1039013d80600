"""The embedded analogy benchmark: every strategy crossed with every theme, plus surface twins.

It tests the paper's claim in miniature: a semantic encoder sees the theme (names, objects, places), while the
reasoning strategy lives in the question's structure. Theme and strategy are assigned to rows from a balanced
crossing (so they are statistically independent), and "surface twins" (one scene, two questions, two
strategies) put a near-duplicate of a test or train problem into the bank that needs a different procedure.
Every row records its wording: 'familiar' (the first half of its strategy's templates, and the twins), 'novel'
(the second half) or 'unseen' (templates only test rows use: half of the test problems without a twin). All splits
carry familiar and novel rows; the warm start shows novel ones only next to same-strategy demonstrations by default
(`rarft init-policy --novel-wordings`). On an unseen wording the policy has never seen the question's phrasing, and
the bank holds no row written the same way, so a demonstration that shares the strategy has to tell it the
approach, and a semantic retriever cannot find one by matching the template.
Everything is deterministic from the seed; no two rows in any split share a normalised problem.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from shared.contract import Demonstration
from shared.text import problem_hash
from trainer.data.arith import render_steps
from trainer.data.strategies import (
    K_WORD,
    STRATEGIES,
    STRATEGY_BY_NAME,
    TWIN_PAIRS,
    Params,
    TwinPair,
    twin_params,
)
from trainer.data.themes import THEME_BY_NAME, THEMES, Theme

GENERATOR = "rarft-analogy-v3"  # v3: plan lines, unseen test wordings; a dir of another version is rebuilt
SPLITS = ("bank", "train", "test")
TWIN_RATE = 0.4  # share of eligible test/train/bank cells that get a surface twin in the bank
# Unseen wordings: this share of the test problems without a twin is written from templates no bank or train row
# uses (Strategy.unseen), like a new contest's problems: no same-template neighbour to retrieve, none to memorise.
UNSEEN_RATE = 0.5
SCENE_RATE = 1.0  # share of problems that open with a theme scene sentence (more theme words, same strategy)
MAX_SCENE_WORDS = 30  # no scene sentence when the question alone is longer, to keep problems <= ~38 words
# Surface siblings: a share of test/train problems get SIBLINGS bank rows of other strategies written with the
# same surface (people, items, container, place, scene): their nearest semantic neighbours, by design.
SIBLINGS = 2
SIBLING_BANK_SHARE = {"test": 0.25, "train": 0.2}  # share of the bank spent on each split's siblings (at most)
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


def _row(strategy: str, theme: str, problem: str, params: Params, template: int, **meta: Any) -> dict[str, Any]:
    strat = STRATEGY_BY_NAME[strategy]
    solution, answer = render_steps(list(strat.steps), params, plan=strat.plan)
    return {
        "problem": problem, "solution": solution, "answer": str(answer), "strategy": strategy, "theme": theme,
        "metadata": {"template": template, "params": dict(params), **meta},
    }


def generate_one(strategy: str, theme: str, rng: random.Random, vocab: dict[str, str] | None = None,
                 with_scene: bool | None = None, unseen: bool = False) -> dict[str, Any]:
    """A single problem of this strategy in this theme (optionally with a given surface), worked and solved;
    `unseen` draws its wording from the strategy's test-only templates."""
    strat = STRATEGY_BY_NAME[strategy]
    params = strat.sample(rng)
    first, count = (len(strat.templates), len(strat.unseen)) if unseen else (0, len(strat.templates))
    if strategy == "unit_conversion":  # the template must name the unit of the sampled factor
        template = first + _UNIT_TEMPLATE[params["f"]] + 3 * rng.randrange(count // 3)
    else:
        template = first + rng.randrange(count)
    vocab = vocab or sample_vocab(THEME_BY_NAME[theme], rng)
    with_scene = rng.random() < SCENE_RATE if with_scene is None else with_scene
    problem = render(strat.template(template), params, vocab, with_scene, random.Random(rng.random()))
    surface = {"people": [vocab["P1"], vocab["P2"], vocab["P3"]], "items": vocab["items"], "place": vocab["place"]}
    return _row(strategy, theme, problem, params, template, surface=surface, wording=strat.wording(template))


def generate_twins(pair: TwinPair, theme: str, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """One scene, two questions: texts that read almost the same but need different procedures."""
    params = twin_params(pair, rng)
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


def generate_benchmark(seed: int, bank_size: int, train_size: int, test_size: int) -> dict[str, list[Demonstration]]:
    """Bank, RL-train and test splits; deterministic from the seed, leakage-free, theme x strategy balanced."""
    rng = random.Random(seed)
    sizes = {"bank": bank_size, "train": train_size, "test": test_size}
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
    sibling_rate = {name: min(1.0, SIBLING_BANK_SHARE[name] * bank_size / (SIBLINGS * max(sizes[name], 1)))
                    for name in SIBLING_BANK_SHARE}
    for split in ("test", "train", "bank"):  # test first: its twins are the hardest negatives in the bank
        for i, (theme, strategy) in enumerate(cells[split]):
            if rows[split][i] is not None:
                continue
            if split == "bank" and i in free_bank[(theme, strategy)]:
                free_bank[(theme, strategy)].remove(i)
            twin = partner.get(strategy)
            if twin and rng.random() < TWIN_RATE:
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
            if split != "bank" and rng.random() < sibling_rate[split]:
                others = [x for x in STRATEGY_BY_NAME if x != strategy and free_bank[(theme, x)]]
                for other in rng.sample(others, min(SIBLINGS, len(others))):
                    slots = free_bank[(theme, other)]
                    decoys.append((other, slots.pop(rng.randrange(len(slots)))))
            unseen = split == "test" and rng.random() < UNSEEN_RATE
            made = builder.fresh(lambda: [generate_one(x, theme, rng, vocab, with_scene, unseen=unseen and x == strategy)
                                          for x in [strategy, *(d[0] for d in decoys)]])
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
