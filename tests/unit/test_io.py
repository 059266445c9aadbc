import pandas as pd
import pytest

from entangle.io import atomic_path, markdown_table, write_table


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_replaces_old_output(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale").write_text("x")
    with atomic_path(target, directory=True) as tmp:
        (tmp / "fresh").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["fresh"]


def test_tables_are_csv_and_markdown(tmp_path):
    df = pd.DataFrame({"model": ["a|b"], "ppl": [12.3456789]})
    write_table(df, tmp_path / "t.csv", tmp_path / "t.md")
    assert (tmp_path / "t.csv").read_text() == "model,ppl\na|b,12.3457\n"
    assert markdown_table(df) == "| model | ppl |\n|---|---|\n| a\\|b | 12.35 |"


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    stale = tmp_path / ".model.tmp-12345"
    stale.mkdir()
    (stale / "half.safetensors").write_text("x")
    with atomic_path(tmp_path / "model", directory=True) as tmp:
        (tmp / "config.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
