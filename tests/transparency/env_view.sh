# What a shell script sees of its container: ids, host name, umask,
# environment, limits, what is mounted where, and /sbx.
id
hostname
umask
env | sort
ulimit -n -u
awk '{ print $2, $3 }' /proc/mounts | sort
ls -a /sbx
