"""Manifests of the imaging and segmentation stages.

``images/manifest.json`` (:class:`ImagesManifest`, written by ``ingest``) lists the
de-identified, windowed images of a case with their view; ``masks/manifest.json``
(:class:`MasksManifest`, written by ``segment``) lists the label maps and the model that made
them. Both name files relative to their own folder.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twinflow.artifacts import Artifact

View = Literal["transversal-cca", "transversal-ica", "longitudinal", "apical-4ch",
               "apical-2ch", "volume"]
ImageKind = Literal["2d", "cine", "volume"]


class ImageEntry(Artifact):
    image: str
    """NIfTI file (float32, spacing and origin in mm as ITK writes them)."""
    sidecar: str
    """JSON sidecar: spacing_m, origin_m, window, normalisation, de-identification."""
    modality: Literal["ultrasound", "echo", "ct", "mr"]
    view: View
    phase: Literal["end-diastole", "end-systole"] | None
    kind: ImageKind
    declared_boxes_blanked: int = Field(default=0, ge=0)
    """Burned-in text boxes declared by the case (``burned_in_text``) and blanked."""
    detected_text_boxes_blanked: int = Field(default=0, ge=0)
    """Text boxes found outside the field of view by ``twinflow.imaging.textdetect`` and
    blanked (2D images and cines; 0 for volumes)."""


class ImagesManifest(Artifact):
    images: list[ImageEntry] = Field(min_length=1)
    deidentification: str
    """The de-identification profile applied to every image (DICOM PS3.15 Annex E)."""


class Mask(Artifact):
    image: str
    """The ingested image segmented (images/<name>)."""
    mask: str
    """The label map (uint8, 0 background, 1.. the classes), same geometry as the image."""
    view: str
    kind: ImageKind


class SkippedImage(Artifact):
    image: str
    reason: str


class ModelInfo(Artifact):
    file: str
    sha256: str
    preset: str | None
    training_data_sha256: str | None


class ComponentCleanup(Artifact):
    enabled: bool
    min_fraction_of_largest: float


class MasksManifest(Artifact):
    anatomy: Literal["carotid", "left-ventricle"]
    classes: list[str]
    labels: dict[str, int]
    """Class name -> label value in the masks."""
    masks: list[Mask]
    skipped: list[SkippedImage]
    model: ModelInfo
    thresholds: list[float]
    """Probability threshold per class, in the order of ``classes``."""
    component_cleanup: ComponentCleanup
    provider: str
    """ONNX Runtime execution provider that ran the model."""
