"""Specification tests for the catalog's rules and queries, on SQLite and on PostgreSQL.

The schema is always built by the migrations (`core.migrate.upgrade`), never by create_all,
so these tests check the constraints the migrations really create.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrieve.core import migrate
from vitrieve.core.db import make_engine, session_factory
from vitrieve.indexer import catalog
from vitrieve.indexer.model_source import ModelInfo
from vitrieve.tables.catalog import Embedding, EmbeddingModel, Image, ImageStatus, Root

DIM = 16


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def add_root(session: Session, path: str) -> Root:
    root = Root(path=path)
    session.add(root)
    session.flush()
    return root


def add_image(
    session: Session, root: Root, rel_path: str, status: ImageStatus = ImageStatus.EMBEDDED
) -> Image:
    image = Image(
        root_id=root.id,
        rel_path=rel_path,
        size=1000,
        mtime_ns=1,
        content_hash=f"h-{rel_path}",
        status=status,
    )
    session.add(image)
    session.flush()
    return image


def add_model(session: Session, weights_hash: str = "w1") -> EmbeddingModel:
    model = EmbeddingModel(name="vit", revision=None, weights_hash=weights_hash, dim=DIM)
    session.add(model)
    session.flush()
    return model


def add_embedding(
    session: Session, image: Image, model: EmbeddingModel, vector: np.ndarray | None = None
) -> Embedding:
    if vector is None:
        vector = unit_vectors(1, seed=image.id)[0]
    emb = Embedding(
        image_id=image.id,
        model_id=model.id,
        content_hash=image.content_hash or "",
        vector=catalog.encode_vector(vector),
    )
    session.add(emb)
    session.flush()
    return emb


def unit_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def count(session: Session, entity) -> int:
    return session.scalar(select(func.count()).select_from(entity))


# --- constraints ---------------------------------------------------------------------------


def test_an_image_path_is_unique_within_its_root(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        first, second = add_root(session, "/a"), add_root(session, "/b")
        add_image(session, first, "x.jpg")
        add_image(session, second, "x.jpg")  # the same relative path in another root is fine
        session.commit()

        with pytest.raises(IntegrityError):
            add_image(session, first, "x.jpg")


def test_deleting_a_root_deletes_its_images_and_their_embeddings(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        doomed, kept = add_root(session, "/doomed"), add_root(session, "/kept")
        model = add_model(session)
        for rel in ("a.jpg", "b.jpg"):
            add_embedding(session, add_image(session, doomed, rel), model)
        survivor = add_image(session, kept, "c.jpg")
        add_embedding(session, survivor, model)
        doomed_id = doomed.id
        session.commit()

    with factory() as session:
        # Core DELETE: the database's ON DELETE CASCADE must do the work, not the ORM.
        session.execute(delete(Root).where(Root.id == doomed_id))
        session.commit()

    with factory() as session:
        assert session.scalars(select(Image.id)).all() == [survivor.id]
        assert session.scalars(select(Embedding.image_id)).all() == [survivor.id]
        assert count(session, EmbeddingModel) == 1


def insert_image_sql(session: Session, root_id: int, rel_path: str, status: str) -> None:
    session.execute(
        text(
            "INSERT INTO images (root_id, rel_path, size, mtime_ns, status, updated_at) "
            "VALUES (:root_id, :rel_path, 1, 1, :status, :now)"
        ),
        {"root_id": root_id, "rel_path": rel_path, "status": status, "now": datetime.now(UTC)},
    )


def test_image_status_rejects_a_value_outside_the_enum(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        root = add_root(session, "/a")
        insert_image_sql(session, root.id, "ok.jpg", "embedded")  # a valid value is accepted
        session.commit()

        with pytest.raises(IntegrityError):
            insert_image_sql(session, root.id, "bad.jpg", "bogus")
        session.rollback()

        assert session.scalars(select(Image.rel_path)).all() == ["ok.jpg"]


# --- models ----------------------------------------------------------------------------------


def test_get_or_create_model_returns_one_row_per_weights_hash(
    factory: sessionmaker[Session],
) -> None:
    info = ModelInfo(name="vit", revision="r1", weights_hash="a" * 32, dim=DIM)

    first = catalog.get_or_create_model(factory, info)
    again = catalog.get_or_create_model(factory, info)
    other = catalog.get_or_create_model(factory, ModelInfo("vit", "r1", "b" * 32, DIM))

    assert again.id == first.id
    assert other.id != first.id
    assert (first.weights_hash, first.dim, first.name) == ("a" * 32, DIM, "vit")
    with factory() as session:
        assert count(session, EmbeddingModel) == 2


# --- vectors ---------------------------------------------------------------------------------


def test_vectors_survive_float16_storage_as_unit_float32() -> None:
    dim = 768
    originals = unit_vectors(8, dim=dim, seed=1)

    blobs = [catalog.encode_vector(v) for v in originals]
    decoded = catalog.decode_vectors(blobs, dim)

    assert all(len(b) == dim * 2 for b in blobs)  # float16: two bytes per component
    assert decoded.dtype == np.float32
    assert decoded.shape == (8, dim)
    np.testing.assert_allclose(np.linalg.norm(decoded, axis=1), 1.0, atol=1e-6)
    cosines = np.sum(decoded * originals, axis=1)
    assert cosines.min() >= 0.9999


def test_decoding_no_blobs_gives_an_empty_matrix() -> None:
    decoded = catalog.decode_vectors([], DIM)
    assert decoded.shape == (0, DIM)
    assert decoded.dtype == np.float32


# --- roots -----------------------------------------------------------------------------------


def root_paths(session: Session) -> list[str]:
    return sorted(session.scalars(select(Root.path)))


def test_a_new_folder_becomes_a_root(factory: sessionmaker[Session], tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()

    with factory() as session:
        target = catalog.resolve_target(session, folder)
        session.commit()

        assert target.root_path == folder.resolve()
        assert target.subdir == ""
        assert session.get(Root, target.root_id).path == str(folder.resolve())
        assert root_paths(session) == [str(folder.resolve())]


def test_a_folder_inside_a_root_maps_to_that_root_with_a_subdir(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    root = tmp_path / "photos"
    inner = root / "2024" / "trip"
    inner.mkdir(parents=True)

    with factory() as session:
        registered = catalog.resolve_target(session, root)
        session.commit()

        target = catalog.resolve_target(session, inner)
        same = catalog.resolve_target(session, root)

        assert (target.root_id, target.root_path) == (registered.root_id, root.resolve())
        assert target.subdir == "2024/trip"
        assert (same.root_id, same.subdir) == (registered.root_id, "")
        assert root_paths(session) == [str(root.resolve())]


def test_a_folder_containing_roots_absorbs_them_and_their_images(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    outer = tmp_path / "photos"
    (outer / "trip").mkdir(parents=True)
    (outer / "2024" / "summer").mkdir(parents=True)
    with factory() as session:
        trip = catalog.resolve_target(session, outer / "trip")
        summer = catalog.resolve_target(session, outer / "2024" / "summer")
        model = add_model(session)
        a = add_image(session, session.get(Root, trip.root_id), "a.jpg")
        b = add_image(session, session.get(Root, trip.root_id), "x/b.jpg")
        c = add_image(session, session.get(Root, summer.root_id), "c.jpg")
        add_embedding(session, a, model)
        session.commit()
        image_ids = {"a": a.id, "b": b.id, "c": c.id}

    with factory() as session:
        target = catalog.resolve_target(session, outer)
        session.commit()

    assert (target.root_path, target.subdir) == (outer.resolve(), "")
    with factory() as session:
        assert root_paths(session) == [str(outer.resolve())]
        rows = session.execute(select(Image.id, Image.root_id, Image.rel_path)).all()
        assert sorted(rows) == sorted(
            [
                (image_ids["a"], target.root_id, "trip/a.jpg"),
                (image_ids["b"], target.root_id, "trip/x/b.jpg"),
                (image_ids["c"], target.root_id, "2024/summer/c.jpg"),
            ]
        )
        # The images keep their identity, so their vectors are not lost.
        assert session.scalars(select(Embedding.image_id)).all() == [image_ids["a"]]


# --- streaming vectors -----------------------------------------------------------------------


def test_iter_vectors_streams_only_embedded_images_of_this_model_in_chunks(
    factory: sessionmaker[Session],
) -> None:
    with factory() as session:
        root = add_root(session, "/lib")
        model, other_model = add_model(session, "w1"), add_model(session, "w2")
        wanted: dict[int, np.ndarray] = {}
        vectors = iter(unit_vectors(5, seed=7))
        for i in range(5):
            image = add_image(session, root, f"good{i}.jpg")
            vec = next(vectors)
            add_embedding(session, image, model, vec)
            wanted[image.id] = vec
            # Interleaved rows that must not be streamed, so the wanted ids are not contiguous.
            if i == 1:
                add_embedding(
                    session, add_image(session, root, "p.jpg", ImageStatus.PENDING), model
                )
            if i == 2:
                add_embedding(session, add_image(session, root, "f.jpg", ImageStatus.FAILED), model)
                add_embedding(
                    session, add_image(session, root, "m.jpg", ImageStatus.MISSING), model
                )
            if i == 3:
                add_embedding(session, add_image(session, root, "o.jpg"), other_model)
        add_image(session, root, "no-vector.jpg")  # embedded but without any vector
        session.commit()
        model_id = model.id

    chunks = list(catalog.iter_vectors(factory, model_id, DIM, chunk=2))

    assert [len(ids) for ids, _ in chunks] == [2, 2, 1]
    ids = np.concatenate([ids for ids, _ in chunks])
    assert ids.tolist() == sorted(wanted)
    assert all(vecs.dtype == np.float32 and vecs.shape == (len(i), DIM) for i, vecs in chunks)
    streamed = np.concatenate([vecs for _, vecs in chunks])
    expected = np.stack([wanted[i] for i in ids.tolist()])
    assert np.sum(streamed * expected, axis=1).min() >= 0.9999


# -- the one image summary and the one path lookup ---------------------------------------------


def test_a_path_names_the_image_there_now_and_a_missing_image_is_not_there(factory, tmp_path):
    root_dir = tmp_path / "photos"
    with factory.begin() as session:
        root = add_root(session, str(root_dir))
        here = add_image(session, root, "trip/a.jpg").id
        add_image(session, root, "trip/gone.jpg", ImageStatus.MISSING)
        failed = add_image(session, root, "bad.jpg", ImageStatus.FAILED).id
    with factory() as session:
        assert catalog.image_id_of_path(session, root_dir / "trip" / "a.jpg") == here
        assert catalog.image_id_of_path(session, root_dir / "trip" / ".." / "bad.jpg") == failed
        assert catalog.image_id_of_path(session, root_dir / "trip" / "gone.jpg") is None
        assert catalog.image_id_of_path(session, tmp_path / "elsewhere.jpg") is None


def test_describe_images_summarises_the_ids_still_in_the_catalog(factory, tmp_path):
    with factory.begin() as session:
        root = add_root(session, str(tmp_path))
        ids = [add_image(session, root, f"{i}.jpg").id for i in range(3)]
    with factory() as session:
        got = catalog.describe_images(session, [*ids, 10_000])
    assert sorted(got) == ids  # an id gone from SQL is simply absent
    first = got[ids[0]]
    assert (first.path, first.size, first.status) == (str(tmp_path / "0.jpg"), 1000, "embedded")
    assert first.taken == datetime.fromtimestamp(1e-9)  # no EXIF date: the file's time
