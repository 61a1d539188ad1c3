"""U-Net builder (Keras 3) and its loss.

Architecture (Geroski, Jakovljević & Filipović 2023, J Big Data 10:72, Fig. 5), for a preset
with channels :math:`c_0, \\dots, c_{D-1}` (see :mod:`twinflow.segmentation.presets`):

* encoder block ``i``: ``encoder_convs`` × [3×3 conv (``c_i``, same padding) → batch norm →
  ReLU], whose output is kept as skip ``i``, then 2×2 max-pooling;
* decoder block ``i`` (``i = D-1 … 0``): 2×2 up-convolution (transposed convolution, stride 2,
  ``c_i`` filters) → concatenation with skip ``i`` → ``decoder_convs`` × [3×3 conv (``c_i``)
  → batch norm → ReLU];
* output: 1×1 convolution with one channel per class and a sigmoid.

Layer names are stable (``enc{i}_conv{j}``, ``enc{i}_pool``, ``dec{i}_upconv``,
``dec{i}_concat``, ``dec{i}_conv{j}``, ``probabilities``) so tests can inspect them.

Loss (Geroski et al. 2023: "a mix of binary cross-entropy and soft dice coefficient"):

.. math::
    L = \\mathrm{BCE}(y, p) + 1 - \\frac{1}{C}\\sum_c
        \\frac{2\\sum_i y_{ic} p_{ic} + \\epsilon}{\\sum_i y_{ic} + \\sum_i p_{ic} + \\epsilon}

with the sums over all pixels of the batch, :math:`\\epsilon = 1`.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from twinflow.segmentation.presets import UNetPreset

SOFT_DICE_EPSILON = 1.0
#: Output bias at initialisation: log-odds of a prior foreground fraction pi = 0.05,
#: b = -ln((1 - pi) / pi), as in Lin et al. 2017 (focal loss, "prior" initialisation), so that
#: training does not start by predicting p = 0.5 on the mostly-background pixels.
OUTPUT_BIAS_INIT = -math.log((1.0 - 0.05) / 0.05)
#: Moving-average momentum of batch normalisation (project choice: 0.9 instead of Keras'
#: 0.99 so the inference statistics settle within the few hundred steps of a CPU demo run).
BN_MOMENTUM = 0.9


def _conv_bn_relu(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    # No conv bias: batch normalisation's shift makes it redundant.
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_unet(preset: UNetPreset, n_classes: int) -> keras.Model:
    """Build the U-Net of ``preset`` for ``n_classes`` sigmoid outputs (module docstring)."""
    preset.check_input_size(preset.input_size)
    inputs = keras.Input((preset.input_size, preset.input_size, 1), name="image")
    x = inputs
    skips = []
    for i, ch in enumerate(preset.channels):
        for j in range(preset.encoder_convs):
            x = _conv_bn_relu(x, ch, f"enc{i}_conv{j}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{i}_pool")(x)
    for i in reversed(range(preset.depth)):
        ch = preset.channels[i]
        x = layers.Conv2DTranspose(ch, 2, strides=2, padding="same", name=f"dec{i}_upconv")(x)
        x = layers.Concatenate(name=f"dec{i}_concat")([x, skips[i]])
        for j in range(preset.decoder_convs):
            x = _conv_bn_relu(x, ch, f"dec{i}_conv{j}")
    outputs = layers.Conv2D(
        n_classes, 1, activation="sigmoid", name="probabilities",
        bias_initializer=keras.initializers.Constant(OUTPUT_BIAS_INIT))(x)
    return keras.Model(inputs, outputs, name=f"unet_{preset.name}")


def soft_dice_loss(y_true: keras.KerasTensor, y_pred: keras.KerasTensor) -> keras.KerasTensor:
    """``1 - mean_c soft Dice_c`` over the batch (module docstring)."""
    y_true = ops.cast(y_true, y_pred.dtype)
    axes = (0, 1, 2)
    inter = ops.sum(y_true * y_pred, axis=axes)
    denom = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    dice = (2.0 * inter + SOFT_DICE_EPSILON) / (denom + SOFT_DICE_EPSILON)
    return 1.0 - ops.mean(dice)


def bce_dice_loss(y_true: keras.KerasTensor, y_pred: keras.KerasTensor) -> keras.KerasTensor:
    """Binary cross-entropy + soft Dice loss (Geroski et al. 2023)."""
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))
    return bce + soft_dice_loss(y_true, y_pred)


def compile_unet(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile with Adam, BCE + soft Dice, and pixel-wise precision/recall at 0.5."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=bce_dice_loss,
        metrics=[keras.metrics.Precision(thresholds=0.5, name="precision"),
                 keras.metrics.Recall(thresholds=0.5, name="recall")],
    )
    return model
