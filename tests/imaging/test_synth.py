"""Synthetic patients: masks agree with the analytic ground truth; layout; reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from twinflow.imaging.ingest import ingest
from twinflow.imaging.synth.dataset import write_case, write_dataset


def _read(path: Path) -> tuple[np.ndarray, float, tuple[float, float]]:
    img = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(img), img.GetSpacing()[0] * 1e-3, \
        tuple(o * 1e-3 for o in img.GetOrigin())


def carotid_errors(root: Path) -> dict[str, list[float]]:
    """Relative mask-vs-truth errors per patient: CCA lumen/wall area, CCA diameter."""
    manifest = json.loads((root / "manifest.json").read_text())
    errors: dict[str, list[float]] = {"cca_lumen_area": [], "cca_wall_area": [],
                                      "cca_diameter_longitudinal": [], "ica_lumen_area": []}
    for patient in sorted({s["patient"] for s in manifest["samples"]}):
        truth = json.loads((root / patient / "truth.json").read_text())
        p = truth["parameters"]
        r, h = p["cca_diameter_m"] / 2, p["intima_media_thickness_m"]
        mask, sp, _ = _read(root / patient / "transversal-cca.mask.nii.gz")
        errors["cca_lumen_area"].append((mask == 1).sum() * sp**2 / (np.pi * r**2) - 1)
        errors["cca_wall_area"].append(
            (mask == 2).sum() * sp**2 / (np.pi * ((r + h) ** 2 - r**2)) - 1)
        # longitudinal: the cut contains the CCA axis (columns run along z)
        mask, sp, origin = _read(root / patient / "longitudinal.mask.nii.gz")
        view = truth["views"]["longitudinal"]
        off_r, off_c = view["screen_offset_px"]
        z0 = view["origin_m"][2]
        col_pic = int(round((-12e-3 - z0) / sp))          # picture column at z = -12 mm
        col_win = col_pic + off_c - int(round(origin[0] / sp))
        diameter = (mask[:, col_win] == 1).sum() * sp
        errors["cca_diameter_longitudinal"].append(diameter / (2 * r) - 1)
        # ICA cut at the plaque/bulb: lumen component at the true lumen centre, when the
        # ECA lumen is clear of it in that plane
        ica = truth["branches"]["ica"]
        view = truth["views"]["transversal-ica"]
        s_cut = p["plaque_position_m"] if p["plaque_present"] else p["bulb_position_m"]
        arc = np.array(ica["arclength_m"])
        r_l = float(np.interp(s_cut, arc, ica["lumen_radius_m"]))
        offset = np.array([np.interp(s_cut, arc, np.array(ica["lumen_centre_offset_m"])[:, i])
                           for i in range(3)])
        centre = np.array(ica["tangent"]) * s_cut + offset
        eca_dir = np.array(truth["branches"]["eca"]["tangent"])
        gap = np.linalg.norm(centre - (centre @ eca_dir) * eca_dir)
        if gap > r_l + p["eca_diameter_m"] / 2 + 0.5e-3:
            from scipy import ndimage
            mask, sp, origin = _read(root / patient / "transversal-ica.mask.nii.gz")
            rel = centre - np.array(view["origin_m"])
            row = rel @ np.array(view["row_direction"]) / sp + view["screen_offset_px"][0] \
                - origin[1] / sp
            col = rel @ np.array(view["col_direction"]) / sp + view["screen_offset_px"][1] \
                - origin[0] / sp
            labels, _ = ndimage.label(mask == 1)
            lab = labels[int(round(row)), int(round(col))]
            assert lab > 0
            errors["ica_lumen_area"].append((labels == lab).sum() * sp**2 / (np.pi * r_l**2) - 1)
    return errors


def lv_errors(root: Path) -> dict[str, list[float]]:
    """Relative errors: 3D mask volume vs EDV/ESV, echo cavity area, biplane Simpson EDV."""
    manifest = json.loads((root / "manifest.json").read_text())
    errors: dict[str, list[float]] = {"volume_mask_edv": [], "volume_mask_esv": [],
                                      "echo_cavity_area": [], "biplane_simpson_edv": []}
    for patient in sorted({s["patient"] for s in manifest["samples"]}):
        truth = json.loads((root / patient / "truth.json").read_text())
        for phase, key in (("end-diastole", "edv"), ("end-systole", "esv")):
            f = root / patient / f"volume-{phase}.mask.nii.gz"
            if f.exists():
                img = sitk.ReadImage(str(f))
                v = (sitk.GetArrayViewFromImage(img) == 1).sum() * np.prod(img.GetSpacing()) * 1e-9
                errors[f"volume_mask_{key}"].append(v / truth[f"{key}_m3"] - 1)
        ed = truth["end_diastole"]
        widths = {}
        for view in ("apical-4ch", "apical-2ch"):
            name = f"{view}-end-diastole"
            mask, sp, origin = _read(root / patient / f"{name}.mask.nii.gz")
            vt = truth["views"][name]
            psi = vt["angle_about_long_axis_rad"]
            ax, ay = ed["endo_semi_axis_x_m"], ed["endo_semi_axis_y_m"]
            c = ed["endo_long_semi_axis_m"]
            r_plane = 1 / np.sqrt(np.cos(psi) ** 2 / ax**2 + np.sin(psi) ** 2 / ay**2)
            area = (mask == 1).sum() * sp**2
            errors["echo_cavity_area"].append(area / (np.pi * r_plane * c / 2) - 1)
            # pixel -> LV (lateral, z) with the known probe pose; cavity width per z slab
            rows, cols = vt["shape"]
            off_r, off_c = vt["screen_offset_px"]
            rr, cc = np.nonzero(mask == 1)
            rp = rr + int(round(origin[1] / sp)) - off_r
            cp = cc + int(round(origin[0] / sp)) - off_c
            lat = (cp - (cols - 1) / 2) * sp
            d = (rp + 0.5) * sp
            t = vt["long_axis_tilt_rad"]
            d_r = np.sin(t) * lat + np.cos(t) * d
            z = d_r - vt["apex_depth_m"] - (c + ed["wall_thickness_m"])
            dz = 1e-3
            bins = np.floor(z / dz).astype(int)
            counts = np.bincount(bins - bins.min())
            widths[view] = (bins.min(), counts * sp**2 / dz)   # width = area per slab / dz
        (b1, w1), (b2, w2) = widths["apical-4ch"], widths["apical-2ch"]
        lo, hi = max(b1, b2), min(b1 + len(w1), b2 + len(w2))
        v = sum(np.pi / 4 * w1[k - b1] * w2[k - b2] * dz for k in range(lo, hi))
        errors["biplane_simpson_edv"].append(v / truth["edv_m3"] - 1)
    return errors


def check_layout(root: Path, anatomy: str, classes: list[str], n: int) -> dict:
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["anatomy"] == anatomy and manifest["classes"] == classes
    splits = manifest["splits"]
    ids = splits["train"] + splits["val"] + splits["test"]
    assert len(ids) == len(set(ids)) == n
    for s in manifest["samples"]:
        img = sitk.ReadImage(str(root / s["image"]))
        mask = sitk.ReadImage(str(root / s["mask"]))
        assert img.GetDimension() == 2 and img.GetSize() == mask.GetSize() == (512, 512)
        assert mask.GetPixelID() == sitk.sitkUInt8
        assert img.GetSpacing() == pytest.approx(mask.GetSpacing())
        assert 0.02 < img.GetSpacing()[0] < 1.0  # mm
        assert set(np.unique(sitk.GetArrayViewFromImage(mask))) <= {0, 1, 2}
        assert (root / s["patient"] / "truth.json").is_file()
    return manifest


def test_carotid_dataset_small(tmp_path: Path) -> None:
    out = tmp_path / "carotid"
    write_dataset("carotid", 3, seed=11, out=out)
    manifest = check_layout(out, "carotid", ["lumen", "wall"], 3)
    assert {len(v) for v in manifest["splits"].values()} == {1}
    assert {s["view"] for s in manifest["samples"]} == {"transversal-cca", "transversal-ica",
                                                       "longitudinal"}
    assert (out / "carotid-000" / "lumen.vtp").is_file()
    errors = carotid_errors(out)
    assert max(abs(e) for e in errors["cca_lumen_area"]) < 0.03
    assert max(abs(e) for e in errors["cca_wall_area"]) < 0.10
    assert max(abs(e) for e in errors["cca_diameter_longitudinal"]) < 0.05
    # reproducible: same seed, same pixels
    again = tmp_path / "again"
    write_dataset("carotid", 3, seed=11, out=again)
    a, _, _ = _read(out / "carotid-001" / "longitudinal.image.nii.gz")
    b, _, _ = _read(again / "carotid-001" / "longitudinal.image.nii.gz")
    assert np.array_equal(a, b)
    assert (out / "manifest.json").read_bytes() == (again / "manifest.json").read_bytes()


def test_lv_dataset_small(tmp_path: Path) -> None:
    out = tmp_path / "lv"
    write_dataset("lv", 3, seed=5, out=out)
    manifest = check_layout(out, "left-ventricle", ["cavity", "myocardium"], 3)
    assert len(manifest["volumes"]) == 6
    truth = json.loads((out / "lv-000" / "truth.json").read_text())
    assert 50e-6 < truth["edv_m3"] < 200e-6 and 0.35 < truth["ejection_fraction"] < 0.75
    errors = lv_errors(out)
    assert max(abs(e) for e in errors["volume_mask_edv"]) < 0.03
    assert max(abs(e) for e in errors["volume_mask_esv"]) < 0.04
    assert max(abs(e) for e in errors["echo_cavity_area"]) < 0.04
    assert max(abs(e) for e in errors["biplane_simpson_edv"]) < 0.08


def test_demo_case_ingests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    images = write_case("carotid", seed=7, out=Path("cases/data/carotid-demo"))
    size = sum(f.stat().st_size for f in images.parent.iterdir())
    assert size < 1_000_000
    listing = json.loads(images.read_text())
    assert len(listing["images"]) == 3
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"anatomy": "carotid", "images": listing["images"],
                                "preprocessing": {}}))
    manifest = ingest(case, tmp_path / "results" / "demo" / "images" / "manifest.json")
    assert len(list(manifest.parent.iterdir())) == 7
    from twinflow.imaging.read import read_image
    entry = listing["images"][0]
    raw = read_image(entry["path"], pixel_spacing_m=entry["pixel_spacing"],
                     burned_in_boxes=entry["burned_in_text"])
    x0, y0, x1, y1 = entry["burned_in_text"][0]
    assert raw.array[y0:y1, x0:x1].max() == 0


@pytest.mark.slow
@pytest.mark.parametrize("anatomy", ["carotid", "lv"])
def test_forty_patients(tmp_path: Path, anatomy: str) -> None:
    out = tmp_path / anatomy
    write_dataset(anatomy, 40, seed=0, out=out, figure=tmp_path / "fig.png",
                  volumes=anatomy == "lv")
    assert (tmp_path / "fig.png").stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert [len(manifest["splits"][k]) for k in ("train", "val", "test")] == [32, 4, 4]
    errors = carotid_errors(out) if anatomy == "carotid" else lv_errors(out)
    summary = {k: (len(v), float(np.mean(np.abs(v))), float(np.max(np.abs(v))))
               for k, v in errors.items() if v}
    print(anatomy, summary)
    limits = {"cca_lumen_area": 0.03, "cca_wall_area": 0.10, "cca_diameter_longitudinal": 0.05,
              "ica_lumen_area": 0.05, "volume_mask_edv": 0.03, "volume_mask_esv": 0.04,
              "echo_cavity_area": 0.04, "biplane_simpson_edv": 0.08}
    for key, (_, _, worst) in summary.items():
        assert worst < limits[key], (key, worst)
