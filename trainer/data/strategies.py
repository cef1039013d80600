"""Strategy families of the analogy benchmark: a parameter sampler, the strategy's own step procedure, and
several paraphrase templates whose *question structure* (not any one rare word) says which procedure applies.

Every family writes its solution in one rigid step format (each step an expression over the problem's numbers
built from the earlier steps, the last one boxed: see arith.py), so a same-strategy demonstration shows exactly
the procedure to copy, and a same-theme one of another strategy does not. Numbers stay small (operands mostly
2..9, every intermediate value below 100) so the expressions stay short.

Template blocks, indexed together as templates + unseen + rl_only (`Strategy.template`, `Strategy.wording`):
- templates ('familiar' / 'novel'): the bank and the warm start's train rows;
- unseen: dev and test only, so the policy has never read the phrasing and the bank holds no row written alike; a
  same-strategy demonstration has to tell it the approach;
- rl_only ('rl'): the RL rows only. GRPO can only memorise these wordings, which does not carry over to the test's;
  only learning to follow a retrieved plan transfers to the unseen wordings. Three wordings per strategy (three per
  unit for unit_conversion); the RL rows use the first unless `rarft data --rl-wordings` asks for more.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from trainer.data import samplers as S
from trainer.data.samplers import Params

WORDINGS: tuple[str, ...] = ("familiar", "novel", "unseen", "rl")  # what Strategy.wording returns, in this order


@dataclass(frozen=True)
class Strategy:
    name: str
    plan: str  # the solution's first line, "Plan: <plan>.": names the approach, as a worked solution does
    procedure: str  # one line, for docs and the manifest
    sample: Callable[[random.Random], Params]
    steps: tuple[str, ...]  # step templates over the params; `[k]` is step k (see arith.render_steps)
    templates: tuple[str, ...]  # bank and train (the warm start): 'familiar' then 'novel'
    # dev and test only (>= 3): no bank or training row is phrased alike, so a demonstration must tell the approach
    unseen: tuple[str, ...] = ()
    # RL rows only: GRPO can merely memorise them, which misses the test wordings; following a retrieved plan transfers.
    # The first wording is the one RL rows use by default; the others only with `rarft data --rl-wordings`
    rl_only: tuple[str, ...] = ()

    def template(self, index: int) -> str:
        """Template `index` of templates + unseen + rl_only (the index a row records in metadata.template)."""
        return (self.templates + self.unseen + self.rl_only)[index]

    def wording(self, template: int) -> str:
        """'familiar' (first half of the templates), 'novel' (second half: a warm start can hold them out or show
        them only next to same-strategy demonstrations, see trainer.policy.warmstart), 'unseen' (dev and test only)
        or 'rl' (RL rows only)."""
        if template >= len(self.templates) + len(self.unseen):
            return "rl"
        if template >= len(self.templates):
            return "unseen"
        return "novel" if template >= len(self.templates) // 2 else "familiar"


# ----------------------------------------------------------------------------------------- strategies

STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "product_difference", "total in the groups, minus what was removed",
        "multiply groups by size, then subtract what was removed",
        S.product_difference,
        ("{a} * {b}", "[1] - {c}"),
        (
            "{P1} {verb} {a} {conts} with {b} {items} in each {place}, then gave away {c} of them. How many {items} does {P1} still have?",
            "{Role} {P1} filled {a} {conts} holding {b} {items} each. Then {c} {items} were handed to visitors. How many {items} remain?",
            "{P1} had {a} {conts} of {b} {items} {place}. After {c} {items} were used up, how many {items} were left?",
            "{Place}, {P1} packed {b} {items} into each of {a} {conts}. {P2} then took {c} {items} away. How many {items} are in the {conts} now?",
        ),
        (  # unseen: dev and test rows only
            "{Place}, {P1} set out {a} {conts}, each with {b} {items}. Later {c} {items} went missing. How many {items} are there now?",
            "What number of {items} is still on hand if {P1} starts with {a} {conts} of {b} {items} and loses {c}?",
            "{P2} borrowed {c} {items} from {P1}, whose {a} {conts} had held {b} {items} apiece. Counting what stays in the {conts}, what total does {P1} get?",
        ),
        (  # rl_only: RL rows only
            "{Role} {P1} stocks {a} {conts}, putting {b} {items} in every one, then sells {c}. What count of {items} is left after the sale?",
            "{P1} fills {a} {conts} {place}, {b} {items} to a {cont}, and afterwards {c} {items} are taken out. How many {items} stay behind?",
            "There were {a} {conts} of {b} {items} each until {P2} removed {c} {items}. What number of {items} does {P1} have in the end?",
        ),
    ),
    Strategy(
        "share_equally", "add everything, then share it out",
        "add the three amounts, then divide by the number of shares",
        S.share_equally,
        ("{a} + {b} + {c}", "([1]) / {n}"),
        (
            "{P1} {verb} {a} {items}, {P2} {verb} {b} and {P3} {verb} {c} {place}. They split all the {items} evenly into {n} {conts}. How many {items} go in each {cont}?",
            "{P1}, {P2} and {P3} brought {a}, {b} and {c} {items} {place}. If the {items} are shared equally by {n} friends, how many does each friend get?",
            "Three {conts} held {a}, {b} and {c} {items}. {Role} {P1} repacked them fairly into {n} {conts}. How many {items} are in each one?",
            "{Role} {P1} counted {a} {items} on Monday, {b} on Tuesday and {c} on Wednesday {place}, then split them evenly into {n} {conts}. How many {items} is that per {cont}?",
        ),
        (  # unseen: dev and test rows only
            "{Role} {P1} collected {a} {items}, then {b} more, then {c} more {place}. Dealt out evenly to {n} {conts}, how many {items} does each {cont} get?",
            "Three helpers gave {role} {P1} {a}, {b} and {c} {items} to split into {n} equal {conts}. How many {items} land in a single {cont}?",
            "If the {a} {items} of {P1}, the {b} of {P2} and the {c} of {P3} are pooled and cut into {n} equal shares, how big is one share?",
        ),
        (  # rl_only: RL rows only
            "{P1} has {a} {items}, {P2} has {b} and {P3} has {c}. Putting everything together, they divide it into {n} equal piles. What size is each pile?",
            "{Role} {P1} gathers {a} {items} from {P2}, {b} from {P3} and {c} more {place}, then hands them out in {n} equal lots. How many {items} are in one lot?",
            "Together {P1}, {P2} and {P3} own {a}, {b} and {c} {items}. Regrouped into {n} {conts} with the same number in each, how many {items} sit in every {cont}?",
        ),
    ),
    Strategy(
        "compare_products", "two totals, then their difference",
        "multiply each side's groups, then subtract the smaller total from the larger",
        S.products,
        ("{a} * {b}", "{c} * {d}", "[1] - [2]"),
        (
            "{P1} {verb} {a} {conts} of {b} {items} and {P2} {verb} {c} {conts} of {d} {items} {place}. How many more {items} did {P1} have than {P2}?",
            "{Role} {P1} has {a} {conts} with {b} {items} each, while {P2} has {c} {conts} with {d} each. How many fewer {items} does {P2} have?",
            "{Place}, {P1} {verb} {b} {items} per {period} for {a} {periods}, and {P2} {verb} {d} per {period} for {c} {periods}. By how many {items} did {P1} beat {P2}?",
            "{P1} {verb} {a} {conts} holding {b} {items} each, and {P2} {verb} {c} {conts} holding {d} each {place}. What is the difference between their totals?",
        ),
        (  # unseen: dev and test rows only
            "Each of the {a} {conts} of {P1} holds {b} {items}; each of the {c} {conts} of {P2} holds {d} {place}. How much bigger is the pile of {P1}?",
            "{P2} stacked {c} rows of {d} {items}, and {P1} stacked {a} rows of {b}. By what number does the stack of {P2} fall short of that of {P1}?",
            "{Role} {P1} works {a} {periods}, handling {b} {items} per {period}; {P2} works {c} {periods}, handling {d} per {period}. What is the gap between the two amounts?",
        ),
        (  # rl_only: RL rows only
            "{P1} lines up {a} {conts} with {b} {items} in each, and {P2} lines up {c} {conts} with {d} in each. How many extra {items} does {P1} have?",
            "{Role} {P1} fills {a} {conts} of {b} {items}; {P2} fills {c} {conts} of {d} {items}. What is the size of the lead that {P1} has?",
            "Over {a} {periods} {P1} collects {b} {items} per {period}, while {P2} collects {d} per {period} for {c} {periods}. How far ahead is {P1}?",
        ),
    ),
    Strategy(
        "combine_products", "two totals, then their sum",
        "multiply each part's rate by its count, then add the parts",
        S.products,
        ("{a} * {b}", "{c} * {d}", "[1] + [2]"),
        (
            "{P1} {verb} {b} {items} each {period} for {a} {periods}, and {P2} {verb} {d} each {period} for {c} {periods}. How many {items} is that altogether?",
            "{P1} {verb} {a} {conts} of {b} {items} and {P2} {verb} {c} {conts} of {d} {items} {place}. How many {items} did they have in total?",
            "{Role} {P1} fills {a} {conts} with {b} {items} each and {c} more {conts} with {d} each. How many {items} are there now?",
            "{Place}, {P1} {verb} {a} {conts} holding {b} {items} each, and {P2} {verb} {c} {conts} holding {d} each. What is the sum of their totals?",
        ),
        (  # unseen: dev and test rows only
            "{Place}, {P1} carried in {a} {conts} of {b} {items}, and later {c} {conts} of {d} {items}. How many {items} came in altogether?",
            "What is the grand total of {items} {place} when {P1} brings {a} {conts} holding {b} apiece and {P2} brings {c} {conts} holding {d} apiece?",
            "{Role} {P1} worked {a} {periods} at {b} {items} a {period}, then {c} {periods} at {d} a {period}. Over both stretches, how many {items} was that?",
        ),
        (  # rl_only: RL rows only
            "{P1} and {P2} heap their {items} together: {P1} brings {a} {conts} of {b}, {P2} brings {c} {conts} of {d}. How large is the heap?",
            "{P1} brings {a} {conts} holding {b} {items} apiece and {P2} brings {c} {conts} holding {d} apiece {place}. Counting both, what is the number of {items}?",
            "For {a} {periods} {role} {P1} makes {b} {items} a {period}; then {P2} makes {d} a {period} for {c} {periods}. How many {items} do they produce between them?",
        ),
    ),
    Strategy(
        "leftover_remainder", "full groups first, then the remainder",
        "find how many full groups fit, multiply back, subtract to get the remainder",
        S.remainder,
        ("\\lfloor {A} / {b} \\rfloor", "[1] * {b}", "{A} - [2]"),
        (
            "{P1} {verb} {A} {items} {place} and packs them into {conts} that hold {b} each. How many {items} are left over once every full {cont} is packed?",
            "{Role} {P1} puts {A} {items} into full {conts} of {b}. How many {items} will not fit into a full {cont}?",
            "There are {A} {items} {place}. If {P1} makes as many groups of {b} as possible, how many {items} remain?",
            "{Role} {P1} {verb} {A} {items} {place}. Every {cont} takes exactly {b}. After {P1} fills all the {conts} possible, how many {items} are left?",
        ),
        (  # unseen: dev and test rows only
            "{P1} ties {A} {items} into bundles of {b} {place}, making only full bundles. How many {items} are not in a bundle?",
            "{Place}, {A} {items} are loaded {b} to a {cont}, filling only complete {conts}. What number of {items} is still loose?",
            "{Role} {P1} hands out {A} {items}, exactly {b} per visitor, until too few are left for another visitor. How many {items} does {P1} end up keeping?",
        ),
        (  # rl_only: RL rows only
            "{P1} has {A} {items} and empty {conts} that take {b} each. When no more {conts} can be filled to the top, how many {items} are left out?",
            "{A} {items} are to be loaded into {conts} of {b} {place}, and only full {conts} may leave. How many {items} stay behind with {P1}?",
            "{Role} {P1} bundles {A} {items} in groups of exactly {b}. After making as many complete groups as possible, what number of {items} is without a group?",
        ),
    ),
    Strategy(
        "work_backwards", "undo the steps from the end",
        "undo the last operation first (divide), then undo the first (add back)",
        S.backwards,
        ("{E} / {k}", "[1] + {c}"),
        (
            "{P1} gave away {c} {items}, then {kword} what was left and ended with {E} {items}. How many {items} did {P1} start with?",
            "After using {c} {items} {place}, {role} {P1} {kword} the rest and now has {E}. How many {items} were there at first?",
            "{P1} lost {c} {items} on one {period}; the remaining {items} were then {kword}, giving {E}. How many did {P1} have before?",
            "{Place}, {P1} {kword} a pile of {items} after {c} had been handed out, and the pile is now {E}. How many {items} were in the pile before anything happened?",
        ),
        (  # unseen: dev and test rows only
            "{P1} ended with {E} {items} {place} after first giving away {c} and then having the rest {kword}. How many {items} did {P1} have originally?",
            "{P1} now holds {E} {items}, having {kword} whatever stayed after {c} were sold. What was the count before the sale?",
            "{Role} {P1} removed {c} {items}, {kword} the remainder and finished with {E}. How many {items} were there before the removal?",
        ),
        (  # rl_only: RL rows only
            "The final count of {items} was {E} after {P1} used up {c} and then {kword} the rest {place}. Find the number {P1} had in the beginning.",
            "After {P2} took {c} {items} from {P1}, the {items} that were left got {kword}, giving {E}. What was the original number of {items}?",
            "{P1} ends up with {E} {items} {place}: first {c} were sold, and then what remained was {kword}. How many {items} were there at the outset?",
        ),
    ),
    Strategy(
        "forward_steps", "do the steps in order",
        "apply the operations in the order they happen: subtract, then multiply",
        S.backwards,
        ("{X} - {c}", "([1]) * {k}"),
        (
            "{P1} started with {X} {items}, gave away {c}, then {kword} what was left. How many {items} does {P1} have now?",
            "{Role} {P1} had {X} {items} {place}. After using {c}, the rest were {kword}. How many {items} are there now?",
            "{P1} lost {c} of {X} {items} on one {period} and then {kword} the remaining {items}. How many does {P1} end with?",
            "{Place}, {P1} handed out {c} {items} from a pile of {X}, then {kword} the pile. How many {items} are in the pile now?",
        ),
        (  # unseen: dev and test rows only
            "{Place}, {P1} began with {X} {items}. {c} were given to a friend, and what remained was {kword}. How many {items} does {P1} have in the end?",
            "{P1} takes {c} {items} out of a {cont} of {X}, and what stays in the {cont} is then {kword}. What number of {items} is in the {cont} afterwards?",
            "Starting from {X} {items}, {role} {P1} first sells {c} and then the rest get {kword}. What is the final count of {items}?",
        ),
        (  # rl_only: RL rows only
            "{P1} owned {X} {items}. {P2} borrowed {c}, and then the stock left with {P1} was {kword}. How many {items} does {P1} hold at last?",
            "{Role} {P1} begins with {X} {items}, loses {c} of them, and then sees the remaining {items} get {kword}. What is the final number of {items}?",
            "{Place}, there are {X} {items}. {P2} removes {c}, after which the rest is {kword}. How many {items} are there at the finish?",
        ),
    ),
    Strategy(
        "percent_of", "find the part, then what is left",
        "the percent is one part in 100 / pct; divide the whole by that, then subtract the part from the whole",
        S.percent,
        ("100 / {pct}", "{B} / ([1])", "{B} - [2]"),
        (
            "{P1} {verb} {B} {items} {place}. {pct}% of them were given away by noon. How many {items} were not given away?",
            "{P1} {verb} {B} {items} {place}, and {pct} out of every 100 were given away. How many {items} were kept?",
            "{Role} {P1} has {B} {items} and uses {pct}% of them on the first {period}. How many {items} are left for later?",
            "{Place}, {P1} counted {B} {items}; {pct}% of them went into {conts}. How many {items} did not go into {conts}?",
        ),
        (  # unseen: dev and test rows only
            "Of the {B} {items} {P1} {verb} {place}, {pct}% were sold. How many {items} were not sold?",
            "{Role} {P1} brought {B} {items} {place}, and {pct} percent of them turned out damaged. What number of {items} were fine?",
            "A load of {B} {items} reaches {P1} {place}; {P2} takes {pct}% of the load. How much of the load is left for {P1}?",
        ),
        (  # rl_only: RL rows only
            "{P1} had {B} {items} {place} and lent {pct}% of them to {P2}. After that, how many {items} did {P1} still hold?",
            "Of the {B} {items} {P1} owned {place}, {pct}% went to {P2}. How many {items} did {P1} keep?",
            "{Role} {P1} starts the {period} with {B} {items} and sells {pct}% of them. How many {items} remain unsold?",
        ),
    ),
    Strategy(
        "ratio_scale", "one unit first, then scale up",
        "divide by the ratio's first term to get one unit, multiply by its second term",
        S.ratio,
        ("{C} / {a}", "[1] * {b}"),
        (
            "{Place}, for every {a} {items} there are {b} {items2}. If there are {C} {items}, how many {items2} are there?",
            "{P1} mixes {items} and {items2} in the ratio {a} to {b}. With {C} {items}, how many {items2} does {P1} need?",
            "{Role} {P1} keeps {b} {items2} for each {a} {items}. {P1} now has {C} {items}. How many {items2} go with them?",
            "{Role} {P1} packs {a} {items} with every {b} {items2} {place}. {P1} packed {C} {items} today. How many {items2} were packed?",
        ),
        (  # unseen: dev and test rows only
            "{Place}, {P1} uses {b} {items2} for each group of {a} {items}. How many {items2} does {P1} need for {C} {items}?",
            "{Place}, the rule is {b} {items2} to go with every {a} {items}. If {P1} sets out {C} {items}, how many {items2} must be set out too?",
            "{Items} and {items2} always come in the proportion {a} : {b} {place}. How many {items2} match {C} {items}?",
        ),
        (  # rl_only: RL rows only
            "{P1} trades {a} {items} for {b} {items2} {place}, again and again. Having traded away {C} {items}, how many {items2} has {P1} received?",
            "{Place}, the rule is {b} {items2} for each {a} {items}. With {C} {items}, how many {items2} does {P1} need?",
            "{P1} keeps {items} and {items2} in the proportion {a} to {b}. If {P1} has {C} {items}, what number of {items2} does {P1} have?",
        ),
    ),
    Strategy(
        "arithmetic_series", "last term, middle term, then the total",
        "last term = first + (n - 1) * step, middle = (first + last) / 2, total = middle * n",
        S.series,
        ("({n} - 1) * {d}", "{a} + [1]", "({a} + [2]) / 2", "[3] * {n}"),
        (
            "{P1} {verb} {a} {items} on the first {period} and {d} more on each {period} after that. How many {items} is that over {n} {periods}?",
            "{Place}, {role} {P1} adds {d} more {items} every {period} than the {period} before, starting with {a}. What is the total after {n} {periods}?",
            "In the first {period} there were {a} {items}, and each later {period} had {d} more than the previous one. Over {n} {periods}, how many {items} were there in all?",
            "{P1} {verb} {a} {items} {place} on the first {period}, then each {period} {d} more than the one before. What is the total after {n} {periods}?",
        ),
        (  # unseen: dev and test rows only
            "{P1} {verb} {a} {items} {place} in the opening {period}, and every following {period} brought {d} more than the one before. Over {n} {periods}, what was the total?",
            "{Role} {P1} sets a goal: {a} {items} in {period} one, then {d} more each {period} than the last. Summing {n} {periods}, how many {items} is that?",
            "Over {n} {periods}, {P1} adds {items} to a {cont}: {a} at the start, then each time {d} more than the time before. How many {items} does that make by the end?",
        ),
        (  # rl_only: RL rows only
            "{P1} counts {items} for {n} {periods} in a row. The count begins at {a} and climbs by {d} every {period}. What do all {n} counts add up to?",
            "{Role} {P1} sets out {a} {items} in the first row, and each later row holds {d} more than the row before. How many {items} fill {n} rows?",
            "Over {n} {periods}, {P1} adds {items}: {a} in the first {period}, then each {period} {d} more than the one before. What is the grand total?",
        ),
    ),
    Strategy(
        "unit_conversion", "convert the big unit, then add the extra",
        "convert the big unit to the small one (multiply by the factor), then add the extra",
        S.units,
        ("{a} * {f}", "[1] + {b}"),
        (  # templates i and i + 3 belong to factor 12, 7, 24 (i = 0, 1, 2): see benchmark._UNIT_TEMPLATE
            "{P1} {verb} {a} dozen {items} and {b} extra {items} {place}. How many {items} is that?",
            "{Role} {P1} {verb} {items} {place} for {a} weeks and {b} days. How many days is that in all?",
            "{P1} and {P2} {verb} {items} {place} for {a} days and {b} hours. How many hours did they spend?",
            "{Role} {P1} packed {b} loose {items} and {a} full dozens {place}. How many {items} were packed?",
            "{P1} and {P2} {verb} {items} {place} for {b} days more than {a} full weeks. How many days did they spend?",
            "{Place}, {role} {P1} {verb} {items} for {b} hours past {a} full days. How many hours is that?",
        ),
        (  # unseen: dev and test rows only
            "{Place}, {P1} counted {a} dozen {items} plus {b} single ones. How many {items} did {P1} count?",
            "{Role} {P1} {verb} {items} {place} for {a} weeks, then {b} days more. How many days did {P1} spend on it?",
            "{P1} {verb} {items} {place} for {a} whole days and another {b} hours. For how many hours did {P1} work?",
        ),
        (  # rl_only: RL rows only (factor 12, 7, 24 in this order, as above)
            "{Place}, {P1} boxed {a} dozen {items} and had {b} left unboxed. How many {items} were there, boxed or not?",
            "A job with the {items} kept {P1} busy {place} for {a} weeks plus {b} days. What is that length in days?",
            "{P1} and {P2} took {a} days and {b} hours to sort the {items} {place}. Expressed in hours, how long did it take?",
            "{P1} ordered {a} dozen {items} {place} and was given {b} more for free. What is the total count of {items}?",
            "{Role} {P1} spent {a} weeks and {b} days on the {items} {place}. How many days was that in all?",
            "Sorting the {items} {place} lasted {a} days and {b} hours for {P1}. How many hours did the sorting last?",
            "{Place}, {P2} counted {a} dozen {items} plus {b} loose ones. How many {items} did {P2} count?",
            "{P1} borrowed the {items} for {a} weeks and {b} days. Give that time as a number of days.",
            "The {items} stayed with {P1} {place} for {a} days and {b} hours. What is that time in hours?",
        ),
    ),
    Strategy(
        "lcm_meet", "least common multiple",
        "least common multiple: gcd first, divide the first number by it, multiply by the second",
        S.lcm,
        ("\\gcd({A}, {B})", "{A} / [1]", "[2] * {B}"),
        (
            "{P1} checks the {items} {place} every {A} days and {P2} checks the {conts} every {B} days. Both checked today. In how many days will they next check on the same day?",
            "{Items} arrive {place} in {conts} of {A} and {items2} in {conts} of {B}. {P1} wants as many {items} as {items2}, buying full {conts} only. How few of each can that be?",
            "{P1} {verb} {items} in groups of {A} while {P2} {verb} {items2} in groups of {B} {place}. If both {verb} the same amount, what is the smallest amount above zero?",
            "{P1} {verb} {items} in {conts} of {A} and {P2} {verb} {items2} in {conts} of {B} {place}. They {verb} the same number of things, as few as possible. How many is that?",
        ),
        (  # unseen: dev and test rows only
            "{P1} stacks {items} in towers of {A} and {P2} stacks {items2} in towers of {B} {place}. What is the smallest height both stacks can reach exactly?",
            "{P1} walks a loop in {A} minutes, {P2} in {B} minutes. Starting together, after how many minutes are both back at the start at once?",
            "What is the smallest number of {items} that can be split into groups of {A} and also into groups of {B}, with none left over either way?",
        ),
        (  # rl_only: RL rows only
            "{Role} {P1} refills one {cont} every {A} {periods} and another every {B} {periods}. Both were refilled this {period}. How many {periods} until they are refilled together again?",
            "{P1} visits the {items} every {A} days and {P2} every {B} days. They both visited today. After how many days will both visit on the same day again?",
            "One {cont} {place} is emptied every {A} {periods}, another every {B} {periods}; both were emptied just now. In how many {periods} are they next emptied at the same time?",
        ),
    ),
    Strategy(
        "gcd_groups", "greatest common divisor, then one group",
        "greatest common divisor = number of groups; all the things divided by the number of groups",
        S.gcd,
        ("\\gcd({A}, {B})", "{A} + {B}", "([2]) / [1]"),
        (
            "{P1} {verb} {A} {items} and {B} {items2} {place}, then packs them all into the greatest number of matching {conts} with none left over. How many things are in one {cont}?",
            "{Role} {P1} divides {A} {items} and {B} {items2} into as many matching groups as possible, using everything. How many pieces are in one group?",
            "Using all {A} {items} and {B} {items2}, {P1} makes the largest number of identical {conts}. How many things go in each {cont}?",
            "{Role} {P1} shares {A} {items} and {B} {items2} {place} among the greatest number of {conts} possible, every {cont} alike and none left. How many things go in one {cont}?",
        ),
        (  # unseen: dev and test rows only
            "{P1} wants to split {A} {items} and {B} {items2} {place} into identical {conts}, as many as possible, with nothing left. How many things will each {cont} hold?",
            "{Role} {P1} wants the most {conts} possible, each with the same mix, using all {A} {items} and all {B} {items2}. How many things sit in each {cont}?",
            "{P1} makes identical kits from {A} {items} and {B} {items2}, as many kits as possible and nothing spare. How many things go in each kit?",
        ),
        (  # rl_only: RL rows only
            "{P1} sorts {A} {items} and {B} {items2} {place} into equal bundles, making the most bundles that use up everything. What is the total in one bundle?",
            "{Role} {P1} shares {A} {items} and {B} {items2} among as many identical {conts} as possible, with nothing left. How many pieces end up in each {cont}?",
            "{A} {items} and {B} {items2} {place} must be split into the largest number of equal packs with nothing spare. What does one pack hold in total?",
        ),
    ),
    Strategy(
        "age_difference", "back to now, then take off the gap",
        "go back from the future value to now (subtract what is added), then subtract the gap",
        S.age,
        ("{C} - {b}", "[1] - {a}"),
        (
            "{Role} {P1} has {verb} {items} {place} for {a} years longer than {P2}. In {b} years {P1} will reach {C} years of it. For how many years has {P2} {verb} {items}?",
            "{P1} has {a} more {items} than {P2} {place}. After {P1} {verb} {b} more, {P1} will have {C}. How many {items} does {P2} have now?",
            "{P2} owns {a} fewer {conts} of {items} than {role} {P1}, who will own {C} once {b} new ones arrive {place}. How many {conts} does {P2} own?",
            "{Place}, {P1} is {a} {items} ahead of {P2}. If {P1} gets {b} more, {P1} will have {C}. How many {items} does {P2} have?",
        ),
        (  # unseen: dev and test rows only
            "{P2} has {a} {items} fewer than {P1} {place}. Once {b} more arrive for {P1}, {P1} will hold {C}. How many {items} does {P2} hold?",
            "In {b} years, {role} {P1} will be {C} years old. {P2} is {a} years younger than {P1}. How old is {P2} now?",
            "The {cont} of {P1} will hold {C} {items} once {b} more are dropped in. Today it holds {a} more than the {cont} of {P2}. What does the {cont} of {P2} hold?",
        ),
        (  # rl_only: RL rows only
            "{P1} began working {place} {a} years before {P2}. {b} years from now, {P1} will have worked there {C} years. How long has {P2} worked there so far?",
            "{P2} joined {place} {a} years after {P1}. In {b} years' time {P1} will have been there {C} years. How many years has {P2} been there?",
            "{Role} {P1} has looked after the {items} {a} years more than {P2}. {P1} will mark {C} years of it in {b} years. How many years has {P2} looked after them?",
        ),
    ),
    Strategy(
        "missing_for_average", "needed total minus the known three",
        "target total = average * 4, subtract the known three",
        S.average,
        ("{D} * 4", "{a} + {b} + {c}", "[1] - ([2])"),
        (
            "{P1} {verb} {a}, {b} and {c} {items} on three {periods}. How many {items} are needed on the fourth {period} for an average of {D} per {period}?",
            "Over three {periods} {place}, {role} {P1} counted {a}, {b} and {c} {items}. How many on the fourth {period} would make it {D} per {period} across all four?",
            "{P1}, {P2} and {P3} brought {a}, {b} and {c} {items} {place}. What must a fourth helper bring so that, shared out evenly, each of the four has {D}?",
            "{Role} {P1} needs {D} {items} per {period} on average over four {periods}. The first three {periods} gave {a}, {b} and {c}. How many are needed on the last one?",
        ),
        (  # unseen: dev and test rows only
            "{P1} scored {a}, {b} and {c} {items} in three {periods} {place}. To reach a mean of {D} over four {periods}, how many {items} are needed in the last one?",
            "What must the fourth {cont} hold if the first three hold {a}, {b} and {c} {items} and all four {conts} should average {D} {items}?",
            "{P1} got {a}, {b} and {c} {items} from three neighbours. One more neighbour is coming. How many {items} from that neighbour make the four gifts average {D}?",
        ),
        (  # rl_only: RL rows only
            "{Role} {P1} tracks {items}: {a}, then {b}, then {c} over three {periods}. What fourth count would bring the mean of the four counts to exactly {D}?",
            "{P1} scored {a}, {b} and {c} {items} in three rounds {place}. What must the fourth round bring so the four rounds average {D}?",
            "Three {periods} gave {role} {P1} {a}, {b} and {c} {items}. To make the average over four {periods} equal {D}, how many {items} must the fourth {period} give?",
        ),
    ),
)

STRATEGY_NAMES: tuple[str, ...] = tuple(s.name for s in STRATEGIES)
STRATEGY_BY_NAME: dict[str, Strategy] = {s.name: s for s in STRATEGIES}
