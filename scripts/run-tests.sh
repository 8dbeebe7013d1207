#!/bin/sh
# Runs the test suite (the arguments are swift's: `swift test --skip-build …`), keeps its whole
# output in .build/test-output.txt, and when a test fails repeats the failed tests' lines at the
# end, where a CI log shows them: the suite prints hundreds of lines after a failure.
set -u
log=.build/test-output.txt
mkdir -p .build
status_file=$(mktemp)
{ "$@"; echo $? > "$status_file"; } 2>&1 | tee "$log"
status=$(cat "$status_file")
rm -f "$status_file"
if [ "$status" -ne 0 ]; then
	echo
	echo "The failed tests (whole output in $log):"
	awk '/✘/ { print; shown = 1; next } shown && /^[[:space:]]*↳/ { print; next } { shown = 0 }' "$log" | head -200
fi
exit "$status"
