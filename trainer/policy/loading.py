"""The one way every stage names and loads a policy: a policy dir, any HF folder or hub id, or an embedded model.

init-policy, label, eval, eval-retriever and train all go through `resolve_policy` / `load_policy`, so a bad
`--model` gets the same one-line answer everywhere (what was wrong, which flag, what to pass) instead of an
OSError traceback from deep inside transformers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.errors import UserError
from shared.models import offline_if_local
from trainer.policy.embedded import EMBEDDED_MODELS, embedded_model_dir, is_embedded

WHAT_TO_PASS = ("a policy dir from `rarft init-policy`, a Hugging Face model folder, a hub id where a hub is "
                f"reachable, or an embedded model ({', '.join(EMBEDDED_MODELS)})")


def resolve_policy(name: str, flag: str = "--model") -> str:
    """An existing local folder, a converted embedded model's folder, or a hub id passed through."""
    if is_embedded(name):
        path = str(embedded_model_dir(name))
        offline_if_local(path)
        return path
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{flag} {name}: is a file, not a model folder; pass {WHAT_TO_PASS}")
        if not (path / "config.json").is_file():
            raise UserError(f"{flag} {name}: no config.json in that folder, so it is not a model; pass {WHAT_TO_PASS}")
        offline_if_local(str(path))
        return str(path)
    looks_local = name.startswith((".", "/", "~")) or name.count("/") != 1
    if looks_local:
        raise UserError(f"{flag} {name}: no such folder; pass {WHAT_TO_PASS}")
    return name  # org/name: a hub id


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_policy(name: str, flag: str = "--model") -> str:
    """Resolve and check that `name` is a causal LM whose tokenizer has a chat template, without loading weights."""
    return _checked(name, flag)[0]


def _checked(name: str, flag: str) -> tuple[str, Any]:
    path = resolve_policy(name, flag)
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{flag} {name}: cannot read its config ({_first_line(exc)}); pass {WHAT_TO_PASS}") from None
    # the mapping alone admits encoders with an LM-head variant (BERT); a saved model also names its class
    architectures = getattr(config, "architectures", None) or []
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING or (
            architectures and not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)):
        what = architectures[0] if architectures else f"{config.model_type!r} model"
        raise UserError(f"{flag} {name}: a {what} is not a causal language model; pass {WHAT_TO_PASS}")
    return path, load_tokenizer(path, name, flag)


def load_tokenizer(path: str, name: str | None = None, flag: str = "--model") -> Any:
    """The policy's tokenizer with a pad token; it must have a chat template (trainer.prompting renders with it)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{flag} {name or path}: cannot load its tokenizer ({_first_line(exc)})") from None
    if getattr(tokenizer, "chat_template", None) is None:
        raise UserError(f"{flag} {name or path}: its tokenizer has no chat template, which the prompt format needs; "
                        "use an instruct/chat model or a policy dir from `rarft init-policy`")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_policy(name: str, *, device: str = "auto", dtype: str = "auto", flag: str = "--model") -> tuple[Any, Any]:
    """(model in eval mode on `device` in `dtype`, tokenizer) for any policy name `resolve_policy` accepts.

    `device` and `dtype` as the commands' --device/--dtype (shared.devices): `auto` is the GPU in bf16/fp16 when there
    is one, the CPU in fp32 otherwise."""
    from shared.devices import resolve_device, torch_dtype

    target = resolve_device(device)
    path, tokenizer = _checked(name, flag)
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype, target))
    except (OSError, ValueError, AttributeError) as exc:
        raise UserError(f"{flag} {name}: cannot load its weights ({_first_line(exc)})") from None
    model.to(target).eval()
    return model, tokenizer
