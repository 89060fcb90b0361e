"""The shared value checks (videostyle/_checks.py): choices with a suggestion, numbers in a range, input files."""

from __future__ import annotations

import pytest

from videostyle._checks import check_choice, check_file, check_number
from videostyle.errors import EmptyInputError, InputIsDirectoryError, InputNotFoundError, UsageError

WORDS = {"missing": "gone", "directory": "a folder", "empty": "nothing in it"}


def test_check_file_gives_the_path_of_a_file_with_contents(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(b"x")
    assert check_file(str(path), **WORDS) == path


@pytest.mark.parametrize(("make", "error", "words"), [
    (lambda p: None, InputNotFoundError, "gone"),
    (lambda p: p.mkdir(), InputIsDirectoryError, "a folder"),
    (lambda p: p.write_bytes(b""), EmptyInputError, "nothing in it"),
])
def test_check_file_says_what_is_wrong_in_the_callers_words_naming_the_path(tmp_path, make, error, words):
    path = tmp_path / "a.png"
    make(path)
    with pytest.raises(error, match=words) as info:
        check_file(path, **WORDS)
    assert str(path) in str(info.value)


def test_check_choice_suggests_the_closest_name():
    assert check_choice("--fill", "match", ("match", "paint")) == "match"
    with pytest.raises(UsageError, match=r"did you mean 'match'\?"):
        check_choice("--fill", "mach", ("match", "paint"))


def test_check_number_keeps_the_range():
    assert check_number("--size", 64, minimum=16, integer=True) == 64
    with pytest.raises(UsageError, match="--size"):
        check_number("--size", 8, minimum=16)
    with pytest.raises(UsageError, match="integer"):
        check_number("--size", 6.5, integer=True)
