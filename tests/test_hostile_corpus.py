"""The hostile-input corpus (issue 19, item 6) through the real command line.

Each input is built in ``tmp_path`` from code (no binary files in the repository) and run
through ``twinflow canonical`` / ``validate`` / ``ingest`` as a user would, within 10 s: a
refusal is exit 2 with one line on stderr naming the file (and line and key where there is
one), no traceback, and nothing written (the ``-o``/``--out`` target absent). The privacy
inputs (an identifier in a description or an image path) are a documented warning, exit 0,
and an output without the identifier. Most run in-process (``twinflow.cli.main``, bounded
by ``SIGALRM``), a sample in a subprocess to show the terminal gets no traceback either.
With ``tests/imaging/test_hostile_files.py`` (19 image inputs) the corpus has over 40 files;
a property test adds random bytes as ``.png``/``.dcm``/``.yaml``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.imaging.test_hostile_files import png_header_only, us_dicom
from tests.imaging.test_read_ingest import write_case, write_us_dicom
from twinflow.cli import main

LIMIT_S = 10
IMAGE = {"modality": "ultrasound", "view": "transversal-cca", "phase": None,
         "pixel_spacing": [1e-4, 1e-4], "frame": None, "burned_in_text": []}


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in this (main) thread after ``seconds``."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"over {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """``twinflow ARGV`` in this process within :data:`LIMIT_S`: (exit status, stderr)."""
    capsys.readouterr()
    t0 = time.perf_counter()
    with time_limit(LIMIT_S):
        status = main(list(argv))
    assert time.perf_counter() - t0 < LIMIT_S
    return status, capsys.readouterr().err


def subprocess_cli(*argv: str, cwd: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "twinflow", *argv], capture_output=True,
                          text=True, timeout=LIMIT_S, cwd=cwd)
    return proc.returncode, proc.stderr


def assert_refused(status: int, err: str, name: str, *needles: str) -> str:
    assert status == 2, err
    assert "Traceback" not in err and "\x1b" not in err
    lines = [line for line in err.strip().splitlines() if " WARNING " not in line]
    assert len(lines) == 1, err
    assert name in lines[0] and all(n in lines[0] for n in needles), lines[0]
    return lines[0]


# --------------------------------------------------------------------------- case files

CASES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "alias-bomb": ("anatomy: carotid\na: &a [" + ", ".join(["x"] * 10) + "]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)), ("aliases expand",)),
    "recursive-alias": ("anatomy: carotid\nx: &a [*a]\n", ()),
    "deep-nesting": ("anatomy: carotid\nx: " + "[" * 5000 + "]" * 5000 + "\n", ("nest",)),
    "huge-document": ("anatomy: carotid\ndescription: '" + "x" * (2 << 20) + "'\n", ()),
    "power-tower": ("anatomy: carotid\nphysics: {blood: {viscosity: 10**10**10 Pa*s}}\n",
                    ("physics.blood.viscosity",)),
    "overflow": ("anatomy: carotid\nphysics: {outlets: {pressure: 10**400 Pa}}\n",
                 ("physics.outlets.pressure",)),
    "nan-quantity": ("anatomy: carotid\nphysics: {outlets: {pressure: nan Pa}}\n",
                     ("physics.outlets.pressure",)),
    "unknown-key": ("anatomy: carotid\nfoo_bar_baz: 1\n", ("foo_bar_baz",)),
    "terminal-escape-key": ("anatomy: carotid\n\"\\e[31mred\\e[0m\": 1\n", ("\\x1b",)),
    "bool-for-int": ("anatomy: carotid\nsimulation: {cycles: true}\n", ("simulation.cycles",)),
    "yes-for-int": ("anatomy: carotid\nsimulation: {mpi_ranks: yes}\n",
                    ("simulation.mpi_ranks",)),
    "merge-key-bomb": ("anatomy: carotid\n" + "".join(
        f"m{i}: &m{i} {{<<: [{', '.join(f'*m{i - 1}' for _ in range(10))}]}}\n" if i else
        "m0: &m0 {a: [" + ", ".join(["x"] * 10) + "]}\n" for i in range(8)), ()),
    "python-tag": ("anatomy: carotid\ndescription: !!python/object/apply:os.system [touch x]\n",
                   ()),
    "two-documents": ("anatomy: carotid\n---\nanatomy: left-ventricle\n", ()),
    "not-utf8": (b"anatomy: carotid\ndescription: \xff\xfe\xfa\n", ()),
    "nul-bytes": (b"anatomy: carotid\x00\n", ()),
    "png-named-yaml": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, ()),
    "empty": ("", ("empty case file",)),
    "list-document": ("- anatomy: carotid\n", ("mapping",)),
    "unknown-anatomy": ("anatomy: brain\n", ("anatomy",)),
    "scenario-id-with-a-date": ("anatomy: left-ventricle\nscenarios: [{id: doe-19610304}]\n",
                                ("scenarios[0].id", "identifier")),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_hostile_case_file_is_one_line_exit_2_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    text, needles = CASES[kind]
    case = tmp_path / f"{kind}.yaml"
    case.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "case.json"
    status, err = cli(capsys, "canonical", str(case), "-o", str(out))
    assert_refused(status, err, str(case), *needles)
    assert not out.exists() and not (tmp_path / "x").exists()


SPECIAL: dict[str, Callable[[Path], Path]] = {
    "fifo": lambda d: (os.mkfifo(d / "c.yaml"), d / "c.yaml")[1],
    "symlink-loop": lambda d: (os.symlink("c.yaml", d / "c.yaml"), d / "c.yaml")[1],
    "device": lambda d: (os.symlink("/dev/zero", d / "c.yaml"), d / "c.yaml")[1],
    "folder": lambda d: ((d / "c.yaml").mkdir(), d / "c.yaml")[1],
}


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_special_file_as_case_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         kind: str) -> None:
    case = SPECIAL[kind](tmp_path)
    out = tmp_path / "case.json"
    assert_refused(*cli(capsys, "validate", str(case)), str(case))
    assert_refused(*cli(capsys, "canonical", str(case), "-o", str(out)), str(case))
    assert not out.exists()


def test_a_fifo_case_in_a_subprocess_prints_no_traceback(tmp_path: Path) -> None:
    """The terminal's view: a FIFO (which would block a reader for ever) ends in one line."""
    case = SPECIAL["fifo"](tmp_path)
    out = tmp_path / "case.json"
    status, err = subprocess_cli("canonical", str(case), "-o", str(out), cwd=tmp_path)
    assert_refused(status, err, str(case), "not a regular file")
    assert not out.exists()


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_canonical_output_onto_a_special_file_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    case = tmp_path / "c.yaml"
    case.write_text("anatomy: carotid\n")
    out = {"fifo": lambda: (os.mkfifo(tmp_path / "o"), tmp_path / "o")[1],
           "device": lambda: Path("/dev/null"),
           "folder": lambda: ((tmp_path / "o").mkdir(), tmp_path / "o")[1]}[kind]()
    before = os.stat(out)
    status, err = cli(capsys, "canonical", str(case), "-o", str(out))
    assert_refused(status, err, str(out))
    after = os.stat(out)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


# --------------------------------------------------------------------------- images


def mislabelled_png(tmp: Path) -> Path:
    png = png_header_only(tmp / "x.png", 64, 64)
    return png.rename(tmp / "scan.dcm")


def dicom_header_only(tmp: Path) -> Path:
    data = us_dicom(tmp / "full.dcm").read_bytes()
    path = tmp / "cut.dcm"
    path.write_bytes(data[:300])
    return path


def dicom_preamble_only(tmp: Path) -> Path:
    path = tmp / "pre.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM")
    return path


def nifti_garbage(tmp: Path) -> Path:
    path = tmp / "vol.nii.gz"
    path.write_bytes(b"\x1f\x8b" + os.urandom(500))
    return path


IMAGES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "png-named-dcm": (mislabelled_png, ("DICOM",)),
    "dicom-cut-in-header": (dicom_header_only, ("DICOM",)),
    "dicom-preamble-only": (dicom_preamble_only, ("DICOM",)),
    "gzip-garbage-named-nii-gz": (nifti_garbage, ()),
}


@pytest.mark.parametrize("kind", sorted(IMAGES))
def test_hostile_image_through_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      kind: str) -> None:
    make, needles = IMAGES[kind]
    image = make(tmp_path)
    settings = write_case(tmp_path, [{**IMAGE, "path": str(image)}])
    out = tmp_path / "out" / "manifest.json"
    status, err = cli(capsys, "ingest", "--settings", str(settings), "--out", str(out))
    assert_refused(status, err, str(image), *needles)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_dicom_named_png_is_read_by_its_content(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A DICOM named ``.png`` is read as the DICOM its preamble says it is (content decides,
    not the name): the same output as under its own name."""
    dicom = us_dicom(tmp_path / "scan.dcm", 64, 64)
    png = tmp_path / "scan.png"
    png.write_bytes(dicom.read_bytes())
    outs = []
    for image in (dicom, png):
        settings = write_case(tmp_path, [{**IMAGE, "path": str(image), "pixel_spacing": None}],
                              window=[64, 64])
        out = tmp_path / image.suffix[1:] / "manifest.json"
        status, err = cli(capsys, "ingest", "--settings", str(settings), "--out", str(out))
        assert status == 0 and "Traceback" not in err, err
        outs.append((out.parent / "00-transversal-cca.nii.gz").read_bytes())
    assert outs[0] == outs[1]


# --------------------------------------------------------------------------- identifiers


def identifying_case(tmp: Path, description: str) -> Path:
    folder = tmp / "DOE^JOHN_MRN12345678"
    folder.mkdir()
    write_us_dicom(folder / "DOE_JOHN_19610304.dcm",
                   np.random.default_rng(0).integers(0, 255, (64, 64)),
                   PatientName="DOE^JOHN", PatientID="MRN12345678", PatientBirthDate="19610304")
    case = tmp / "c.yaml"
    case.write_text(f"anatomy: carotid\ndescription: {json.dumps(description)}\nimages:\n"
                    "  - {path: DOE^JOHN_MRN12345678/DOE_JOHN_19610304.dcm, "
                    "modality: ultrasound, view: transversal-cca}\n")
    return case


@pytest.mark.parametrize("description", [
    "Carotid of a 61-year-old man", "John Doe, MRN12345678, born 4 March 1961, "
    "john.doe@example.org, +44 20 7946 0958"])
def test_identifier_in_path_or_description_is_a_warning_and_absent_from_the_output(
        tmp_path: Path, description: str) -> None:
    case = identifying_case(tmp_path, description)
    out = tmp_path / "case.json"
    status, err = subprocess_cli("canonical", str(case), "-o", str(out), cwd=tmp_path)
    assert status == 0 and "Traceback" not in err, err
    data = out.read_text().lower()
    for needle in ("doe", "john", "mrn", "12345678", "1961", "march", "example.org", "7946"):
        assert needle not in data
    warned = "description: identifiers masked" in err
    assert warned == (description != "Carotid of a 61-year-old man"), err
    assert not any(n in err.replace(str(case), "").lower() for n in ("doe", "12345678"))


# --------------------------------------------------------------------------- random bytes


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=4096), suffix=st.sampled_from([".png", ".dcm"]))
def test_random_bytes_as_an_image_are_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, suffix: str) -> None:
    image = tmp_path / f"r{suffix}"
    image.write_bytes(data)
    settings_file = write_case(tmp_path, [{**IMAGE, "path": str(image)}])
    out = tmp_path / "rand" / "manifest.json"
    status, err = cli(capsys, "ingest", "--settings", str(settings_file), "--out", str(out))
    assert_refused(status, err, str(image))
    assert not out.exists()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=2048),
                      st.text(alphabet=st.sampled_from(list("anatomy:carotid {}[]&*!-,'\"\n"
                                                            " 0123456789<>?|#%@`")),
                              max_size=300).map(str.encode)))
def test_random_bytes_as_a_case_file_never_crash(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    """Random bytes may happen to be a valid case (exit 0, output written); anything else is
    exit 2, one line per problem, nothing written; never a traceback, never over 10 s."""
    case = tmp_path / "r.yaml"
    case.write_bytes(data)
    out = tmp_path / "r.json"
    out.unlink(missing_ok=True)
    status, err = cli(capsys, "canonical", str(case), "-o", str(out))
    assert status in (0, 2) and "Traceback" not in err, err
    assert out.exists() == (status == 0)
    if status == 2:
        assert err.strip() and all(line.startswith(str(case)) for line in
                                   err.strip().splitlines() if " WARNING " not in line), err


def test_the_corpus_has_over_40_inputs() -> None:
    from tests.imaging.test_hostile_files import HOSTILE

    assert len(CASES) + len(SPECIAL) + 3 + len(IMAGES) + 1 + 2 + len(HOSTILE) >= 40
    assert np.isfinite(LIMIT_S)
