"""Course data ships in the package, verified by sha256; lookup errors name every place tried."""
from __future__ import annotations

import hashlib

import pytest
from conftest import ROOT

from grader.data import KNOWN, PACKAGED, DataError, find, read_words

SHARED = ROOT.parent / "shared" / "data"


@pytest.mark.parametrize("name", KNOWN)
def test_packaged_copy_matches_the_course_original(name):
    want = {line.split()[1]: line.split()[0]
            for line in (PACKAGED / "SHA256SUMS").read_text().splitlines() if line.strip()}
    assert hashlib.sha256((PACKAGED / name).read_bytes()).hexdigest() == want[name]
    if (SHARED / "SHA256SUMS").is_file():
        assert (SHARED / "SHA256SUMS").read_text().split() == \
            (PACKAGED / "SHA256SUMS").read_text().split()


def test_lookup_order_explicit_then_env_then_packaged(tmp_path, monkeypatch):
    monkeypatch.delenv("ZTH_DATA_DIR", raising=False)
    assert find("names.txt") == PACKAGED / "names.txt"
    (tmp_path / "names.txt").write_bytes((PACKAGED / "names.txt").read_bytes())
    monkeypatch.setenv("ZTH_DATA_DIR", str(tmp_path))
    assert find("names.txt") == tmp_path / "names.txt"
    own = tmp_path / "pets.txt"
    own.write_text("rex\n\nfido\n")
    assert read_words(own) == ["rex", "fido"]  # a user's own file: one item per line


def test_corrupt_env_copy_is_skipped_and_missing_everywhere_names_all_paths(tmp_path,
                                                                           monkeypatch):
    (tmp_path / "names.txt").write_text("not the real names\n")
    monkeypatch.setenv("ZTH_DATA_DIR", str(tmp_path))
    assert find("names.txt") == PACKAGED / "names.txt"
    monkeypatch.setattr("grader.data.PACKAGED", tmp_path / "nowhere")
    monkeypatch.setattr("grader.data._sums", lambda: {"names.txt": "0" * 64})
    with pytest.raises(DataError) as e:
        find("names.txt")
    assert "sha256 mismatch" in str(e.value) and "nowhere" in str(e.value)
    assert "ZTH_DATA_DIR" in str(e.value)


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        find("names.txt", tmp_path / "missing.txt")
