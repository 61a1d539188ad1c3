"""Segmentation of carotid ultrasound and echocardiographic images with a U-Net.

Training, evaluation and ONNX export use Keras/TensorFlow (:mod:`.unet`, :mod:`.train`,
:mod:`.export`); inference uses ONNX Runtime only (:mod:`.infer`), so the per-case workflow
never imports TensorFlow. Pre-processing shared by both sides lives in the TensorFlow-free
:mod:`.preprocessing`, and its settings travel inside the ONNX model as metadata.

The architecture follows Geroski, Jakovljević & Filipović (2023, J Big Data 10:72, section
"Image segmentation"): see :mod:`.presets` for the ``paper`` preset and the lighter ones.

Importing this package imports nothing heavy.
"""
