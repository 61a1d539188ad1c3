"""U-Net presets: the paper's architecture and lighter variants from the same builder.

``paper`` is the customised U-Net of Geroski, Jakovljević & Filipović (2023, J Big Data
10:72, Fig. 5): six encoder blocks of two 3×3 convolutions followed by 2×2 max-pooling with
24, 64, 128, 256, 512 and 768 output channels, mirrored decoder blocks of a 2×2
up-convolution, skip concatenation and three 3×3 convolutions, batch normalisation then ReLU
after every 3×3 convolution, "same" padding, and a 1×1 convolution with sigmoid output. The
paper used a static 512×512 input window.

Interpretation (the paper gives no bottleneck channel count): there is no separate bottleneck;
the pooled output of the deepest encoder block feeds the first up-convolution directly, and
each decoder block has as many channels as the skip connection it receives. With six pooling
steps the input side must be divisible by 2⁶ = 64.

The light presets (``small``, ``tiny``) keep exactly this structure with fewer levels and
channels so that a demo model trains on two CPU cores in minutes. They are simplifications
of the paper's model, chosen for this project, not taken from the literature.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twinflow.errors import InputError


@dataclass(frozen=True, slots=True)
class UNetPreset:
    """Hyper-parameters of one U-Net variant.

    ``channels[i]`` is the output channel count of encoder block ``i`` (and of the decoder
    block that receives its skip connection); ``len(channels)`` is the number of pooling
    steps, so ``input_size`` must be divisible by ``2 ** len(channels)``.
    """

    name: str
    channels: tuple[int, ...]
    input_size: int
    encoder_convs: int = 2
    decoder_convs: int = 3

    @property
    def depth(self) -> int:
        return len(self.channels)

    def check_input_size(self, size: int) -> None:
        """Raise :class:`InputError` if ``size`` cannot pass through ``depth`` poolings."""
        factor = 2**self.depth
        if size <= 0 or size % factor:
            raise InputError(f"preset {self.name}: input size {size} is not a positive "
                             f"multiple of 2**depth = {factor}")


PRESETS: dict[str, UNetPreset] = {
    # Geroski et al. 2023, Fig. 5 and section "Image segmentation"; 512×512 static window.
    "paper": UNetPreset("paper", (24, 64, 128, 256, 512, 768), 512),
    # Project choices for CPU demos (not from the paper).
    "small": UNetPreset("small", (8, 16, 32, 64), 256),
    "tiny": UNetPreset("tiny", (8, 16, 32), 64),
}


def get_preset(name: str, input_size: int | None = None) -> UNetPreset:
    """Return preset ``name``, optionally with a different (valid) input size."""
    try:
        preset = PRESETS[name]
    except KeyError:
        raise InputError(f"unknown U-Net preset {name!r}; choose one of "
                         f"{', '.join(sorted(PRESETS))}") from None
    if input_size is not None and input_size != preset.input_size:
        preset = UNetPreset(preset.name, preset.channels, input_size,
                            preset.encoder_convs, preset.decoder_convs)
    preset.check_input_size(preset.input_size)
    return preset


#: Demo model of each anatomy, relative to the project root (see models/README.md); used
#: when a case sets ``segmentation.model: null``.
DEMO_MODELS: dict[str, str] = {
    "carotid": "models/carotid-small/model.onnx",
    "left-ventricle": "models/left-ventricle-small/model.onnx",
}


def model_for_anatomy(anatomy: str, model: str | None, root: Path | None = None) -> Path:
    """The case's ``segmentation.model``, or the committed demo model of its anatomy."""
    root = Path.cwd() if root is None else Path(root)
    if model:
        return root / model
    if anatomy not in DEMO_MODELS:
        raise InputError(f"no demo segmentation model for anatomy {anatomy!r}; "
                         "set segmentation.model")
    return root / DEMO_MODELS[anatomy]
