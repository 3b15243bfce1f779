#!/usr/bin/env bash
# Installs the Python side into .venv: pyspark 3.5 (= Glue 5.0's Spark) for the Glue job and the
# parity suite, moto's server for the AWS adapter tests, cfn-lint for the synthesized template.
# Idempotent: re-running only installs what is missing. Needs python3 (3.11 matches Glue 5.0) and,
# for Spark, Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r glue/requirements-dev.txt
.venv/bin/python - <<'PY'
import pyspark, moto, cfnlint.version
print(f"python side ready: pyspark {pyspark.__version__}, moto {moto.__version__}, cfn-lint {cfnlint.version.__version__}")
PY
