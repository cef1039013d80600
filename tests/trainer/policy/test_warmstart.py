"""SFT mixture, the warm-start pipeline (tiny_policy), reuse, --base-model, and bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from shared.errors import UserError
from shared.manifests import PolicyManifest
from shared.text import problem_hash
from trainer.policy.warmstart import Mixture, StrategyIndex, build_sft_examples


def test_strategy_index_draws_the_right_kind(tiny_rows):
    index = StrategyIndex(tiny_rows["bank"])
    rng = random.Random(0)
    for row in tiny_rows["train"][:30]:
        same = index.draw(rng, row, "same", 2)
        other = index.draw(rng, row, "other", 2)
        assert len(same) == 2 and all(d.strategy == row.strategy for d in same)
        assert len(other) == 2 and all(d.strategy != row.strategy for d in other)
        assert all(d.id != row.id and problem_hash(d.problem) != problem_hash(row.problem) for d in same + other)
    own = tiny_rows["bank"][0]  # a bank row is never its own demonstration
    assert all(d.id != own.id for _ in range(20) for d in index.draw(rng, own, "same", 1))


def test_without_strategy_labels_demonstrations_are_random_and_named_so(trained_tokenizer, tiny_rows):
    from trainer.policy.accuracy import demo_contexts

    bank = [r.model_copy(update={"strategy": None}) for r in tiny_rows["bank"]]
    train = [r.model_copy(update={"strategy": None}) for r in tiny_rows["train"]]
    index = StrategyIndex(bank)
    assert not index.labelled and StrategyIndex(tiny_rows["bank"]).labelled
    with pytest.raises(ValueError, match="need strategy labels"):
        index.draw(random.Random(0), train[0], "same", 1)
    examples = build_sft_examples(trained_tokenizer, train, bank, Mixture(), epochs=3, max_demos=2, seed=0,
                                  novel_wordings="with-demos")
    kinds = {e["kind"] for e in examples}
    assert kinds == {"none", "random"}  # never a "same" that is really random
    share = sum(e["kind"] == "random" for e in examples) / len(examples)
    assert 0.55 < share < 0.85  # same + other shares (0.70 of the default mixture)
    assert set(demo_contexts(train[:5], bank, seed=0)) == {"none", "random"}  # no same-strategy condition


def test_sft_examples_follow_the_prompt_format_and_mixture(trained_tokenizer, tiny_rows):
    from trainer.prompting import format_completion, render_prompt

    train = tiny_rows["train"]
    examples = build_sft_examples(trained_tokenizer, train, tiny_rows["bank"], Mixture(none=1, same=1, other=0),
                                  epochs=4, max_demos=2, seed=0)
    assert len(examples) == 4 * len(train)
    kinds = {e["kind"] for e in examples}
    assert kinds == {"none", "same"}
    frac_none = sum(e["kind"] == "none" for e in examples) / len(examples)
    assert 0.35 < frac_none < 0.65
    by_id = {r.id: r for r in train}
    for e in examples[:50]:
        row = by_id[e["id"]]
        assert e["completion"] == format_completion(row.solution, row.answer) + trained_tokenizer.eos_token
        assert e["prompt"].endswith(render_prompt(trained_tokenizer, row.problem).split("<|im_start|>user\n", 1)[1])
        assert (e["prompt"].count("Example ") == 0) == (e["kind"] == "none")
        if e["kind"] == "none":
            assert e["prompt"] == render_prompt(trained_tokenizer, row.problem)


def test_loss_mask_covers_the_completion_and_with_demo_loss_the_demonstration_solutions(trained_tokenizer, tiny_rows):
    from trainer.prompting import format_completion
    from trainer.policy.warmstart import tokenize_with_loss_mask

    familiar = [r for r in tiny_rows["train"] if r.metadata["wording"] == "familiar"]
    examples = build_sft_examples(trained_tokenizer, familiar, tiny_rows["bank"], Mixture(none=0, same=1, other=0),
                                  epochs=2, max_demos=2, seed=0, novel_wordings="include")
    tok = trained_tokenizer
    for e in examples[:20]:
        plain = tokenize_with_loss_mask(tok, e, demo_loss=False)
        prompt_ids = tok(e["prompt"], add_special_tokens=False)["input_ids"]
        # exactly TRL's own prompt-completion masking when the demonstrations carry no loss
        assert plain["input_ids"] == tok(e["prompt"] + e["completion"], add_special_tokens=False)["input_ids"]
        assert plain["completion_mask"] == [0] * len(prompt_ids) + [1] * (len(plain["input_ids"]) - len(prompt_ids))
        dense = tokenize_with_loss_mask(tok, e, demo_loss=True)
        assert dense["input_ids"] == plain["input_ids"]
        supervised = tok.decode([i for i, m in zip(dense["input_ids"], dense["completion_mask"]) if m])
        assert supervised.endswith(e["completion"]) and all(s in supervised for s in e["demo_solutions"])
        # at most one token per solution reaches back into "Solution: " (a BPE merge across the boundary)
        assert len(supervised) <= len("".join(e["demo_solutions"]) + e["completion"]) + 3 * len(e["demo_solutions"])
        assert len(e["demo_solutions"]) == e["prompt"].count("Example ") and e["demo_solutions"]
    # novel-wording demonstrations are shown but never supervised unless the warm start includes novel wordings
    held_out = build_sft_examples(tok, familiar, tiny_rows["bank"], Mixture(none=0, same=1, other=0),
                                  epochs=4, max_demos=2, seed=0)
    by_problem = {r.problem.strip(): r for r in tiny_rows["bank"]}
    shown = supervised_novel = 0
    for e in held_out:
        demos = [by_problem[block.split("Problem: ", 1)[1].split("\nSolution: ", 1)[0]]
                 for block in e["prompt"].split("Example ")[1:]]
        # a familiar demonstration with the very same worked solution (same strategy and numbers) is supervised
        # in its own right; only a solution no familiar demonstration of the prompt shares must stay unsupervised
        familiar_solutions = {format_completion(d.solution, d.answer) for d in demos if d.metadata["wording"] != "novel"}
        for demo in demos:
            if demo.metadata["wording"] == "novel":
                shown += 1
                solution = format_completion(demo.solution, demo.answer)
                supervised_novel += solution in e["demo_solutions"] and solution not in familiar_solutions
    assert shown and not supervised_novel


def test_demo_loss_fails_loudly_when_a_solution_is_not_in_the_prompt(trained_tokenizer, tiny_rows):
    from trainer.policy.warmstart import tokenize_with_loss_mask

    e = build_sft_examples(trained_tokenizer, tiny_rows["train"][:5], tiny_rows["bank"], Mixture(none=0, same=1, other=0),
                           epochs=1, max_demos=1, seed=0, novel_wordings="include")[0]
    with pytest.raises(ValueError, match="not found in the prompt"):
        tokenize_with_loss_mask(trained_tokenizer, {**e, "demo_solutions": ["7 * 7 * 7 * 7"]}, demo_loss=True)


def test_warm_start_holds_out_novel_wordings(tiny_rows):
    from trainer.policy.warmstart import warm_start_rows

    train = tiny_rows["train"]
    kept = warm_start_rows(train, "exclude")
    assert kept and all(r.metadata["wording"] == "familiar" for r in kept)
    assert len(kept) == sum(r.metadata["wording"] == "familiar" for r in train) < len(train)
    assert warm_start_rows(train, "include") == warm_start_rows(train, "with-demos") == list(train)
    unmarked = [r.model_copy(update={"metadata": {}}) for r in train[:5]]  # real data: never filtered
    assert warm_start_rows(unmarked, "exclude") == unmarked


def test_with_demos_gives_every_novel_wording_same_strategy_demonstrations(trained_tokenizer, tiny_rows):
    from trainer.policy.warmstart import is_novel_wording

    train, bank = tiny_rows["train"], tiny_rows["bank"]
    examples = build_sft_examples(trained_tokenizer, train, bank, Mixture(), epochs=3, max_demos=2, seed=0,
                                  novel_wordings="with-demos")
    by_id, by_problem = {r.id: r for r in train}, {r.problem.strip(): r for r in bank}
    novel = [e for e in examples if is_novel_wording(by_id[e["id"]])]
    assert novel and all(e["kind"] == "same" for e in novel)
    for e in novel:
        demos = [by_problem[b.split("Problem: ", 1)[1].split("\nSolution: ", 1)[0]] for b in e["prompt"].split("Example ")[1:]]
        assert demos and all(d.strategy == by_id[e["id"]].strategy for d in demos)
    familiar_kinds = {e["kind"] for e in examples if not is_novel_wording(by_id[e["id"]])}
    assert familiar_kinds == {"none", "same", "other"}  # the mixture still applies to familiar wordings


def test_tiny_policy_is_a_loadable_hf_dir_with_manifest(tiny_policy, tiny_data):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer.policy.cli import POLICY_MANIFEST, data_checksum

    manifest = PolicyManifest.model_validate_json((tiny_policy / POLICY_MANIFEST).read_text())
    conditions = ("none", "random", "same_strategy")
    wordings = ("unseen",)  # measured on dev, whose problems are all unseen wordings
    assert set(manifest.accuracy) == {*conditions, *(f"{c}/{w}" for c in conditions for w in wordings)}
    assert all(0.0 <= v <= 1.0 for v in manifest.accuracy.values())
    assert manifest.data_checksum == data_checksum(Path(tiny_data))
    assert manifest.config["hidden_size"] == 64 and manifest.config["seed"] == 0
    model = AutoModelForCausalLM.from_pretrained(tiny_policy)
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    assert sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()) == manifest.num_parameters
    assert tok.chat_template and tok.eos_token == "<|im_end|>"
    assert not list(tiny_policy.parent.glob(".*tmp*"))  # atomic write left nothing behind
    assert list((tiny_policy / "logs").rglob("events.out.tfevents.*"))  # report_to's default: TensorBoard, kept here


def test_tiny_policy_learned_the_answer_format(tiny_policy, tiny_rows):
    """Even the 60-second policy ends its completions with a boxed answer: SFT really trained it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trainer.generation import generate
    from trainer.prompting import render_prompt

    model = AutoModelForCausalLM.from_pretrained(tiny_policy)
    tok = AutoTokenizer.from_pretrained(tiny_policy)
    prompts = [render_prompt(tok, r.problem) for r in tiny_rows["test"][:8]]
    outs = generate(model, tok, prompts, max_new_tokens=64, progress=False)
    assert sum("\\boxed{" in o[0] for o in outs) >= 6, [o[0] for o in outs]


def test_rerun_with_same_config_and_data_reuses(tiny_policy, tiny_data, capsys):
    from tests.fixtures.policy import build_tiny_policy

    before = (tiny_policy / "model.safetensors").stat().st_mtime_ns
    build_tiny_policy(Path(tiny_data), tiny_policy)
    assert "reused" in capsys.readouterr().out
    assert (tiny_policy / "model.safetensors").stat().st_mtime_ns == before


def test_base_model_accepts_any_hf_path(tiny_policy, tiny_data, tmp_path, capsys):
    """--base-model warm-starts an existing HF dir (the same loader a hub id like Qwen/Qwen3-1.7B goes through)."""
    from shared.cli import main

    out = tmp_path / "from-base"
    rc = main(["init-policy", "--data", str(tiny_data), "--out", str(out), "--base-model", str(tiny_policy),
               "--max-steps", "2", "--batch-size", "4", "--eval-limit", "4", "--max-new-tokens", "16", "--no-progress",
               "--report-to", "none"])
    assert rc == 0
    assert not (out / "logs").exists()  # --report-to none: no logger, no logs
    manifest = json.loads((out / "rarft_policy.json").read_text())
    assert manifest["base"] == str(tiny_policy)
    assert "none=" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--data", "/nonexistent/data"], "data dir not found"),
    (["--base-model", "/nonexistent/model"], "--base-model /nonexistent/model: no such folder"),
    (["--base-model", "not-a-hub-id"], "--base-model not-a-hub-id: no such folder"),
    (["--no-such-option", "1"], None),
])
def test_bad_input_is_one_clear_error(args, message, tiny_data, tmp_path, capsys):
    from shared.cli import main

    argv = ["init-policy", "--out", str(tmp_path / "p")]
    argv += args if "--data" in args else ["--data", str(tiny_data), *args]
    if message is None:  # argparse rejects unknown flags with exit code 2
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        return
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "p").exists()


def test_missing_split_is_a_user_error(tmp_path):
    from trainer.policy.cli import InitPolicyConfig, init_policy

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bank.jsonl").write_text("")
    with pytest.raises(UserError, match="train.jsonl not found"):
        init_policy(InitPolicyConfig(data=tmp_path / "data", out=tmp_path / "p"))


def test_data_without_strategy_labels_is_said_once_and_measured_without_same_strategy(tiny_policy, tiny_data,
                                                                                       tmp_path, capsys):
    """Real corpora name no strategy: init-policy says once what it does instead and reports no fake condition."""
    from shared.cli import main

    data = tmp_path / "data"
    data.mkdir()
    for split in ("bank", "train", "rl", "dev", "test"):
        rows = [json.loads(line) for line in (Path(tiny_data) / f"{split}.jsonl").read_text().splitlines()]
        (data / f"{split}.jsonl").write_text("".join(json.dumps({**r, "strategy": None}) + "\n" for r in rows))
    out = tmp_path / "policy"
    rc = main(["init-policy", "--data", str(data), "--out", str(out), "--base-model", str(tiny_policy),
               "--max-steps", "2", "--batch-size", "4", "--eval-limit", "4", "--max-new-tokens", "16", "--no-progress",
               "--report-to", "none"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert printed.count("the bank rows name no strategy") == 1
    assert "random bank demonstrations in place of same- and other-strategy ones" in printed
    assert "same_strategy" not in printed and "gap(same-none)" not in printed
    accuracy = json.loads((out / "rarft_policy.json").read_text())["accuracy"]
    assert {"none", "random"} <= set(accuracy) and not any(k.startswith("same_strategy") for k in accuracy)
