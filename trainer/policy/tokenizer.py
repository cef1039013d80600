"""A small byte-level BPE tokenizer trained on the benchmark text, wrapped as a Hugging Face fast tokenizer.

It mirrors Qwen's conventions (`<|im_start|>`/`<|im_end|>` turns, `<|im_end|>` as EOS, `<|endoftext|>` as pad,
one token per digit) so that trainer.prompting.render_prompt and every other piece of code treat the embedded
policy and a real Qwen3 the same way. Digits are split individually because a tiny model learns column
arithmetic far more easily over single-digit tokens than over arbitrary merged numbers; `number_tokens` adds the
small numbers as whole tokens instead, for a benchmark whose steps copy numbers rather than compute them: copying
"14" is then one token attended to, not a two-token induction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.contract import Demonstration
from trainer.prompting import INSTRUCTION, build_user_message, format_completion, format_demonstration

PAD_TOKEN = "<|endoftext|>"
BOS_TOKEN = "<|startoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [PAD_TOKEN, IM_START, IM_END, BOS_TOKEN]

# Qwen-style ChatML: each turn is <|im_start|>role\ncontent<|im_end|>\n; the generation prompt opens the
# assistant turn, whose completion ends in <|im_end|> (the EOS).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\n' -}}"
    "{%- endif -%}"
)


def corpus(rows: Iterable[Demonstration]) -> Iterable[str]:
    """Training text: every row as a prompt turn plus completion, and the scaffolding strings of the prompt."""
    yield INSTRUCTION
    yield "Example 1:\nProblem: \nSolution: \n\nExample 2:\nProblem: \nSolution: \n"
    yield "user\nassistant\n"
    for row in rows:
        yield build_user_message(row.problem)
        yield format_demonstration(row, 1)
        yield format_completion(row.solution, row.answer)


def train_tokenizer(rows: Sequence[Demonstration], vocab_size: int = 2048, min_frequency: int = 2,
                    number_tokens: int = 0):
    """Train byte-level BPE on the rows and return a PreTrainedTokenizerFast with the chat template set.

    With `number_tokens` N > 0 the numbers 0..N-1 are added as whole tokens (matched leftmost-longest before BPE,
    so larger numbers split into whole-number and digit tokens)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if not rows:
        raise ValueError("cannot train a tokenizer on zero rows")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(rows), trainer=trainer)
    if number_tokens:
        tok.add_tokens([AddedToken(str(i), normalized=False) for i in range(number_tokens)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS_TOKEN,
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        unk_token=None,
        additional_special_tokens=[IM_START],
        model_max_length=4096,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast
