"""Tag numbers of the left-ventricle meshes (truncated ellipsoid and personalised LV).

============  =====  ====  ==========================================================
name          value  dim   meaning
============  =====  ====  ==========================================================
BASE          1      2     basal cut plane (``z = z_base``)
ENDO          2      2     endocardium (cavity side)
EPI           3      2     epicardium
MYOCARDIUM    1      3     cell tag of the myocardial wall
ENDOPT        4      0     endocardial apex point ``(0, 0, -r_long_endo)``
EPIPT         5      0     epicardial apex point ``(0, 0, -r_long_epi)``
============  =====  ====  ==========================================================

The names follow fenicsx-pulse / cardiac-geometries (Finsberg et al.) so meshes and settings
can be compared with theirs; the long axis is ``z`` with the apex towards ``-z`` as in
Land et al. 2015 (Proc R Soc A 471:20150641).
"""

from __future__ import annotations

from typing import Final

BASE: Final[int] = 1
ENDO: Final[int] = 2
EPI: Final[int] = 3
MYOCARDIUM: Final[int] = 1
ENDOPT: Final[int] = 4
EPIPT: Final[int] = 5

#: physical-group name -> (tag, dimension), as written into the ``.msh`` file
PHYSICAL_GROUPS: Final[dict[str, tuple[int, int]]] = {
    "BASE": (BASE, 2),
    "ENDO": (ENDO, 2),
    "EPI": (EPI, 2),
    "MYOCARDIUM": (MYOCARDIUM, 3),
    "ENDOPT": (ENDOPT, 0),
    "EPIPT": (EPIPT, 0),
}
