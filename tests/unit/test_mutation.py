"""harness.mutation's pure parts: the catalogue, the verdict, the table and the command line
(the conformance runs themselves are replaced; tests/conformance runs the real ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import mutation
from harness.mutation import (
    Catalogue,
    CatalogueError,
    FaultSpec,
    RunResult,
    Verdict,
    judge,
    load_catalogue,
    matches,
)
from tests.unit.conftest import WriteFile

REPO = Path(__file__).resolve().parents[2]

CATALOGUE = """
switch: "MY_FAULTS={fault}"
faults:
  silent:
    fail: ["request_reply[*]", "alive"]
  slow:
    fail: ["budget[*]"]
    select: "budget or request_reply"
  down:
    fail: ["*"]
    message: "HTTP 404"
"""


# ------------------------------------------------------------------------------ catalogue
def test_a_catalogue_loads_with_its_switch(write: WriteFile) -> None:
    catalogue = load_catalogue(write("faults.yaml", CATALOGUE))
    assert catalogue.switch == "MY_FAULTS={fault}"
    assert list(catalogue.faults) == ["silent", "slow", "down"]
    assert catalogue.faults["silent"] == FaultSpec("silent", ("request_reply[*]", "alive"))
    assert catalogue.faults["slow"].select == "budget or request_reply"
    assert catalogue.faults["down"].as_dict() == {
        "fail": ["*"],
        "select": None,
        "message": "HTTP 404",
    }


def test_the_switch_is_optional_in_the_file(write: WriteFile) -> None:
    catalogue = load_catalogue(write("faults.yaml", 'faults: {a: {fail: ["x"]}}'))
    assert catalogue.switch is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("faults: [a, b]", "a mapping with a 'faults:' mapping"),
        ("- a", "a mapping with a 'faults:' mapping"),
        ("faults: {}", "lists no faults"),
        ("faults:\n  a: [x]", "fault 'a': expected a mapping with 'fail:'"),
        ("faults:\n  a: {fail: []}", "'fail' must be a non-empty list"),
        ("faults:\n  a: {fail: x}", "'fail' must be a non-empty list"),
        ("faults:\n  a: {fail: [1]}", "'fail' must be a non-empty list"),
        ("faults:\n  a: {fail: [x], selct: y}", "unknown key(s) selct"),
        ("faults:\n  a: {fail: [x], select: [y]}", "'select' must be a string"),
        ('switch: "MY_FAULTS"\nfaults: {a: {fail: [x]}}', "is not a switch"),
        ('switch: "MY_FAULTS=x"\nfaults: {a: {fail: [x]}}', "with {fault} where its name goes"),
        ("faults: {a: {fail: [x]}\n", "invalid YAML"),
    ],
)
def test_a_malformed_catalogue_is_one_line_naming_the_file(
    write: WriteFile, text: str, says: str
) -> None:
    path = write("faults.yaml", text)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert says in message and str(path) in message and "\n" not in message


def test_the_line_of_a_bad_fault_is_named(write: WriteFile) -> None:
    path = write("faults.yaml", "faults:\n  good: {fail: [x]}\n  bad:\n    fail: []\n")
    with pytest.raises(CatalogueError, match=rf"{path}:4: fault 'bad'"):
        load_catalogue(path)


def test_a_missing_catalogue_says_so(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "nope.yaml")


def test_faults_are_selected_by_name_or_glob(write: WriteFile) -> None:
    catalogue = load_catalogue(write("faults.yaml", CATALOGUE))
    assert [s.name for s in catalogue.selected()] == ["silent", "slow", "down"]
    assert [s.name for s in catalogue.selected(["s*"])] == ["silent", "slow"]
    assert [s.name for s in catalogue.selected(["down", "slow"])] == ["slow", "down"]
    with pytest.raises(CatalogueError, match=r"no fault of .* matches; faults: silent, slow"):
        catalogue.selected(["nothing*"])


def test_the_switch_and_select_make_the_run_arguments() -> None:
    spec = FaultSpec("slow", ("budget[*]",), select="budget")
    assert mutation.fault_args(spec, "MY_FAULTS={fault}", ["--ws-config=c.yaml"]) == [
        "--ws-env=MY_FAULTS=slow",
        "--ws-config=c.yaml",
        "-k",
        "budget",
    ]
    assert mutation.switch_for("A={fault},extra", "x") == "A=x,extra"


def test_the_command_runs_the_bundled_scenarios_into_the_junit_file(tmp_path: Path) -> None:
    command = mutation.conformance_command(tmp_path / "j.xml", "-k", "x")
    assert command[1:3] == ["-m", "pytest"]
    assert f"--junitxml={tmp_path / 'j.xml'}" in command and command[-2:] == ["-k", "x"]


def test_the_repository_catalogue_covers_every_fault_of_the_reference_target() -> None:
    from target.faults import CONTRACT_COMPLIANT, FAULTS

    catalogue = load_catalogue(REPO / "tests" / "conformance" / "faults.yaml")
    assert catalogue.switch is not None and "{fault}" in catalogue.switch
    assert set(catalogue.faults) == set(FAULTS) - CONTRACT_COMPLIANT
    assert len(catalogue.faults) >= 30


# ------------------------------------------------------------------------------ verdict
def test_matches_treats_brackets_literally() -> None:
    assert matches("heartbeat[*]", "heartbeat[permissions-user]")
    assert matches("*[permissions_user-*]", "ping[permissions_user-user]")
    assert not matches("heartbeat[*]", "heartbeat")
    assert not matches("ping[*]", "ping_x[permissions-user]")
    assert matches("push_to_role", "push_to_role") and not matches("push", "push_to_role")


def run(code: int, failed: list[str], output: str = "", total: int = 10) -> RunResult:
    return RunResult(code, output, failed, total)


def test_caught_when_exactly_the_named_scenarios_fail() -> None:
    verdict = judge("silent", ["request_reply[*]", "alive"], run(1, ["request_reply[a]", "alive"]))
    assert verdict.caught and verdict.problems == ()
    assert verdict.caught_by == ("request_reply[a]", "alive")


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        (run(0, []), "the run passed"),
        (run(1, ["request_reply[a]"]), "nothing failed for ['alive']"),
        (run(1, ["request_reply[a]", "alive", "other[x]"]), "unrelated scenarios failed"),
        (run(2, [], total=0), "pytest exit code 2"),
        (run(2, [], total=0), "no test ran"),
        (run(-1, [], total=0), "did not complete"),
    ],
)
def test_not_caught_says_why(result: RunResult, problem: str) -> None:
    verdict = judge("silent", ["request_reply[*]", "alive"], result)
    assert not verdict.caught
    assert any(problem in p for p in verdict.problems), verdict.problems


def test_a_required_message_must_be_in_the_output() -> None:
    failed = ["a", "b"]
    assert judge("down", ["*"], run(1, failed, "handshake: HTTP 404"), "HTTP 404").caught
    verdict = judge("down", ["*"], run(1, failed, "HTTP 500"), "HTTP 404")
    assert not verdict.caught and verdict.problems == ("the output does not say 'HTTP 404'",)
    assert "HTTP 500" in mutation.explain(verdict)


def test_unrelated_failures_are_not_counted_as_catching() -> None:
    verdict = judge("f", ["a[*]"], run(1, ["a[1]", "b"]))
    assert verdict.caught_by == ("a[1]",)


# ------------------------------------------------------------------------------ report
def test_scenarios_of_groups_cases() -> None:
    tests = ["request_reply[ping-a]", "request_reply[ping-b]", "subscribe", "x[1]"]
    assert mutation.scenarios_of(tests) == "request_reply (2), subscribe, x"
    assert mutation.scenarios_of([]) == ""
    many = [f"s{i}[x]" for i in range(5)] + ["s0[y]"]
    assert mutation.scenarios_of(many, limit=2) == "s0 (2), s1 and 3 more scenarios (6 tests)"


def test_score_and_percent() -> None:
    assert mutation.score_line(40, 40) == "40/40 (100%)"
    assert mutation.score_line(37, 40) == "37/40 (92.5%)"
    assert mutation.percent(0, 0) == "0%"


def test_render_lists_every_fault_and_the_score() -> None:
    verdicts = [
        Verdict("slow", True, ("budget[a]", "budget[b]")),
        Verdict("down", False, (), ("the run passed (no scenario failed)",)),
    ]
    lines = mutation.render(verdicts)
    assert lines[0].split() == ["fault", "caught", "by"]
    assert lines[1].split() == ["down", "NO", "the", "run", "passed", "(no", "scenario", "failed)"]
    assert lines[2].split() == ["slow", "yes", "budget", "(2)"]
    assert lines[-1] == "score: 1/2 (50%)"


def test_the_session_summary_has_the_score_and_every_fault() -> None:
    lines = mutation.summary("fault catalogue", {"b": (False, ""), "a": (True, "x (2), y")})
    assert lines[0] == "fault catalogue: 1/2 caught (50%)"
    assert lines[1].split() == ["a", "x", "(2),", "y"]
    assert lines[2].split()[:3] == ["b", "NOT", "CAUGHT"]


# ------------------------------------------------------------------------------ command line
@pytest.fixture
def fake_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[str]]]:
    """run_fault replaced: records (fault, switch, extra args); faults named 'miss*' escape."""
    calls: list[tuple[str, str, list[str]]] = []

    def run_fault(spec: FaultSpec, switch: str, extra: list[str], timeout: float) -> Verdict:
        calls.append((spec.name, switch, list(extra)))
        if spec.name.startswith("miss"):
            return Verdict(spec.name, False, (), ("the run passed (no scenario failed)",))
        return Verdict(spec.name, True, tuple(p.replace("*", "x") for p in spec.fail))

    monkeypatch.setattr(mutation, "run_fault", run_fault)
    return calls


def test_main_prints_the_table_and_the_score(
    write: WriteFile, fake_runs: list, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write("faults.yaml", CATALOGUE)
    code = mutation.main(["--catalogue", str(path), "--workers", "1", "--ws-config", "c.yaml"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-1] == "score: 3/3 (100%)"
    assert any(line.split()[:3] == ["silent", "yes", "request_reply,"] for line in out)
    assert sorted(fake_runs) == [
        ("down", "MY_FAULTS={fault}", ["--ws-config=c.yaml"]),
        ("silent", "MY_FAULTS={fault}", ["--ws-config=c.yaml"]),
        ("slow", "MY_FAULTS={fault}", ["--ws-config=c.yaml"]),
    ]


def test_main_fails_below_100_percent_and_passes_switch_select_and_pytest_args(
    write: WriteFile, fake_runs: list, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write("faults.yaml", CATALOGUE.replace("silent:", "missed:"))
    argv = ["--catalogue", str(path), "-k", "missed,slow", "--switch", "X={fault}"]
    code = mutation.main([*argv, "--", "--ws-strict-frames"])
    out = capsys.readouterr().out
    assert code == 1 and "score: 1/2 (50%)" in out
    assert sorted(fake_runs) == [
        ("missed", "X={fault}", ["--ws-strict-frames"]),
        ("slow", "X={fault}", ["--ws-strict-frames"]),
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--catalogue", "missing.yaml"], "missing.yaml: cannot read"),
        (["--switch", "NOSLOT"], "--switch: 'NOSLOT' is not a switch"),
        (["-k", "nothing"], "no fault of"),
    ],
)
def test_main_usage_errors_are_one_line_and_exit_2(
    write: WriteFile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_runs: list,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    says: str,
) -> None:
    write("faults.yaml", CATALOGUE)
    monkeypatch.chdir(tmp_path)
    if "--catalogue" not in argv:
        argv = ["--catalogue", "faults.yaml", *argv]
    assert mutation.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and not fake_runs


def test_main_without_a_catalogue_asks_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert mutation.main([]) == 2
    err = capsys.readouterr().err
    assert "give the fault catalogue with --catalogue PATH" in err


def test_main_without_any_switch_says_where_to_declare_it(
    write: WriteFile, fake_runs: list, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write("faults.yaml", 'faults: {a: {fail: ["x"]}}')
    assert mutation.main(["--catalogue", str(path)]) == 2
    assert "no switch; add 'switch:" in capsys.readouterr().err


def test_read_junit_counts_failures_and_errors(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        "<testsuites><testsuite>"
        '<testcase name="a"/><testcase name="b"><failure/></testcase>'
        '<testcase name="c"><error/></testcase><testcase name="d"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    assert mutation.read_junit(junit) == (["b", "c"], 4)
    assert mutation.read_junit(tmp_path / "none.xml") == ([], 0)
    (tmp_path / "bad.xml").write_text("<testsuites")
    assert mutation.read_junit(tmp_path / "bad.xml") == ([], 0)


def test_catalogue_is_plain_data() -> None:
    catalogue = Catalogue(Path("f.yaml"), {"a": FaultSpec("a", ("x",))}, "S={fault}")
    assert catalogue.selected(["a"]) == [FaultSpec("a", ("x",))]
