# sbx version
VERSION = 0.1.0

# paths
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man
SYSCONFDIR = $(PREFIX)/etc

# libinih, found with pkg-config
INIH_CFLAGS = `pkg-config --cflags inih`
INIH_LIBS = `pkg-config --libs inih`

# flags
CPPFLAGS = -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -DVERSION=\"$(VERSION)\" \
	-DSYSCONFDIR=\"$(SYSCONFDIR)\"
CFLAGS = -std=c99 -pedantic -Wall -Wextra -O2 $(INIH_CFLAGS)
LDFLAGS =
LDLIBS = $(INIH_LIBS)

CC = cc
