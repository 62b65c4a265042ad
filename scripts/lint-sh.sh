#!/usr/bin/env bash
# lint-sh.sh: every shell script of the repository through `bash -n` and
# then the shellcheck linter (sourced files followed from each script's own directory).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.sh' .ci/run)
for f in "${files[@]}"; do
  bash -n "$f"
done
if ! command -v shellcheck >/dev/null; then
  echo "lint-sh: shellcheck is not installed (Debian: apt-get install shellcheck)" >&2
  exit 1
fi
shellcheck -x -P SCRIPTDIR "${files[@]}"
echo "lint-sh: ${#files[@]} scripts pass bash -n and shellcheck"
