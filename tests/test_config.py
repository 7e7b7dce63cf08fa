"""course.yaml: validated, and a typo is an error naming the key and the line."""
from __future__ import annotations

import pytest

from grader.check import registry
from grader.config import ROOT, ConfigError, load_course, parse_course

TEXT = (ROOT / "course.yaml").read_text()


def test_course_yaml_is_valid_and_every_check_has_a_function():
    course = load_course()
    for lid, lec in course.lectures.items():
        fns = registry(lid)
        for c in lec.checks:
            assert c.id in fns, f"{c.id} has no @check function"
            assert c.id.split(".")[0] == lid
        assert set(fns) == {c.id for c in lec.checks}, f"{lid}: checks not in course.yaml"


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_typo_in_a_key_names_the_key_and_line():
    bad = TEXT.replace("        points: 15\n", "        pionts: 15\n", 1)
    with pytest.raises(ConfigError) as e:
        parse_course(bad)
    line = _line_of(bad, "pionts: 15")
    assert f"course.yaml:{line}:" in str(e.value)
    assert "pionts" in str(e.value) and "unknown key" in str(e.value)


def test_wrong_type_names_the_key_and_line():
    bad = TEXT.replace("        points: 15\n", "        points: lots\n", 1)
    with pytest.raises(ConfigError) as e:
        parse_course(bad)
    assert f"course.yaml:{_line_of(bad, 'points: lots')}:" in str(e.value)
    assert "points" in str(e.value)


def test_negative_tolerance_and_bad_visibility_are_rejected():
    for old, new in (("rtol: 1.0e-9", "rtol: -1"), ("title: \"Value ops forward",
                                                     "visibility: secret\n        title: \"x")):
        with pytest.raises(ConfigError):
            parse_course(TEXT.replace(old, new, 1))


def test_duplicate_check_id_is_rejected():
    bad = TEXT.replace("id: micrograd.exp\n", "id: micrograd.tanh\n", 1)
    with pytest.raises(ConfigError, match="duplicate check id"):
        parse_course(bad)


def test_invalid_yaml_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_course("lectures: [unclosed")
    with pytest.raises(ConfigError, match="cannot read"):
        load_course(tmp_path / "nope.yaml")
