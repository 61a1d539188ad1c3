"""Synthetic patients with ground truth: carotid bifurcations and left ventricles.

:mod:`~twinflow.imaging.synth.carotid` and :mod:`~twinflow.imaging.synth.lv` define the 3D
truth and render it; :mod:`~twinflow.imaging.synth.ultrasound` forms B-mode-like images and
scanner screens; :mod:`~twinflow.imaging.synth.dataset` writes training sets and demo cases;
:mod:`~twinflow.imaging.synth.figure` draws sample figures (as Geroski et al. 2023, Fig. 4, 6).
"""
