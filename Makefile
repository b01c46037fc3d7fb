# sbx - run untrusted code in a container, report in JSON lines
# See LICENSE file for copyright and license details.
.POSIX:

include config.mk

SRC = sbx.c job.c policy.c rundir.c shadow.c backend_cli.c relay.c result.c \
	changes.c apply.c diff.c session.c step.c gc.c dockerapi.c sig.c json.c \
	util.c audit.c pool.c human.c ps.c batch.c extract.c proxy.c pump.c \
	tar.c remote.c
OBJ = $(SRC:.c=.o)
LIBOBJ = policy.o json.o util.o audit.o
TESTS = tests/unit.sh tests/diff.sh tests/tar.sh tests/cli.sh tests/golden.sh tests/docs.sh \
	tests/build.sh tests/system.sh tests/guard.sh tests/value.sh \
	tests/rootless.sh tests/integration.sh tests/transparency.sh tests/hostile.sh \
	tests/changes.sh tests/session.sh tests/repl.sh tests/pool.sh \
	tests/supervise.sh tests/usage.sh tests/disk.sh \
	tests/human.sh tests/batch.sh tests/extract.sh tests/compile.sh tests/net.sh \
	tests/gvisor.sh tests/hostile-gvisor.sh tests/remote.sh \
	tests/package.sh tests/sanitize.sh tests/fuzz.sh

all: sbx sbx-supervise

$(OBJ) tests/unit.o tests/difftest.o tests/tartest.o bench/copy.o: sbx.h config.mk paths.stamp

# The paths compiled in, so that "make install PREFIX=..." after a plain
# "make" rebuilds what was compiled for others.
paths.stamp: FORCE
	@echo '$(VERSION) $(SYSCONFDIR) $(LIBEXECDIR)' > paths.tmp
	@if cmp -s paths.tmp $@; then rm -f paths.tmp; else mv paths.tmp $@; fi

FORCE:
policy.o: builtin.h
rundir.o: guard.h
$(OBJ): proto.h
proxy.o pump.o: pump.h

# The import guard, as the bytes of a C array (a string literal that
# long is beyond what C99 promises), written next to the workspace.
guard.h: guard.py
	od -A n -v -t x1 guard.py | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' > $@

# The shipped sbx.ini, as the bytes of a C array as guard.h is, so sbx
# works with no config file.
builtin.h: sbx.ini
	od -A n -v -t x1 sbx.ini | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g' > $@

# A session's PID 1, copied into containers of any image: static, and
# nothing but libc.
sbx-supervise: supervise.c pump.c pump.h proto.h config.mk paths.stamp
	$(CC) $(SBX_CPPFLAGS) $(CPPFLAGS) -std=c99 -pedantic -Wall -Wextra \
		$(CFLAGS) $(LDFLAGS) -static -o $@ supervise.c pump.c

tests/difftest: tests/difftest.o diff.o json.o util.o
	$(CC) $(LDFLAGS) -o $@ tests/difftest.o diff.o json.o util.o

sbx: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $(OBJ) $(SBX_LIBS) $(LDLIBS)

# One file to copy to another machine: libc and libinih linked in.
static: $(OBJ)
	$(CC) $(LDFLAGS) -static -o sbx $(OBJ) $(SBX_LIBS) $(LDLIBS)

# sbx with its system configuration in tests/sysconf, for tests/system.sh.
tests/sbx-sys: $(OBJ) tests/policy-sys.o
	$(CC) $(LDFLAGS) -o $@ $(OBJ:policy.o=tests/policy-sys.o) $(SBX_LIBS) \
		$(LDLIBS)

tests/policy-sys.o: policy.c builtin.h sbx.h config.mk
	$(CC) $(SBX_CPPFLAGS) -USYSCONFDIR -DSYSCONFDIR=\"$$(pwd)/tests/sysconf\" \
		$(CPPFLAGS) $(SBX_CFLAGS) $(CFLAGS) -c -o $@ policy.c

tests/tartest: tests/tartest.o tar.o json.o util.o
	$(CC) $(LDFLAGS) -o $@ tests/tartest.o tar.o json.o util.o $(LDLIBS)

tests/unit: tests/unit.o $(LIBOBJ)
	$(CC) $(LDFLAGS) -o $@ tests/unit.o $(LIBOBJ) $(SBX_LIBS) $(LDLIBS)

.c.o:
	$(CC) $(SBX_CPPFLAGS) $(CPPFLAGS) $(SBX_CFLAGS) $(CFLAGS) -c -o $@ $<

# Unit tests, golden argv files, bad input, real podman and docker, the
# package, then all again under ASan+UBSan and valgrind, and a short
# time-boxed fuzz run (FUZZ_SECONDS per target).
FUZZ_SECONDS = 10
check: sbx sbx-supervise tests/unit tests/sbx-sys tests/difftest tests/tartest
	FUZZ_SECONDS=$(FUZZ_SECONDS) SBX_SUPERVISE=$$(pwd)/sbx-supervise \
		tests/lib/run.sh $(TESTS)

# Longer fuzzing, not part of check.
fuzz:
	tests/fuzz.sh 300

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANPREFIX)/man1 \
		$(DESTDIR)$(MANPREFIX)/man5 $(DESTDIR)$(SYSCONFDIR)/sbx \
		$(DESTDIR)$(BASHCOMPDIR)
	cp -f sbx $(DESTDIR)$(PREFIX)/bin/sbx
	chmod 755 $(DESTDIR)$(PREFIX)/bin/sbx
	cp -f sbx-supervise $(DESTDIR)$(LIBEXECDIR)/sbx-supervise
	chmod 755 $(DESTDIR)$(LIBEXECDIR)/sbx-supervise
	sed -e 's,/usr/local/etc,$(SYSCONFDIR),g' \
	    -e 's,/usr/local/libexec/sbx,$(LIBEXECDIR),g' man/sbx.1 \
		> $(DESTDIR)$(MANPREFIX)/man1/sbx.1
	cp -f man/sbx.ini.5 $(DESTDIR)$(MANPREFIX)/man5/sbx.ini.5
	chmod 644 $(DESTDIR)$(MANPREFIX)/man1/sbx.1 \
		$(DESTDIR)$(MANPREFIX)/man5/sbx.ini.5
	cp -f sbx.ini $(DESTDIR)$(SYSCONFDIR)/sbx/sbx.ini
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/sbx/sbx.ini
	cp -f completion/sbx.bash $(DESTDIR)$(BASHCOMPDIR)/sbx
	chmod 644 $(DESTDIR)$(BASHCOMPDIR)/sbx

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sbx \
		$(DESTDIR)$(LIBEXECDIR)/sbx-supervise \
		$(DESTDIR)$(MANPREFIX)/man1/sbx.1 \
		$(DESTDIR)$(MANPREFIX)/man5/sbx.ini.5 \
		$(DESTDIR)$(SYSCONFDIR)/sbx/sbx.ini \
		$(DESTDIR)$(BASHCOMPDIR)/sbx
	-rmdir $(DESTDIR)$(SYSCONFDIR)/sbx $(DESTDIR)$(LIBEXECDIR)

dist: clean
	mkdir -p sbx-$(VERSION)
	cp -R LICENSE Makefile README.md config.mk sbx.ini guard.py $(SRC) sbx.h \
		proto.h pump.h supervise.c doc \
		man tests examples bench completion .ci sbx-$(VERSION)
	tar -cf - sbx-$(VERSION) | gzip > sbx-$(VERSION).tar.gz
	rm -rf sbx-$(VERSION)

clean:
	rm -f sbx sbx-supervise $(OBJ) builtin.h guard.h paths.stamp paths.tmp \
		tests/unit tests/unit.o \
		tests/sbx-sys tests/difftest tests/difftest.o tests/tartest \
		tests/tartest.o \
		tests/policy-sys.o bench/copy bench/copy.o sbx-$(VERSION).tar.gz

.PHONY: all bench check fuzz install uninstall dist clean static FORCE

bench/copy: bench/copy.o rundir.o shadow.o changes.o diff.o $(LIBOBJ)
	$(CC) $(LDFLAGS) -o $@ bench/copy.o rundir.o shadow.o changes.o diff.o \
		$(LIBOBJ) $(SBX_LIBS) $(LDLIBS)

# Not part of check: timings are for people, not assertions.
bench: sbx bench/copy
	bench/run.sh
	bench/gvisor.sh
