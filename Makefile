# sbx - run untrusted code in a container, report in JSON lines
# See LICENSE file for copyright and license details.
.POSIX:

include config.mk

SRC = sbx.c policy.c shadow.c backend_cli.c json.c util.c
OBJ = $(SRC:.c=.o)

all: sbx

$(OBJ): sbx.h config.mk
policy.o: builtin.h

# The shipped sbx.ini, as a C string: sbx works with no config file.
builtin.h: sbx.ini
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' \
		sbx.ini > $@

sbx: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $(OBJ) $(LDLIBS)

.c.o:
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $<

clean:
	rm -f sbx $(OBJ) builtin.h

.PHONY: all clean
