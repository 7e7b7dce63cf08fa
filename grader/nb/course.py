"""`zth nbgrader init DIR`: a ready nbgrader course, one assignment per lecture.

    DIR/nbgrader_config.py           course id, gradebook, Execute.timeout from course.yaml, the
                                     student modules excluded from overwriting, our autograde
                                     pipeline (the kernel sandboxed, the course folder verified,
                                     the scores the grader's) and feedback without hidden tests
    DIR/source/<id>/<id>.ipynb       the lecture's notebook (solutions, test cells for course.yaml)
    DIR/source/<id>/<package>/*.py   the stub modules the student fills in (as in assignments/)

Then plain nbgrader: generate_assignment, release_assignment, collect, autograde, formgrader,
generate_feedback, export.
"""
from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..build import strip_solutions
from ..config import DEFAULT_COURSE, ROOT, Course
from .release import source_notebook, text

NOTEBOOKS = ROOT / "reference" / "notebooks"


class InitError(Exception):
    pass


def available(course: Course) -> list[str]:
    """Lectures that have a reference notebook and a reference package."""
    return [lid for lid, lec in course.lectures.items()
            if (NOTEBOOKS / f"{lid}.ipynb").is_file()
            and (ROOT / "reference" / lec.package).is_dir()]


def package_files(package: str) -> dict[str, str]:
    """Relative path (under the package folder's parent) -> stub text, like `zth build`."""
    pkg_dir = ROOT / "reference" / package
    out = {}
    for f in sorted(pkg_dir.rglob("*")):
        rel = f.relative_to(pkg_dir.parent)
        if f.is_dir() or "__pycache__" in rel.parts or f.suffix == ".pyc":
            continue
        out[rel.as_posix()] = strip_solutions(f.read_text(), str(f)) if f.suffix == ".py" \
            else f.read_text()
    return out


def execute_timeout(course: Course) -> int:
    """Seconds per notebook cell: no test cell grades more than its lecture's checks' limits."""
    return int(max(sum(course.timeout_for(c) for c in lec.checks)
                   for lec in course.lectures.values()))


def config_text(course: Course, course_file: Path, lectures: list[str],
                excluded: dict[str, list[str]]) -> str:
    lines = [
        (f'"""nbgrader configuration for "{course.course}", written by `zth nbgrader init` '
         f'(zth {__version__}).'),
        "",
        "Each test cell's score comes from the zth grader, run in its sandbox on the student's",
        "modules outside the notebook's kernel (grader/nb/autograde.py); the kernel's own output",
        'cannot change it. Re-run `zth nbgrader init --force` after editing course.yaml."""',
        "import os",
        "import sys",
        "",
        "# nbgrader runs `alembic` (gradebook) and the kernel's `python` as commands: use the ones",
        "# installed beside this Python, even when its environment is not activated",
        'os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable),',
        '                                      os.environ.get("PATH", "")])',
        "# one thread per kernel: notebooks train small models, where more threads only contend",
        '# (several times slower on a busy grading machine)',
        'os.environ.setdefault("OMP_NUM_THREADS", "1")',
        "HERE = os.path.dirname(os.path.abspath(__file__))",
        "",
        "c = get_config()  # noqa: F821",
        'c.CourseDirectory.course_id = "zth"',
        "c.CourseDirectory.root = HERE",
        'c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")',
        ("# a test cell grades its checks in the sandbox; "
         "no cell needs more than this (course.yaml)"),
        f"c.Execute.timeout = {execute_timeout(course)}",
        "# the student's modules are what is graded: never overwrite them with the stubs",
        "c.Autograde.exclude_overwriting = {",
        *[line for lid, files in excluded.items()
          for line in (f'    "{lid}": [', *(f'        "{f}",' for f in files), "    ],")],
        "}",
        "# a submitted notebook's graded cells get back the metadata the gradebook recorded",
        "c.Autograde.sanitize_preprocessors = [",
        '    "nbgrader.preprocessors.ClearOutput",',
        '    "nbgrader.preprocessors.DeduplicateIds",',
        '    "nbgrader.preprocessors.OverwriteKernelspec",',
        '    "grader.nb.autograde.ZthRestoreCells",',
        '    "nbgrader.preprocessors.OverwriteCells",',
        '    "nbgrader.preprocessors.CheckCellMetadata",',
        "]",
        "c.Autograde.autograde_preprocessors = [",
        '    "grader.nb.autograde.ZthGrade",          # grade the modules, before any kernel runs',
        ('    "grader.nb.autograde.SafeExecute",       '
         '# kernel sandboxed; course folder verified'),
        '    "nbgrader.preprocessors.IgnorePattern",',
        '    "nbconvert.preprocessors.ClearMetadataPreprocessor",',
        '    "nbgrader.preprocessors.LimitOutput",',
        ('    "grader.nb.autograde.ZthVerdicts",       '
         '# test cell outputs := the grader\'s verdicts'),
        '    "nbgrader.preprocessors.SaveAutoGrades",',
        '    "nbgrader.preprocessors.AssignLatePenalties",',
        '    "nbgrader.preprocessors.CheckCellMetadata",',
        ('    "grader.nb.autograde.ZthSeal",           '
         "# the gradebook's test cell scores := the grader's"),
        "]",
        "# feedback shows no hidden tests (their verdicts are already summed, never named), and",
        "# reads well offline: maths as plain text (no MathJax CDN), long lines wrapped",
        "c.GenerateFeedback.preprocessors = [",
        '    "nbgrader.preprocessors.GetGrades",',
        '    "nbgrader.preprocessors.ClearHiddenTests",',
        '    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",',
        '    "grader.nb.feedback.ZthFeedback",        # maths as text, long lines wrapped',
        "]",
    ]
    if Path(course_file).resolve() != DEFAULT_COURSE.resolve():
        lines.append(f"c.ZthGrade.course_file = {str(Path(course_file).resolve())!r}")
    lines += ["# c.ZthGrade.seed = 1234  # replay a grading run (each test cell shows its seed)",
              '# c.SafeExecute.isolation = "process"  # a weaker sandbox for the notebook kernel',
              f"# assignments: {', '.join(lectures)}", ""]
    return "\n".join(lines)


def init_course(dest: Path, course: Course, course_file: Path, lectures: list[str] | None = None,
                force: bool = False) -> list[Path]:
    """Write the course; returns the files written (relative to dest)."""
    have = available(course)
    if lectures:
        if missing := [lid for lid in lectures if lid not in have]:
            raise InitError(f"no reference notebook yet for {', '.join(missing)} (have: "
                            f"{', '.join(have) or 'none'}; looked in {NOTEBOOKS})")
    else:
        lectures = have
    if not lectures:
        raise InitError(f"no lecture has a reference notebook in {NOTEBOOKS}")
    config = dest / "nbgrader_config.py"
    if config.exists() and not force:
        raise InitError(f"{config} exists; use --force to rewrite it and source/ of "
                        f"{', '.join(lectures)}")
    files: dict[Path, str] = {}
    excluded = {}
    for lid in lectures:
        lec = course.lecture(lid)
        nb = source_notebook(NOTEBOOKS / f"{lid}.ipynb", course)
        files[Path("source", lid, f"{lid}.ipynb")] = text(nb)
        stubs = package_files(lec.package)
        excluded[lid] = sorted(stubs)
        for rel, body in stubs.items():
            files[Path("source", lid, rel)] = body
    files[Path("nbgrader_config.py")] = config_text(course, course_file, lectures, excluded)
    for rel, body in files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(body)
    return sorted(files)
