"""The embedded tokenizer: lossless round trip, Qwen-style chat template, single-digit numbers, save/load."""

from __future__ import annotations

from trainer.policy.tokenizer import IM_END, IM_START, PAD_TOKEN
from trainer.prompting import format_completion, render_prompt


def test_round_trip_on_benchmark_text(trained_tokenizer, tiny_rows):
    for row in tiny_rows["test"][:20]:
        for text in (row.problem, format_completion(row.solution, row.answer)):
            ids = trained_tokenizer(text, add_special_tokens=False)["input_ids"]
            assert trained_tokenizer.decode(ids) == text


def test_unseen_characters_still_round_trip(trained_tokenizer):
    text = "Zoë paid €12 — naïve café 🍰 {x}"
    ids = trained_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert trained_tokenizer.decode(ids) == text  # byte-level: nothing maps to an unknown token


def test_digits_are_single_tokens(trained_tokenizer):
    tokens = trained_tokenizer.convert_ids_to_tokens(trained_tokenizer("1260 / 6 = 210", add_special_tokens=False)["input_ids"])
    digits = [t.lstrip("Ġ") for t in tokens if t.lstrip("Ġ").isdigit()]
    assert digits == list("12606210")


def test_special_tokens_and_chat_template(trained_tokenizer, tiny_rows):
    tok = trained_tokenizer
    assert tok.eos_token == IM_END and tok.pad_token == PAD_TOKEN and tok.bos_token is not None
    assert len({tok.eos_token_id, tok.pad_token_id, tok.bos_token_id, tok.convert_tokens_to_ids(IM_START)}) == 4
    row, demo = tiny_rows["test"][0], tiny_rows["bank"][0]
    prompt = render_prompt(tok, row.problem, [demo])
    assert prompt.startswith(f"{IM_START}user\n")
    assert prompt.endswith(f"{IM_END}\n{IM_START}assistant\n")
    assert demo.problem in prompt and row.problem in prompt
    assert prompt.index(demo.problem) < prompt.index(row.problem)
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert ids.count(tok.convert_tokens_to_ids(IM_START)) == 2 and ids.count(tok.eos_token_id) == 1
    # a full conversation closes the assistant turn with the EOS the SFT completions end in
    full = tok.apply_chat_template([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], tokenize=False)
    assert full == f"{IM_START}user\nq{IM_END}\n{IM_START}assistant\na{IM_END}\n"


def test_save_and_reload_with_auto_tokenizer(trained_tokenizer, tiny_rows, tmp_path):
    from transformers import AutoTokenizer

    trained_tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    row = tiny_rows["test"][1]
    assert render_prompt(loaded, row.problem, tiny_rows["bank"][:2]) == render_prompt(trained_tokenizer, row.problem, tiny_rows["bank"][:2])
    text = render_prompt(loaded, row.problem) + format_completion(row.solution, row.answer) + loaded.eos_token
    assert loaded(text, add_special_tokens=False)["input_ids"] == trained_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert (loaded.eos_token, loaded.pad_token) == (trained_tokenizer.eos_token, trained_tokenizer.pad_token)


def test_number_tokens_make_small_numbers_whole_and_survive_save_load(tiny_rows, tmp_path):
    from transformers import AutoTokenizer

    from trainer.policy.tokenizer import train_tokenizer

    tok = train_tokenizer(tiny_rows["bank"] + tiny_rows["train"], vocab_size=512, number_tokens=200)
    text = "Anne packed 14 jars, then 7 more: (14 + 7) * 150 / 1500 = 3"
    for t in (tok, (tok.save_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path))[1]):
        ids = t(text, add_special_tokens=False)["input_ids"]
        numbers = [x.lstrip("Ġ") for x in t.convert_ids_to_tokens(ids) if x.lstrip("Ġ").isdigit()]
        assert numbers == ["14", "7", "14", "7", "150", "150", "0", "3"]  # below 200 whole; 1500 = 150 + 0
        assert t.decode(ids) == text
    row = tiny_rows["test"][0]
    assert tok.decode(tok(render_prompt(tok, row.problem), add_special_tokens=False)["input_ids"]) == render_prompt(tok, row.problem)
