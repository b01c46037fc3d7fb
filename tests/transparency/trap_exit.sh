# An EXIT trap runs on exit; the status is exit's.
trap 'echo "trap: bye" >&2' EXIT
echo "exiting 5"
exit 5
