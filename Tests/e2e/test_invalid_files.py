"""The catalogue of invalid routes files (Fixtures/invalid): each is refused, with exactly the expected message.

For every `Fixtures/invalid/NN-what-is-wrong.yaml`, `chancery validate FILE --certs Fixtures/invalid/certs`, run
from the repository root, must exit non-zero and print exactly `NN-what-is-wrong.expected` (on stderr; stdout
stays empty), and every line must say where the problem is: `FILE:LINE:COLUMN: ` with a position inside FILE.

A message changed on purpose? Rewrite every `.expected` file and the folder's README in one command, then review
the diff before committing it:

    CHANCERY_UPDATE_EXPECTED=1 .venv/bin/python -m pytest Tests/e2e/test_invalid_files.py
    git diff Fixtures/invalid

CHANCERY_BIN names the binary, as in the other end-to-end tests (default: the debug build).
"""
import os
import re

import pytest

import invalid_catalogue as catalogue
from harness import chancery_bin

UPDATE = os.environ.get("CHANCERY_UPDATE_EXPECTED") == "1"
CASES = catalogue.cases()

# Lines that may carry no position of their own, and why. Everything else must start with FILE:LINE:COLUMN.
CERT_FOLDER_WARNING = re.compile(r"^warning: Fixtures/invalid/certs/[^/]+/[a-z.]+: ")
LEFT_OUT_SUMMARY = re.compile(r"^(?P<file>\S+): not valid with these certificates: ")
POSITIONED = re.compile(r"^(?:warning: |error: )?(?P<file>[^:\s]+):(?P<line>\d+):(?P<column>\d+): \S")

# Known gaps: files refused without a position, or with a follow-up message after the real one. Both are empty
# now; an entry makes its test demand the gap, so a fix fails the test until the entry is removed.
UNPOSITIONED = {}
FOLLOW_UPS = {}


@pytest.fixture(scope="module", autouse=True)
def regenerate():
    """With CHANCERY_UPDATE_EXPECTED=1, rewrite the .expected files and the README before checking them."""
    if UPDATE:
        catalogue.update(chancery_bin())


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_the_catalogue_has_at_least_45_files_each_with_its_expected_output():
    assert len(CASES) >= 45, CASES
    for name in CASES:
        assert catalogue.NAME.match(name), f"{name}: name it NN-what-is-wrong.yaml"
        assert os.path.exists(catalogue.expected_path(name)), f"{name} has no .expected file"
        assert catalogue.mistake(name), f"{name} does not start with a # comment saying what is wrong"
    expected = sorted(n for n in os.listdir(os.path.join(catalogue.ROOT, catalogue.FOLDER)) if n.endswith(".expected"))
    assert expected == sorted(n[:-len(".yaml")] + ".expected" for n in CASES), "an .expected file without its .yaml"


def test_numbers_are_unique_and_known_gaps_name_real_files():
    numbers = [name.split("-")[0] for name in CASES]
    assert len(numbers) == len(set(numbers)), numbers
    assert set(UNPOSITIONED) <= set(CASES), set(UNPOSITIONED) - set(CASES)
    assert set(FOLLOW_UPS) <= set(CASES), set(FOLLOW_UPS) - set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_validate_refuses_the_file_with_the_expected_message(name):
    result = catalogue.validate(chancery_bin(), name)
    assert result.returncode != 0, f"{name} was accepted:\n{result.stdout}{result.stderr}"
    assert result.stdout == ""
    assert result.stderr == read(catalogue.expected_path(name))


@pytest.mark.parametrize("name", CASES)
def test_every_message_says_where_in_the_file(name):
    text = read(catalogue.expected_path(name))
    assert text.endswith("\n") and text.strip(), f"{name}: empty or unterminated output"
    lines = read(os.path.join(catalogue.ROOT, catalogue.FOLDER, name)).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    own = catalogue.relative(name)
    positioned = 0
    for message in text.splitlines():
        if CERT_FOLDER_WARNING.match(message):
            continue
        summary = LEFT_OUT_SUMMARY.match(message)
        if summary:
            assert summary["file"] == own, message
            continue
        if name in UNPOSITIONED:
            continue
        match = POSITIONED.match(message)
        assert match, f"{name}: no file:line:col in {message!r}"
        assert match["file"] == own, message
        line, column = int(match["line"]), int(match["column"])
        assert line >= 1 and column >= 1, message
        if line == len(lines) + 1:
            assert column == 1, f"{name}: {message!r} points past the end of the file"
        else:
            assert line <= len(lines), f"{name}: {message!r} points below the last line ({len(lines)})"
            assert column <= len(lines[line - 1]) + 1, f"{name}: {message!r} points past the end of its line"
        positioned += 1
    if name in UNPOSITIONED:
        assert positioned == 0 and not POSITIONED.match(text), (
            f"{name} now says where ({UNPOSITIONED[name]}): remove it from UNPOSITIONED")
    else:
        assert positioned >= 1, f"{name}: no message names a position"


@pytest.mark.parametrize("name", [name for name in CASES if "several" not in name])
def test_a_file_with_one_mistake_gets_one_message(name):
    messages = [line for line in read(catalogue.expected_path(name)).splitlines()
                if not CERT_FOLDER_WARNING.match(line) and not LEFT_OUT_SUMMARY.match(line)]
    if name in FOLLOW_UPS:
        assert len(messages) > 1, f"{name}: the follow-up ({FOLLOW_UPS[name]}) is gone: remove it from FOLLOW_UPS"
    else:
        assert len(messages) == 1, f"{name}: one mistake, {len(messages)} messages: {messages}"


def test_files_with_several_mistakes_report_them_all_in_file_order():
    several = [name for name in CASES if "several" in name]
    assert len(several) >= 3, several
    for name in several:
        positions = [(int(m["line"]), int(m["column"]))
                     for m in map(POSITIONED.match, read(catalogue.expected_path(name)).splitlines()) if m]
        assert len(positions) >= 3, f"{name}: {positions}"
        assert positions == sorted(positions), f"{name}: not in file order: {positions}"


def test_the_readme_table_is_current():
    assert read(os.path.join(catalogue.ROOT, catalogue.README)) == catalogue.readme_text(), (
        "Fixtures/invalid/README.md is stale: run with CHANCERY_UPDATE_EXPECTED=1 and review the diff")
