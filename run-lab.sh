#!/usr/bin/env bash
# run-lab.sh - set up whatever is missing, then start the tutorial.
#   sudo ./run-lab.sh [LESSON]
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
exec /usr/local/bin/eclat-lab tutorial "$@"
