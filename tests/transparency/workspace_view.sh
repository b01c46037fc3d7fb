# What the workspace looks like from inside: owner and mode of a file.
cd /workspace || exit 1
stat -c '%n %u:%g %a' workspace_view.sh .
touch new_file 2>&1
echo "touch: $?"
