echo "to stdout"
echo "to stderr" >&2
printf 'no newline on stderr' >&2
printf 'no newline on stdout'
