"""The U-Net builder: the paper's architecture, one training step, ONNX export parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from twinflow.errors import InputError  # noqa: E402
from twinflow.segmentation.export import check_parity, export_onnx  # noqa: E402
from twinflow.segmentation.infer import load_model  # noqa: E402
from twinflow.segmentation.presets import PRESETS, get_preset  # noqa: E402
from twinflow.segmentation.unet import bce_dice_loss, build_unet, compile_unet  # noqa: E402

PAPER_CHANNELS = (24, 64, 128, 256, 512, 768)  # Geroski et al. 2023, Fig. 5


def check_paper_layers(model: keras.Model, n_classes: int) -> None:
    layers = {layer.name: layer for layer in model.layers}
    for i, ch in enumerate(PAPER_CHANNELS):
        for j in range(2):  # two 3x3 convolutions per encoder block
            conv = layers[f"enc{i}_conv{j}"]
            assert isinstance(conv, keras.layers.Conv2D)
            assert conv.filters == ch and conv.kernel_size == (3, 3) and conv.padding == "same"
            # batch normalisation then ReLU after each convolution
            assert isinstance(layers[f"enc{i}_conv{j}_bn"], keras.layers.BatchNormalization)
            assert isinstance(layers[f"enc{i}_conv{j}_relu"], keras.layers.ReLU)
        assert f"enc{i}_conv2" not in layers
        pool = layers[f"enc{i}_pool"]
        assert isinstance(pool, keras.layers.MaxPooling2D) and pool.pool_size == (2, 2)
        up = layers[f"dec{i}_upconv"]
        assert isinstance(up, keras.layers.Conv2DTranspose)
        assert up.kernel_size == (2, 2) and up.strides == (2, 2)
        assert isinstance(layers[f"dec{i}_concat"], keras.layers.Concatenate)
        for j in range(3):  # three 3x3 convolutions per decoder block
            conv = layers[f"dec{i}_conv{j}"]
            assert conv.filters == ch and conv.kernel_size == (3, 3) and conv.padding == "same"
            assert isinstance(layers[f"dec{i}_conv{j}_relu"], keras.layers.ReLU)
        assert f"dec{i}_conv3" not in layers
    # encoder output channels in order 24 ... 768
    enc_out = [layers[f"enc{i}_conv1"].filters for i in range(len(PAPER_CHANNELS))]
    assert tuple(enc_out) == PAPER_CHANNELS
    out = layers["probabilities"]
    assert out.kernel_size == (1, 1) and out.filters == n_classes
    assert out.activation is keras.activations.sigmoid
    n_conv3 = sum(1 for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
                  and not isinstance(layer, keras.layers.Conv2DTranspose)
                  and layer.kernel_size == (3, 3))
    assert n_conv3 == 6 * 2 + 6 * 3


def test_paper_preset_matches_paper() -> None:
    preset = PRESETS["paper"]
    assert preset.channels == PAPER_CHANNELS and preset.input_size == 512
    check_paper_layers(build_unet(preset, 2), 2)


def _one_step_export_parity(preset_name: str, input_size: int, tmp_path: Path) -> None:
    keras.utils.set_random_seed(1)
    preset = get_preset(preset_name, input_size=input_size)
    model = compile_unet(build_unet(preset, 2))
    rng = np.random.default_rng(0)
    x = rng.random((1, input_size, input_size, 1), dtype=np.float32)
    y = (rng.random((1, input_size, input_size, 2)) > 0.5).astype(np.float32)
    before = model.get_layer("enc0_conv0").get_weights()[0].copy()
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert not np.allclose(before, model.get_layer("enc0_conv0").get_weights()[0])
    path = export_onnx(model, tmp_path / f"{preset_name}.onnx",
                       {"anatomy": "carotid", "classes": ["lumen", "wall"], "preset": preset_name,
                        "preprocessing": {"input_size": input_size, "percentile_low": 1.0,
                                          "percentile_high": 99.0, "antialias": True,
                                          "version": 1}})
    parity = check_parity(model, path, seed=3)  # two uniform random images
    assert parity.samples == 2
    assert parity.max_abs_diff <= 1e-4, parity
    loaded = load_model(path)
    assert loaded.classes == ("lumen", "wall") and loaded.metadata["preset"] == preset_name
    # dynamic batch: three images at once
    out = loaded.predict(rng.random((3, input_size, input_size, 1), dtype=np.float32))
    assert out.shape == (3, input_size, input_size, 2)


def test_small_preset_trains_exports_and_matches_onnx(tmp_path: Path) -> None:
    _one_step_export_parity("small", 128, tmp_path)


@pytest.mark.slow
def test_paper_preset_trains_exports_and_matches_onnx(tmp_path: Path) -> None:
    """Acceptance: the paper preset at its 512x512 window trains one step, exports, and
    Keras vs ONNX Runtime agree to 1e-4 on random input (~3 min on 2 CPU cores)."""
    check_paper_layers(build_unet(PRESETS["paper"], 2), 2)
    _one_step_export_parity("paper", 512, tmp_path)


def test_input_size_must_survive_pooling() -> None:
    with pytest.raises(InputError, match="multiple of"):
        get_preset("paper", input_size=96)
    with pytest.raises(InputError, match="unknown U-Net preset"):
        get_preset("huge")


def test_loss_is_zero_for_perfect_prediction_and_positive_otherwise() -> None:
    y = np.zeros((1, 8, 8, 2), np.float32)
    y[0, 2:5, 2:5, 0] = 1.0
    y[0, 5:7, 1:7, 1] = 1.0
    perfect = np.clip(y, 1e-7, 1 - 1e-7)
    assert float(bce_dice_loss(y, perfect)) < 1e-3
    assert float(bce_dice_loss(y, 1.0 - perfect)) > 1.0
