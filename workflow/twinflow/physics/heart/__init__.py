r"""The left ventricle: 3D mechanics coupled to the closed-loop 0D circulation (issue 7).

Model
-----
* **3D LV** (:mod:`~twinflow.physics.heart.model`, on :mod:`~twinflow.physics.heart.mechanics`):
  quasi-static finite-strain mechanics on the case's mesh, Holzapfel--Ogden passive law, LDRB
  fibres at the quadrature points, active stress :math:`T\,\mathbf f_0\otimes\mathbf f_0`,
  :math:`T = T_a(t)\,(1 + \beta_0(\lambda - 1))(1 + c_0\dot\lambda)` (HMT 1998 length and
  linearised velocity dependence on the fibre stretch; ``mechanics.active_stress``),
  :math:`T_a(t)` driven by a calcium transient (:mod:`~twinflow.physics.heart.activation`).
* **0D circulation** (:mod:`~twinflow.physics.heart.circulation`): Regazzoni et al. 2020
  closed loop from the ``circulation`` package with its LV chamber replaced by the 3D LV.
* **Coupling** (:mod:`~twinflow.physics.heart.coupling`): implicit in the LV pressure, the
  cavity pressure being the Lagrange multiplier of :math:`V_{3D} = V_{LV,0D}` each step.
* **Cycle** (:mod:`~twinflow.physics.heart.cycle`): start from a periodic 0D state, beats until
  the LV volume is periodic; the last beat is analysed.

Personalisation (stage ``personalise_lv``, :mod:`~twinflow.physics.heart.personalise`): the
stress-free reference by backward displacement (``unloading``), the passive stiffness fitted to
the Klotz EDPVR (``passive_fit``), contractility and circulation calibrated to the patient's
cuff pressure and volumes (``personalisation.calibrate``, with the 0D ``personalisation.
surrogate``); every scenario starts from that baseline (``personalisation.applied``).

Modules: ``settings`` (what is read from the case), ``activation``,
``model``, ``loading`` (quasi-static ramps), ``circulation``, ``coupling``, ``cycle``,
``inflation`` (the ``inflation`` study), ``outputs`` (series.csv, fields, P-V plot),
``summary`` (summary.json, :mod:`twinflow.artifacts.cycle`); the stage function
``simulate_heart`` (``twinflow simulate-heart``) is in ``cycle``. This module imports nothing, so
:mod:`twinflow.verification.land2015` can use the mechanics alone.

Simplifications (also in summary.json): :data:`twinflow.physics.heart.summary.SIMPLIFICATIONS`.
"""
