"""Imaging: reading, de-identification, pre-processing and synthetic patients.

* :mod:`twinflow.imaging.read` — DICOM (file, multi-frame, series folder), NIfTI/MHA, PNG/JPEG
  frames into a :class:`~twinflow.imaging.read.MedicalImage` with physical spacing (SI);
* :mod:`twinflow.imaging.deid` — DICOM PS3.15 basic profile and burned-in text blanking;
* :mod:`twinflow.imaging.preprocess` — static analysis window and intensity normalisation
  (Geroski et al. 2023, J Big Data 10:72);
* :mod:`twinflow.imaging.ingest` — one case's images to ``results/<id>/images/``;
* :mod:`twinflow.imaging.synth` — synthetic carotid and left-ventricle patients with truth.

NIfTI/MHA files written here follow the ITK convention of millimetres for spacing and
origin; every JSON value is SI (``*_m``, ``*_s``, ``*_m3``).
"""
