# Segmentation: segment every image of a case with ONNX Runtime (rule segment), and re-train
# the demo U-Nets on synthetic patients on request (rules synth, train; target
# segmentation_models), only when the data set or the training settings change.
from pathlib import Path

from twinflow.io import canonical_json
from twinflow.segmentation.presets import model_for_anatomy  # light: no onnxruntime at load

# Training settings per anatomy; a change here re-trains exactly that model (params).
# They reproduce the committed models/<anatomy>-small/ (see models/README.md).
SEGMENTATION_TRAINING = {
    "carotid": {"synth": "carotid", "patients": 40, "data_seed": 0, "preset": "small",
                "epochs": 25, "steps_per_epoch": 10, "batch_size": 4, "patience": 6,
                "learning_rate": 0.002, "seed": 0},
    "left-ventricle": {"synth": "lv", "patients": 40, "data_seed": 0, "preset": "small",
                       "epochs": 25, "steps_per_epoch": 10, "batch_size": 4, "patience": 6,
                       "learning_rate": 0.002, "seed": 0},
}

wildcard_constraints:
    anatomy="carotid|left-ventricle",


rule segment:
    message: "segment the images of case {wildcards.case} (ONNX Runtime)"
    wildcard_constraints:
        case=cases_with("segment"),
    input:
        settings=settings("segment"),
        images=f"{RESULTS}/{{case}}/images/manifest.json",
        model=lambda w: str(model_for_anatomy(CANONICAL[w.case]["anatomy"],
                                              CANONICAL[w.case]["segmentation"]["model"])),
        code=code("segment"),
    output:
        f"{RESULTS}/{{case}}/masks/manifest.json",
        record=step_record("segment"),
    params:
        record=record("segment"),
    log:
        f"{RESULTS}/{{case}}/logs/segment.log",
    threads: 2
    conda:
        ENVS["imaging"]
    shell:
        "{TWINFLOW} {params.record} segment"
        " --settings {input.settings:q} --images {input.images:q}"
        " --model {input.model:q} --out {output[0]:q} --threads {threads}"
        " 2> {log:q} || (tail -n 20 {log:q} >&2; exit 2)"


rule synth:
    message: "synthetic {wildcards.anatomy} segmentation data set"
    output:
        f"{RESULTS}/segmentation/data/{{anatomy}}/manifest.json",
    params:
        s=lambda w: SEGMENTATION_TRAINING[w.anatomy],
        out=lambda w, output: Path(output[0]).parent,
    log:
        f"{RESULTS}/segmentation/logs/synth-{{anatomy}}.log",
    conda:
        ENVS["imaging"]
    shell:
        "{TWINFLOW} synth {params.s[synth]} --patients {params.s[patients]}"
        " --seed {params.s[data_seed]} --layout dataset --no-volumes --out {params.out:q}"
        " 2> {log:q}"


rule train:
    message: "train the {wildcards.anatomy} U-Net (Keras), export and evaluate it (ONNX)"
    input:
        f"{RESULTS}/segmentation/data/{{anatomy}}/manifest.json",
    output:
        model=f"{RESULTS}/segmentation/models/{{anatomy}}/model.onnx",
        metrics=f"{RESULTS}/segmentation/models/{{anatomy}}/test_metrics.json",
        table=f"{RESULTS}/segmentation/models/{{anatomy}}/test_metrics.md",
        curves=f"{RESULTS}/segmentation/models/{{anatomy}}/learning_curves.png",
    params:
        settings=lambda w: canonical_json(SEGMENTATION_TRAINING[w.anatomy]).strip(),
        s=lambda w: SEGMENTATION_TRAINING[w.anatomy],
        data=lambda w, input: Path(input[0]).parent,
        out=lambda w, output: Path(output.model).parent,
    log:
        f"{RESULTS}/segmentation/logs/train-{{anatomy}}.log",
    threads: 2
    conda:
        ENVS["imaging"]
    shell:
        "{TWINFLOW} train {params.data:q} --out {params.out:q}"
        " --preset {params.s[preset]} --epochs {params.s[epochs]}"
        " --steps-per-epoch {params.s[steps_per_epoch]} --batch-size {params.s[batch_size]}"
        " --patience {params.s[patience]} --learning-rate {params.s[learning_rate]}"
        " --seed {params.s[seed]} --threads {threads} 2> {log:q}"


rule segmentation_models:
    message: "re-train every demo segmentation model from synthetic data"
    input:
        expand(f"{RESULTS}/segmentation/models/{{anatomy}}/model.onnx",
               anatomy=list(SEGMENTATION_TRAINING)),
