# Segmentation: train the demo U-Nets on synthetic patients (only when the data set or the
# training settings change) and segment every image of a case with ONNX Runtime.
# Needs from rules/common.smk: RESULTS, TWINFLOW, case_canonical, case_section, CASE_TARGETS.
# The per-case rule reads results/<case>/images/manifest.json, written by the ingest rule.
import sys

from twinflow.io import canonical_json
from twinflow.segmentation.infer import DEMO_MODELS

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


def _segmentation_model(cid):
    """The case's segmentation.model, else the committed demo model of its anatomy."""
    case = case_canonical(cid) or {}
    model = (case.get("segmentation") or {}).get("model")
    return model or DEMO_MODELS.get(case.get("anatomy"), DEMO_MODELS["carotid"])


rule segmentation_dataset:
    message: "synthetic {wildcards.anatomy} segmentation data set"
    output:
        f"{RESULTS}/segmentation/data/{{anatomy}}/manifest.json",
    params:
        synth=lambda w: SEGMENTATION_TRAINING[w.anatomy]["synth"],
        patients=lambda w: SEGMENTATION_TRAINING[w.anatomy]["patients"],
        seed=lambda w: SEGMENTATION_TRAINING[w.anatomy]["data_seed"],
        out=lambda w: f"{RESULTS}/segmentation/data/{w.anatomy}",
    log:
        f"{RESULTS}/segmentation/logs/dataset-{{anatomy}}.log",
    shell:
        "{TWINFLOW} synth {params.synth} --patients {params.patients} --seed {params.seed}"
        " --layout dataset --no-volumes --out {params.out:q} > {log:q} 2>&1"


rule train_segmentation:
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
    log:
        f"{RESULTS}/segmentation/logs/train-{{anatomy}}.log",
    threads: 2
    shell:
        "{TWINFLOW} train $(dirname {input:q}) --out $(dirname {output.model:q})"
        " --preset {params.s[preset]} --epochs {params.s[epochs]}"
        " --steps-per-epoch {params.s[steps_per_epoch]} --batch-size {params.s[batch_size]}"
        " --patience {params.s[patience]} --learning-rate {params.s[learning_rate]}"
        " --seed {params.s[seed]} --threads {threads} > {log:q} 2>&1"


rule segmentation_models:
    message: "re-train every demo segmentation model from synthetic data"
    input:
        expand(f"{RESULTS}/segmentation/models/{{anatomy}}/model.onnx",
               anatomy=list(SEGMENTATION_TRAINING)),


rule segment_case:
    message: "segment the images of case {wildcards.case} (ONNX Runtime)"
    input:
        case=f"{RESULTS}/{{case}}/case.json",
        images=f"{RESULTS}/{{case}}/images/manifest.json",
        model=lambda w: _segmentation_model(w.case),
    output:
        f"{RESULTS}/{{case}}/masks/manifest.json",
    params:
        segmentation=lambda w: case_section(w.case, "segmentation"),
    log:
        f"{RESULTS}/{{case}}/logs/segment_case.log",
    threads: 2
    shell:
        "{PY} -m twinflow.segmentation.infer case --case-json {input.case:q}"
        " --images $(dirname {input.images:q}) --model {input.model:q}"
        " --out $(dirname {output:q}) --threads {threads} > {log:q} 2>&1"
        " || (cat {log:q} >&2; exit 2)"


