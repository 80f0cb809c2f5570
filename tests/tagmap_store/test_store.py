"""Installed tag-map versions: atomic apply, numbered history, rollback."""

import os
import threading
from pathlib import Path

import pytest

from daemons.core.problems import ValidationError
from daemons.core.tagmap import store


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_hand_installed_set_is_version_zero(tmp_path):
    write(tmp_path / "a.csv", "tag\n")
    assert store.current_version(tmp_path) == 0
    assert [p.name for p in store.active_files(tmp_path)] == ["a.csv"]


def test_apply_creates_versions_and_swaps_current(tmp_path):
    maps, src = tmp_path / "maps", tmp_path / "src"
    src.mkdir()
    maps.mkdir()
    write(maps / "a.csv", "old a\n")
    new_b = write(src / "b.csv", "b1\n")
    v1 = store.apply(maps, store.proposed_set(maps, [new_b]), "first")
    assert v1 == 1 and store.current_version(maps) == 1
    assert sorted(p.name for p in store.active_files(maps)) == ["a.csv", "b.csv"]
    new_a = write(src / "a.csv", "new a\n")
    v2 = store.apply(maps, store.proposed_set(maps, [new_a]))
    assert v2 == 2
    active = {p.name: p.read_text() for p in store.active_files(maps)}
    assert active == {"a.csv": "new a\n", "b.csv": "b1\n"}
    info = store.list_versions(maps)
    assert [v.version for v in info] == [1, 2] and info[0].note == "first"
    assert info[0].action == "apply" and info[0].files == ("a.csv", "b.csv")
    assert os.readlink(maps / "current") == "versions/0002"


def test_rollback_is_a_new_version_with_old_content(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    maps = tmp_path / "maps"
    store.apply(maps, {"a.csv": write(src / "a.csv", "one\n")})
    store.apply(maps, {"a.csv": write(src / "a.csv", "two\n")})
    v3 = store.rollback(maps)
    assert v3 == 3
    assert store.active_files(maps)[0].read_text() == "one\n"
    assert store.list_versions(maps)[-1].action == "rollback"
    v4 = store.rollback(maps, 2)
    assert v4 == 4 and store.active_files(maps)[0].read_text() == "two\n"
    with pytest.raises(ValidationError, match="version 9 does not exist"):
        store.rollback(maps, 9)


def test_rollback_without_history_is_an_error(tmp_path):
    with pytest.raises(ValidationError, match="no earlier"):
        store.rollback(tmp_path)


def test_proposed_set_rejects_missing_or_non_csv(tmp_path):
    with pytest.raises(ValidationError, match="not found"):
        store.proposed_set(tmp_path, [tmp_path / "nope.csv"])
    with pytest.raises(ValidationError, match=r"\.csv"):
        store.proposed_set(tmp_path, [write(tmp_path / "x.txt", "")])


def test_concurrent_applies_get_distinct_versions(tmp_path):
    src = write(tmp_path / "a.csv", "x\n")
    maps = tmp_path / "maps"
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(store.apply(maps, {"a.csv": src})))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2, 3, 4, 5, 6]
    assert store.current_version(maps) in results


def test_reader_never_sees_a_partial_set(tmp_path):
    """While versions are swapped in a loop, every read of `current` sees a whole set."""
    src = tmp_path / "src"
    src.mkdir()
    maps = tmp_path / "maps"
    sets = [{f"{n}.csv": write(src / f"{n}.csv", f"{n}\n") for n in names}
            for names in (("a", "b", "c"), ("d", "e"))]
    store.apply(maps, sets[0])
    stop = threading.Event()
    seen: list[tuple[str, ...]] = []

    def reader() -> None:
        while not stop.is_set():
            seen.append(tuple(p.name for p in store.active_files(maps)))

    t = threading.Thread(target=reader)
    t.start()
    for i in range(40):
        store.apply(maps, sets[i % 2])
    stop.set()
    t.join()
    assert seen and set(seen) <= {("a.csv", "b.csv", "c.csv"), ("d.csv", "e.csv")}
