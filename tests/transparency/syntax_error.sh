echo "parsed first?"
if then fi
