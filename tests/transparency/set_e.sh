set -e
echo "step 1"
false
echo "not reached"
