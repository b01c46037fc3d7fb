echo "killing myself with SIGTERM"
kill -TERM $$
echo "not reached"
