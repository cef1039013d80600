import pytest
from transformers import AutoTokenizer

from shared.contract import Demonstration
from shared.models import EMBEDDED_ENCODER, resolve_encoder_path
from trainer.prompting import build_user_message, fit_demonstrations, format_completion, render_prompt
from trainer.verify import extract_boxed, is_correct

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    tok = AutoTokenizer.from_pretrained(resolve_encoder_path(EMBEDDED_ENCODER))
    tok.chat_template = TEMPLATE
    return tok


def demo(i, n_words=10):
    return Demonstration(id=f"d{i}", problem=f"demo problem {i} " + "word " * n_words, solution="2 * 3 = 6", answer="6")


def test_completion_appends_boxed_answer_once():
    assert format_completion("2 * 3 = 6", "6").endswith("Answer: \\boxed{6}")
    assert format_completion("so \\boxed{6}", "6") == "so \\boxed{6}"


def test_prompt_puts_demonstrations_before_problem(tokenizer):
    text = render_prompt(tokenizer, "Target problem?", [demo(1), demo(2)])
    assert text.index("demo problem 1") < text.index("demo problem 2") < text.index("Target problem?")
    assert text.endswith("<|assistant|>")


def test_budget_drops_demonstrations_not_the_problem(tokenizer):
    demos = [demo(1, 5), demo(2, 200), demo(3, 5)]
    kept = fit_demonstrations(tokenizer, demos, budget_tokens=60)
    assert [d.id for d in kept] == ["d1"]  # rank order kept; the over-long one stops the list
    long_problem = "long " * 500
    text = render_prompt(tokenizer, long_problem, demos, budget_tokens=0)
    assert long_problem.strip() in text and "demo problem" not in text
    assert "Example" not in build_user_message("p")


@pytest.mark.parametrize(
    "completion,gold,ok",
    [
        ("3 * 4 = 12\nAnswer: \\boxed{12}", "12", True),
        ("Answer: \\boxed{12.0}", "12", True),
        ("Answer: \\boxed{\\frac{1}{2}}", "0.5", True),
        ("Answer: \\boxed{13}", "12", False),
        ("3 * 4 = 12", "12", False),  # no boxed answer: a stray number is not an answer
        ("\\boxed{1} then \\boxed{12}", "12", True),  # the last box counts
        ("Answer: \\boxed{", "12", False),
    ],
)
def test_is_correct(completion, gold, ok):
    assert is_correct(completion, gold) is ok


def test_extract_boxed_nested():
    assert extract_boxed("x \\boxed{\\frac{1}{2}} y") == "\\frac{1}{2}"


# A thinking template in Qwen3's shape: enable_thinking=false writes an empty think block into the generation prompt.
THINKING_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


@pytest.fixture()
def thinking_tokenizer():
    tok = AutoTokenizer.from_pretrained(resolve_encoder_path(EMBEDDED_ENCODER))
    tok.chat_template = THINKING_TEMPLATE
    return tok


def test_chat_template_kwargs_reach_the_template(thinking_tokenizer):
    assert render_prompt(thinking_tokenizer, "q?").endswith("<|im_start|>assistant\n")
    off = render_prompt(thinking_tokenizer, "q?", template_kwargs={"enable_thinking": False})
    assert off.endswith("<think>\n\n</think>\n\n")


def test_gold_solutions_are_scored_where_the_template_puts_the_answer(thinking_tokenizer, tokenizer):
    from trainer.prompting import EMPTY_THINK, answer_prefix

    assert answer_prefix(tokenizer) == ""  # no thinking in the template: the answer starts the turn
    assert answer_prefix(thinking_tokenizer, {"enable_thinking": False}) == ""  # the template closed the block already
    assert answer_prefix(thinking_tokenizer) == EMPTY_THINK  # thinking on: the solution is the answer after a trace


@pytest.mark.parametrize("completion, correct", [
    ("<think>maybe \\boxed{4}, let me check", False),  # cut off inside the trace: no answer yet
    ("<think>\\boxed{3}? no.</think>\nAnswer: \\boxed{4}", True),  # the answer after the trace counts
    ("<think>\\boxed{4}</think>\nAnswer: \\boxed{3}", False),  # not the trace's guess
    ("reasoning...</think>\nAnswer: \\boxed{4}", True),  # the prompt opened the trace
    ("Answer: \\boxed{4}", True),
])
def test_the_verifier_reads_the_answer_after_the_trace(completion, correct):
    assert is_correct(completion, "4") is correct


def test_format_reward_ignores_an_unfinished_trace():
    from trainer.grpo.rewards import format_reward

    assert format_reward(["<think>Answer: \\boxed{4}"]) == [0.0]
    assert format_reward(["<think>x</think>\nAnswer: \\boxed{4}"]) == [1.0]
