"""Burned-in text detection (twinflow.imaging.textdetect) on synthetic scanner screens.

The screens of ``twinflow synth`` draw a header with a made-up name, ID and date (their
``burned_in_boxes``), a parameter table (``table_boxes``) and the imaged area (``content``):
the ground truth. No declared box is passed: detection alone must blank the header.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from twinflow.imaging.ingest import ingest
from twinflow.imaging.synth.dataset import make_patient, write_case
from twinflow.imaging.synth.ultrasound import Screen
from twinflow.imaging.textdetect import blank_mask, blank_text, detect_text, intensity

log = logging.getLogger(__name__)

#: Acceptance (issue 19, item 3): >= 95 % of the true header boxes found; what is blanked must
#: lie outside the imaged area (measured 100 %, 40/40 and 0 px on seed 11: docs/conventions.md).
MIN_RECALL = 0.95
MIN_PRECISION = 0.99
#: A true box is found when this fraction of its text pixels is blanked.
FOUND_FRACTION = 0.9


def forty_screens(seed: int = 11) -> list[tuple[str, Screen]]:
    """20 carotid and 20 LV screens (7 carotid patients of 3 views, 5 LV of 4)."""
    carotid = [("carotid", v.screen) for k in range(7)
               for v in make_patient("carotid", k, seed, volumes=False).views]
    lv = [("lv", v.screen) for k in range(5)
          for v in make_patient("lv", k, seed, volumes=False).views]
    return carotid[:20] + lv[:20]


def text_pixels(screen: Screen, box: list[int]) -> tuple[slice, slice, np.ndarray]:
    """The box's slices and its text pixels: brighter than the box's median by 20 grey levels."""
    x0, y0, x1, y1 = box
    rows, cols = slice(max(y0, 0), y1), slice(max(x0, 0), x1)
    region = screen.rgb[rows, cols].max(axis=-1).astype(int)
    return rows, cols, region > np.median(region) + 20


@dataclass
class Score:
    header_found: int = 0
    header_total: int = 0
    table_found: int = 0
    table_total: int = 0
    blanked_px: int = 0
    blanked_in_content_px: int = 0
    blanked_in_text_px: int = 0

    @property
    def recall(self) -> float:
        return self.header_found / self.header_total

    @property
    def precision(self) -> float:
        """Fraction of the blanked area outside the imaged area (text, tables, marks)."""
        return 1.0 - self.blanked_in_content_px / self.blanked_px


def score(screens: list[tuple[str, Screen]]) -> Score:
    s = Score()
    for _, screen in screens:
        blanked = blank_mask(detect_text(intensity(screen.rgb, colour=True)))
        for box in screen.burned_in_boxes:
            rows, cols, text = text_pixels(screen, box)
            s.header_total += 1
            s.header_found += blanked[rows, cols][text].mean() >= FOUND_FRACTION
        for box in screen.table_boxes:
            rows, cols, text = text_pixels(screen, box)
            if text.any():
                s.table_total += 1
                s.table_found += blanked[rows, cols][text].mean() >= FOUND_FRACTION
        near_text = np.zeros(blanked.shape, bool)
        for x0, y0, x1, y1 in screen.burned_in_boxes + screen.table_boxes:
            near_text[max(y0 - 4, 0):y1 + 4, max(x0 - 4, 0):x1 + 4] = True
        s.blanked_px += int(blanked.sum())
        s.blanked_in_content_px += int((blanked & screen.content).sum())
        s.blanked_in_text_px += int((blanked & near_text).sum())
    return s


@pytest.mark.slow  # ~20 s: 8 s to draw the screens, 4 s to detect, the rest to score
def test_forty_screens_recall_and_precision() -> None:
    screens = forty_screens()
    assert len(screens) == 40 and {a for a, _ in screens} == {"carotid", "lv"}
    start = time.perf_counter()
    s = score(screens)
    log.info("40 screens: header recall %d/%d, table lines %d/%d, blanked %d px, %d in the "
             "imaged area (precision %.4f), %.4f within 4 px of drawn text; %.1f s",
             s.header_found, s.header_total, s.table_found, s.table_total, s.blanked_px,
             s.blanked_in_content_px, s.precision, s.blanked_in_text_px / s.blanked_px,
             time.perf_counter() - start)
    assert s.header_total == 40
    assert s.recall >= MIN_RECALL, f"recall {s.header_found}/{s.header_total}"
    assert s.precision >= MIN_PRECISION, \
        f"{s.blanked_in_content_px} of {s.blanked_px} blanked px inside the imaged area"
    # what is blanked is text: within 4 px of a drawn string (the rest: depth marks)
    assert s.blanked_in_text_px / s.blanked_px >= 0.95
    assert s.table_found / s.table_total >= 0.8  # one-glyph keys ("D") are not text


def test_screen_without_text_is_left_alone() -> None:
    rng = np.random.default_rng(3)
    screen = make_patient("lv", 0, 11, volumes=False).views[0].screen
    picture = np.where(screen.content, screen.rgb.max(axis=-1), 10).astype(np.uint8)
    out, n = blank_text(picture)
    assert n == 0 and np.array_equal(out, picture)
    # a frame filled by the image to its edges (no screen): nothing looked for
    full = rng.integers(40, 255, (300, 400)).astype(np.float32)
    assert detect_text(full).boxes == [] and detect_text(full).field_of_view.all()
    # ... but the same with a uniform screen border is a screen (the header is found)
    grey = screen.rgb.max(axis=-1).astype(np.float32)
    assert len(detect_text(grey).boxes) >= 2


def test_text_in_cine_frames_and_field_of_view_kept() -> None:
    screen = make_patient("carotid", 1, 11, volumes=False).views[0].screen
    grey = screen.rgb.max(axis=-1).astype(np.float32)
    cine = np.stack([grey, grey])
    cine[1][screen.content] = 0  # text in every frame, the picture in the first only
    out, n = blank_text(cine)
    assert n >= 2
    rows, cols, text = text_pixels(screen, screen.burned_in_boxes[0])
    assert (out[:, rows, cols][:, text] <= np.median(grey[:2])).all()
    assert np.array_equal(out[0][screen.content], grey[screen.content])
    again, _ = blank_text(cine)
    assert np.array_equal(again, out)  # deterministic


def _nifti(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@pytest.mark.parametrize("anatomy", ["carotid", "lv"])
def test_ingest_blanks_undeclared_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         anatomy: str) -> None:
    monkeypatch.chdir(tmp_path)
    listing = json.loads(write_case(anatomy, seed=5, out=Path("screens")).read_text())
    entry = listing["images"][0]
    header = entry.pop("burned_in_text")[0]  # declared boxes NOT passed
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"anatomy": "carotid" if anatomy == "carotid"
                                else "left-ventricle", "images": [entry],
                                "preprocessing": {"window": [1024, 1024]}}))  # whole screen
    runs = []
    for run in ("a", "b"):
        manifest = ingest(case, tmp_path / run / "manifest.json")
        runs.append({p.name: p.read_bytes() for p in sorted(manifest.parent.iterdir())})
    assert runs[0] == runs[1]  # byte-identical re-ingest with detection
    listed = json.loads((tmp_path / "a" / "manifest.json").read_text())["images"][0]
    assert listed["declared_boxes_blanked"] == 0 and listed["detected_text_boxes_blanked"] >= 2
    sidecar = json.loads((tmp_path / "a" / listed["sidecar"]).read_text())
    assert sidecar["deidentification"]["detected_text_boxes_blanked"] == \
        listed["detected_text_boxes_blanked"]
    image = _nifti(tmp_path / "a" / listed["image"])
    window = sidecar["window"]
    x0, y0, x1, y1 = header
    r0, r1 = max(y0 - window["row0"], 0), min(y1 - window["row0"], window["rows"])
    c0, c1 = max(x0 - window["col0"], 0), min(x1 - window["col0"], window["cols"])
    assert (r1 - r0, c1 - c0) == (y1 - y0, x1 - x0)  # the header lies in the window
    assert float(image[r0:r1, c0:c1].var()) == 0.0
    # without detection the same window shows the text (so the check above can fail)
    from twinflow.imaging.read import read_image
    raw = read_image(entry["path"], pixel_spacing_m=entry["pixel_spacing"]).array
    assert float(raw[y0:y1, x0:x1].var()) > 100.0
