"""The encoder a loaded version answers queries with: sentence-transformers in torch (fp32, or under bf16 autocast
where the hardware has bf16 matmuls), or the same model with its transformer run by ONNX Runtime (fp32, or int8
dynamic quantisation), because on a CPU service the encoder is the bottleneck (docs/service.md, "Encoder backends").

sentence-transformers' own ONNX backend needs optimum-onnx, which pins transformers < 4.58; this project runs
transformers 5. So the transformer alone is exported here (torch's TorchScript exporter) into a private temp
folder when a version loads, and tokenisation and the modules after it (pooling, normalisation, dense) stay the
SentenceTransformer's own: one model, one tokenizer, two runtimes for the expensive part.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

EncoderBackend = Literal["torch", "torch-bf16", "onnx", "onnx-int8"]
ENCODER_BACKEND_HELP = ("query encoder runtime: torch (sentence-transformers), torch-bf16 (the same under bf16 autocast; "
                        "only where the device multiplies bf16 natively: AVX512-BF16/AMX CPUs, Ampere+ GPUs), onnx (its "
                        "transformer in ONNX Runtime, the same embeddings), onnx-int8 (ONNX Runtime with int8 weights); "
                        "speed and top-4 agreement measured by benchmarks/bench_encoder_backends.py; onnx* need "
                        "onnxruntime")


def native_bf16(device: str) -> bool:
    """Whether `device` multiplies bf16 in hardware. Elsewhere bf16 autocast is emulated and slower than fp32."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


class Bf16Encoder:
    """A SentenceTransformer whose `encode` runs under bf16 autocast: the matmuls in bf16, while autocast keeps
    softmax, layer norms and the pooling in fp32, so the embeddings stay close to fp32's."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __getattr__(self, name: str) -> Any:  # everything but encode is the model's own
        return getattr(self.model, name)

    def encode(self, *args: Any, **kwargs: Any) -> np.ndarray:
        import torch

        with torch.autocast(self.model.device.type, dtype=torch.bfloat16):
            out = self.model.encode(*args, **kwargs)
        return out.astype("float32", copy=False) if isinstance(out, np.ndarray) else out


class OnnxEncoder:
    """A SentenceTransformer whose first module runs in ONNX Runtime; `encode` answers like the model's."""

    def __init__(self, model: Any, session: Any, input_names: list[str]) -> None:
        self.model = model
        self.session = session
        self.input_names = input_names

    def get_embedding_dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], batch_size: int = 32, convert_to_numpy: bool = True,
               normalize_embeddings: bool = False, show_progress_bar: bool = False) -> np.ndarray:
        """Embeddings in input order; batches of similar length, as sentence-transformers batches them."""
        import torch

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.get_embedding_dimension()), dtype="float32")
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.get_embedding_dimension()), dtype="float32")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start:start + batch_size]
                features = self.model.preprocess([texts[i] for i in rows])
                feeds = {name: features[name].numpy().astype("int64") for name in self.input_names}
                features["token_embeddings"] = torch.from_numpy(self.session.run(["token_embeddings"], feeds)[0])
                for module in list(self.model)[1:]:
                    features = module(features)
                emb = features["sentence_embedding"].float()
                if normalize_embeddings:
                    emb = torch.nn.functional.normalize(emb, p=2, dim=1)
                out[rows] = emb.numpy()
        return out


def _export(model: Any, folder: Path, quantize: bool) -> tuple[Path, list[str]]:
    """The model's transformer as ONNX (dynamic batch and length), int8-quantised when asked."""
    import torch

    transformer = model[0].auto_model
    sample = model.preprocess(["a short query", "a longer query, so that the export sees padding in its batch"])
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs)), return_dict=True).last_hidden_state

    path = folder / "encoder.onnx"
    with torch.no_grad():
        torch.onnx.export(TokenEmbeddings().eval(), tuple(sample[n] for n in names), str(path), dynamo=False,
                          input_names=names, output_names=["token_embeddings"], opset_version=17,
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                        "token_embeddings": {0: "batch", 1: "tokens"}})
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = folder / "encoder.int8.onnx"
        # Per-channel scales on the MatMuls only: the default (per-tensor, every op) moved top-4 hits far more
        # for no more speed (docs/service.md, "Encoder backends").
        quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
        path = quantized
    return path, names


def load_encoder_backend(enc_dir: Path, device: str, backend: EncoderBackend = "torch") -> Any:
    """The version's encoder on `backend`; raises ValueError (a rejected version) when the backend cannot run."""
    from sentence_transformers import SentenceTransformer

    if backend.startswith("onnx") and device != "cpu":
        raise ValueError(f"encoder backend {backend} runs on the CPU only (device {device}); use --encoder-backend torch")
    if backend == "torch-bf16" and not native_bf16(device):
        raise ValueError(f"encoder backend torch-bf16 needs native bf16 on {device} (AVX512-BF16 or AMX on a CPU, "
                         "Ampere or newer on a GPU); this one has none: use --encoder-backend torch or onnx")
    model = SentenceTransformer(str(enc_dir), device=device, local_files_only=True,
                                **({"model_kwargs": {"attn_implementation": "eager"}} if backend.startswith("onnx") else {}))
    if backend == "torch":
        return model
    if backend == "torch-bf16":
        return Bf16Encoder(model)
    try:
        import onnxruntime as ort
    except ImportError:
        raise ValueError(f"encoder backend {backend} needs onnxruntime: pip install onnxruntime onnx") from None
    import torch

    with tempfile.TemporaryDirectory(prefix="rarft-onnx-") as tmp:
        path, names = _export(model, Path(tmp), quantize=backend == "onnx-int8")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads leave the cores to HTTP
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])  # reads the file now
    return OnnxEncoder(model, session, names)
