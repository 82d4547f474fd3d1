#!/bin/sh
# Re-run the whole study (about 2 minutes on 2 cores). Needs venv with: opentelemetry-proto protobuf scipy numpy lingua-language-detector whatlang-pyo3
set -e
cd "$(dirname "$0")"
[ -x venv/bin/python ] || { python3 -m venv venv && venv/bin/pip install --quiet opentelemetry-proto protobuf scipy numpy lingua-language-detector whatlang-pyo3; }
. venv/bin/activate
python keysurvey.py            # -> keysurvey.txt   (attribute keys per service/span role)
python extract.py              # -> out/<scenario>.jsonl (per-request signals, + truth for evaluation only)
python validate.py             # extracted dims vs truth dims
python sysinst.py              # system-instruction bytes per convention
python schemadrift.py          # advertised vs executed tool schema (OpenInference)
python langid_eval.py; python langid_eval2.py   # whatlang vs lingua
python signals.py              # -> signals_eval.txt
python ablation.py             # -> ablation.txt
python onset.py                # -> onset.txt
python attribution.py; python attribution.py control --force-control-split   # -> attribution.txt
python nulltest.py             # -> nulltest.txt
python robustness.py           # -> robustness.txt
