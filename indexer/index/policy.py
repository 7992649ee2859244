"""Which FAISS index a collection gets, and building it with its recall measured.

The policy follows autofaiss: exact search while the collection is small; past `flat_max`, an
IVF index whose code is the most faithful one that fits the memory budget (SQ8, else PQ with
as many sub-quantizers as fit), trained on a sample of the stored vectors. Every approximate
build measures recall@10 against exact search on stored vectors used as queries (the query's
own id excluded: "more like this" is the use case) and is refused below the floor, so a build
can make search slower or bigger, never silently worse.

HNSW is not offered: it cannot remove vectors, and a collection loses files every day.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import faiss
import numpy as np

from vitrieve.core.errors import VitrieveError
from vitrieve.indexer.index.checks import check_ids, check_vectors
from vitrieve.indexer.index.recall import TRUTH_K, ExactTopK, recall_at, tune_nprobe

log = logging.getLogger(__name__)

VectorsLoader = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]

_MIN_PER_LIST = 39  # faiss's own floor of training points per centroid
_TRAIN_PER_LIST = 40
_HNSW_QUANTIZER_FROM = 16_384  # nlist beyond which a flat coarse quantizer is too slow to add
_PQ_M = (384, 256, 192, 128, 96, 64, 48, 32, 24, 16, 12, 8)  # sub-quantizers, best first
_ID_BYTES = 8
_ALLOC_SLACK = 1.1  # inverted lists' vectors grow in steps; file-loaded ones are exact


@dataclass(frozen=True, slots=True)
class IndexPolicy:
    """The knobs (from Settings) that decide the index type; see docs/INDEXING.md."""

    flat_max: int = 50_000
    memory_budget_mb: float = 2048
    recall_floor: float = 0.95
    growth: float = 2.0
    sample_queries: int = 1000
    use_gpu: bool = True
    seed: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> IndexPolicy:
        return cls(
            flat_max=settings.flat_max,
            memory_budget_mb=settings.index_memory_budget_mb,
            recall_floor=settings.index_recall_floor,
            growth=settings.index_rebuild_growth,
            sample_queries=settings.index_recall_queries,
            use_gpu=settings.index_gpu,
        )


@dataclass(frozen=True, slots=True)
class IndexPlan:
    """One candidate index: `kind` is its faiss factory string ("flat" for exact)."""

    kind: str
    nlist: int = 0
    code: str = "Flat"
    est_mb: float = 0.0

    @property
    def exact(self) -> bool:
        return self.kind == "flat"


@dataclass
class BuildReport:
    """What one build chose and measured; stored as an `IndexBuild` row."""

    kind: str
    n: int
    recall_at_10: float | None
    build_s: float
    accepted: bool
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class IndexBuildRefused(VitrieveError):
    """No candidate index reached the recall floor; the previous index stays in use."""

    def __init__(self, message: str, reports: list[BuildReport]) -> None:
        super().__init__(message)
        self.reports = reports


# -- choosing --------------------------------------------------------------------------------


def nlist_for(n: int) -> int:
    """4·sqrt(N) lists (autofaiss's lower end: cheaper training and adds on small machines),
    rounded to a power of two, and never fewer than 39 training points per list."""
    if n < 2 * _MIN_PER_LIST:
        return 1
    target = 4 * math.sqrt(n)
    nlist = 2 ** round(math.log2(target))
    return max(1, min(nlist, n // _MIN_PER_LIST))


def estimate_mb(n: int, dim: int, code: str, nlist: int = 0) -> float:
    """Resident size: codes + ids per vector, plus centroids (and HNSW links when used)."""
    if code == "Flat":
        per_vector = 4 * dim + _ID_BYTES
    elif code == "SQ8":
        per_vector = dim + _ID_BYTES
    elif code.startswith("PQ"):
        per_vector = int(code[2:]) + _ID_BYTES
    else:
        raise ValueError(f"unknown code {code}")
    fixed = nlist * dim * 4 + (nlist * 64 * 4 if nlist > _HNSW_QUANTIZER_FROM else 0)
    return (n * per_vector * _ALLOC_SLACK + fixed) / 2**20


def candidate_plans(n: int, dim: int, policy: IndexPolicy) -> list[IndexPlan]:
    """Candidates for `n` vectors, most preferred first; the builder takes the first that
    reaches the recall floor. A single exact plan while the collection is small.

    SQ8 (one byte per dimension) is near-lossless for unit vectors and preferred whenever it
    fits the budget, with IVF-Flat behind it when that fits too; otherwise the PQ with the
    most sub-quantizers that fits (smaller PQs could only recall less).
    """
    if n <= policy.flat_max or n < 2 * _MIN_PER_LIST:
        return [IndexPlan("flat", est_mb=round(estimate_mb(n, dim, "Flat"), 1))]
    nlist = nlist_for(n)
    quantizer = f"IVF{nlist}_HNSW32" if nlist > _HNSW_QUANTIZER_FROM else f"IVF{nlist}"
    by_size = ["SQ8", *(f"PQ{m}" for m in _PQ_M if dim % m == 0 and m < dim)]
    sized = {c: estimate_mb(n, dim, c, nlist) for c in [*by_size, "Flat"]}
    fitting = [c for c in by_size if sized[c] <= policy.memory_budget_mb]
    if not fitting:
        smallest = min(by_size, key=sized.__getitem__)
        log.warning(
            "no index for %d x %d vectors fits %d MB; trying %s (%.0f MB)",
            n,
            dim,
            policy.memory_budget_mb,
            smallest,
            sized[smallest],
        )
        fitting = [smallest]
    codes = [fitting[0]]
    if fitting[0] == "SQ8" and sized["Flat"] <= policy.memory_budget_mb:
        codes.append("Flat")
    return [
        IndexPlan(f"{quantizer},{c}", nlist=nlist, code=c, est_mb=round(sized[c], 1)) for c in codes
    ]


def plan_index(n: int, dim: int, policy: IndexPolicy) -> IndexPlan:
    return candidate_plans(n, dim, policy)[0]


def kind_of(index: Any) -> str:
    """The factory-style name of a built index (what `IndexBuild.kind` and the sidecar hold)."""
    if isinstance(index, faiss.IndexIDMap2):
        return "flat"
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return type(index).__name__
    ivf = cast(faiss.IndexIVF, faiss.downcast_index(ivf))  # stubs say Index; it is the IVF's class
    quantizer = faiss.downcast_index(ivf.quantizer)
    q = f"IVF{ivf.nlist}" + ("_HNSW32" if isinstance(quantizer, faiss.IndexHNSW) else "")
    if isinstance(ivf, faiss.IndexIVFScalarQuantizer):
        code = "SQ8"
    elif isinstance(ivf, faiss.IndexIVFPQ):
        code = f"PQ{ivf.pq.M}"
    else:
        code = "Flat"
    return f"{q},{code}"


def needs_rebuild(kind: str, n_built: int, n_now: int, policy: IndexPolicy) -> bool:
    """Flat past flat_max; an approximate index when N moved by the growth factor since it was
    trained (its lists and nprobe were sized for that N) or fell back into flat range."""
    if kind == "flat":
        return n_now > policy.flat_max
    if n_now <= policy.flat_max // 2:
        return True
    base = max(n_built, 1)
    return n_now >= policy.growth * base or n_now * policy.growth <= base


# -- building --------------------------------------------------------------------------------


def empty_flat(dim: int) -> Any:
    """Inner product on unit vectors is cosine; IDMap2 keeps the reverse map for removals."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def build_flat(dim: int, load_vectors: VectorsLoader) -> Any:

    index = empty_flat(dim)
    for chunk_ids, chunk_vectors in load_vectors():
        ids = check_ids(chunk_ids)
        vectors = check_vectors(chunk_vectors, dim)
        if ids.shape[0] != vectors.shape[0]:
            raise ValueError(f"{ids.shape[0]} ids for {vectors.shape[0]} vectors")
        if ids.size:
            index.add_with_ids(vectors, ids)
    all_ids = faiss.vector_to_array(index.id_map)
    if np.unique(all_ids).size != all_ids.size:
        raise ValueError("load_vectors yielded duplicate ids")
    return index


def build_index(
    dim: int,
    load_vectors: VectorsLoader,
    n: int,
    policy: IndexPolicy,
    *,
    progress: Callable[[str], None] | None = None,
    scratch_dir: Path | None = None,
) -> tuple[Any, BuildReport]:
    """The index the policy chooses for about `n` vectors, built from the stream.

    Flat is built in one pass. An approximate candidate takes two: a sample (training set
    and recall queries), then adding every vector while exact neighbours of the queries are
    computed from the same chunks. Raises IndexBuildRefused (all reports attached) when no
    candidate reaches `policy.recall_floor`.
    """
    say = progress or log.info
    plans = candidate_plans(n, dim, policy)
    if plans[0].exact:
        t0 = time.perf_counter()
        index = build_flat(dim, load_vectors)
        report = BuildReport("flat", int(index.ntotal), None, _since(t0), True)
        return index, report
    reports: list[BuildReport] = []
    for plan in plans:
        say(f"building {plan.kind} for ~{n} vectors (est. {plan.est_mb:.0f} MB)")
        index, report = _build_ivf(plan, dim, load_vectors, n, policy, say, scratch_dir)
        reports.append(report)
        if report.accepted:
            return index, report
        say(f"{plan.kind}: recall@10 {report.recall_at_10:.4f} < {policy.recall_floor}")
    best = max(reports, key=lambda r: r.recall_at_10 or 0.0)
    raise IndexBuildRefused(
        f"no index for {n} vectors reached recall@10 {policy.recall_floor} "
        f"(best: {best.kind} at {best.recall_at_10:.4f}); keeping the previous index",
        reports,
    )


def _since(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)


def _new_ivf(plan: IndexPlan, dim: int) -> Any:
    index = faiss.index_factory(dim, plan.kind, faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.spherical = True  # unit vectors: centroids on the sphere suit inner product
    ivf.cp.niter = 10  # list quality saturates early; training is the slow part of a build
    ivf.cp.max_points_per_centroid = 256
    ivf = cast(faiss.IndexIVF, faiss.downcast_index(ivf))  # stubs say Index; it is the IVF's class
    if isinstance(ivf, faiss.IndexIVFPQ):
        # minutes of annealing for a search we do not use
        ivf.do_polysemous_training = False  # type: ignore[attr-defined]  # not in faiss's stubs
    return index


def _build_ivf(
    plan: IndexPlan,
    dim: int,
    load_vectors: VectorsLoader,
    n: int,
    policy: IndexPolicy,
    say: Callable[[str], None],
    scratch_dir: Path | None,
) -> tuple[Any, BuildReport]:
    t0 = time.perf_counter()
    rng = np.random.default_rng(policy.seed)
    n_train = min(n, _TRAIN_PER_LIST * plan.nlist + 1000)
    n_queries = max(20, min(policy.sample_queries, n // 10))
    train, q_ids, q_vecs = _sample(load_vectors, dim, n, n_train, n_queries, rng)
    t_sample = _since(t0)
    index = _new_ivf(plan, dim)
    index.train(train)
    del train
    t_train = _since(t0) - t_sample
    truth = ExactTopK(q_ids, q_vecs, TRUTH_K)
    added = 0
    for chunk_ids, chunk_vectors in load_vectors():
        ids = np.ascontiguousarray(chunk_ids, dtype=np.int64)
        vecs = np.ascontiguousarray(chunk_vectors, dtype=np.float32)
        if not ids.size:
            continue
        index.add_with_ids(vecs, ids)
        truth.update(ids, vecs)
        added += ids.size
    # Inverted lists grow geometrically while adding; a file round trip sizes every list
    # exactly (up to ~1.5x smaller), through disk so that two copies never sit in memory.
    with _scratch_file(scratch_dir) as path:
        faiss.write_index(index, path)
        del index
        # stubs say Index; read_index returns the concrete class, the IVF index_factory made
        index = cast(faiss.IndexIVF, faiss.read_index(path))
    t_add = _since(t0) - t_sample - t_train
    half = len(q_ids) // 2  # tune nprobe on one half, report recall on the other
    nprobe, tune_recall = tune_nprobe(index, truth, slice(0, half), policy.recall_floor)
    index.nprobe = nprobe
    recall = recall_at(index, truth, slice(half, len(q_ids)), nprobe)
    report = BuildReport(
        kind=plan.kind,
        n=added,
        recall_at_10=round(recall, 4),
        build_s=_since(t0),
        accepted=recall >= policy.recall_floor,
        params={
            "nlist": plan.nlist,
            "nprobe": nprobe,
            "code": plan.code,
            "queries": len(q_ids) - half,
            "tune_recall": round(tune_recall, 4),
            "trained_on": int(min(n_train, added)),
            "est_mb": plan.est_mb,
            "size_mb": round(serialized_mb(index), 1),
            "sample_s": t_sample,
            "train_s": round(t_train, 3),
            "add_s": round(t_add, 3),
            "budget_mb": policy.memory_budget_mb,
            "recall_floor": policy.recall_floor,
        },
    )
    say(
        f"{plan.kind}: n={added} nprobe={nprobe} recall@10={recall:.4f} "
        f"in {report.build_s:.1f}s (train {t_train:.1f}s, add {t_add:.1f}s)"
    )
    return index, report


def serialized_mb(index: Any) -> float:
    return faiss.serialize_index(index).nbytes / 2**20


@contextmanager
def _scratch_file(scratch_dir: Path | None) -> Iterator[str]:
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix=".compact-") as tmp:
        yield str(Path(tmp) / "index.faiss")


def _sample(
    load_vectors: VectorsLoader,
    dim: int,
    n: int,
    n_train: int,
    n_queries: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass: Bernoulli samples for training and for queries (n, from SQL's count, sets
    the rates; a little oversampling absorbs a stream slightly shorter than n)."""
    p_train = min(1.0, 1.05 * n_train / max(n, 1))
    p_query = min(1.0, 1.2 * n_queries / max(n, 1))
    train_parts, q_id_parts, q_vec_parts = [], [], []
    have_train = have_q = 0
    for chunk_ids, chunk_vectors in load_vectors():
        ids = np.asarray(chunk_ids, dtype=np.int64)
        vecs = np.asarray(chunk_vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[1] != dim:
            raise ValueError(f"vectors must have shape [n, {dim}], got {vecs.shape}")
        if have_train < n_train:
            pick = rng.random(ids.size) < p_train
            train_parts.append(vecs[pick][: n_train - have_train].copy())
            have_train += len(train_parts[-1])
        if have_q < n_queries:
            pick = rng.random(ids.size) < p_query
            q_id_parts.append(ids[pick][: n_queries - have_q].copy())
            q_vec_parts.append(vecs[pick][: n_queries - have_q].copy())
            have_q += len(q_id_parts[-1])
    train = np.concatenate(train_parts) if train_parts else np.empty((0, dim), np.float32)
    q_ids = np.concatenate(q_id_parts) if q_id_parts else np.empty(0, np.int64)
    q_vecs = np.concatenate(q_vec_parts) if q_vec_parts else np.empty((0, dim), np.float32)
    return np.ascontiguousarray(train), q_ids, np.ascontiguousarray(q_vecs)


# -- GPU ---------------------------------------------------------------------------------------


def gpu_available() -> bool:
    """faiss-gpu installed and a GPU visible (faiss-cpu has no index_cpu_to_gpu).

    The one check for every FAISS user (index search, duplicate pairs), so they agree on
    whether a GPU is there."""
    try:
        return hasattr(faiss, "index_cpu_to_gpu") and faiss.get_num_gpus() > 0
    except Exception:  # a broken CUDA install must not break search
        return False


_gpu_resources: Any = None


def to_gpu(index: Any) -> Any:
    """A GPU copy of `index` for searching (UNTESTED here: no faiss-gpu on the CPU machines).

    Raises whatever faiss raises for an index type it cannot move; callers fall back to CPU.
    """
    global _gpu_resources
    if _gpu_resources is None:
        _gpu_resources = faiss.StandardGpuResources()
    options = faiss.GpuClonerOptions()
    options.useFloat16 = True  # halves GPU memory for flat/IVF-Flat; SQ8/PQ are coded anyway
    return faiss.index_cpu_to_gpu(_gpu_resources, 0, index, options)
