"""Path-free symlinks for source images (:mod:`twinflow.imaging.aliases`, issue 19 item 3)."""

from __future__ import annotations

import os
from pathlib import Path

from twinflow.imaging.aliases import source_alias, source_aliases

SHA = "ab" * 32


def test_alias_is_named_by_hash_and_suffix_and_kept_while_unchanged(tmp_path: Path) -> None:
    image = tmp_path / "DOE^JOHN" / "DOE_JOHN_19610304.NII.GZ"
    image.parent.mkdir()
    image.write_bytes(b"x")
    links = tmp_path / "links"
    link = source_alias(image, SHA, links)
    assert link.name == f"{SHA}.nii.gz" and link.resolve() == image.resolve()
    before = os.lstat(link).st_mtime_ns
    assert source_alias(image, SHA, links) == link and os.lstat(link).st_mtime_ns == before
    other = tmp_path / "other.nii.gz"
    other.write_bytes(b"y")
    assert source_alias(other, SHA, links).resolve() == other.resolve()  # re-pointed
    assert sorted(p.name for p in links.iterdir()) == [link.name]  # no temporary left


def test_folder_has_no_suffix_and_unvalidated_cases_keep_their_paths(tmp_path: Path) -> None:
    series = tmp_path / "series.v2"
    series.mkdir()
    [alias] = source_aliases([str(series)], {"images": [{"sha256": SHA}]}, tmp_path / "l")
    assert Path(alias).name == SHA and Path(alias).is_dir()
    assert source_aliases([str(series)], None, tmp_path / "l") == [str(series)]
    missing = str(tmp_path / "missing.dcm")
    assert source_aliases([missing], {"images": [{"sha256": SHA}]}, tmp_path / "l") == [missing]
