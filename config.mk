# sbx version
VERSION = 0.2.0

# paths
PREFIX = /usr/local
MANPREFIX = $(PREFIX)/share/man
LIBEXECDIR = $(PREFIX)/libexec/sbx
SYSCONFDIR = $(PREFIX)/etc
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions

# libinih, found with pkg-config
INIH_CFLAGS = `pkg-config --cflags inih`
INIH_LIBS = `pkg-config --libs inih`

# What sbx needs; CPPFLAGS, CFLAGS and LDFLAGS stay the packager's own.
SBX_CPPFLAGS = -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 \
	-DVERSION=\"$(VERSION)\" -DSYSCONFDIR=\"$(SYSCONFDIR)\" \
	-DLIBEXECDIR=\"$(LIBEXECDIR)\"
SBX_CFLAGS = -std=c99 -pedantic -Wall -Wextra $(INIH_CFLAGS)
SBX_LIBS = $(INIH_LIBS)

CFLAGS = -O2
LDFLAGS =

CC = cc
