# Writes a script to /tmp and runs it: does /tmp allow exec?
printf '#!/bin/sh\necho "ran from /tmp"\n' >/tmp/t.sh
chmod +x /tmp/t.sh
/tmp/t.sh
echo "status $?"
