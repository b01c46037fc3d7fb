# Reads stdin line by line, then the arguments.
n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%d: %s\n' "$n" "$line"
done
printf 'argc %d:' "$#"
for a; do printf ' [%s]' "$a"; done
echo
