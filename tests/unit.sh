#!/bin/sh
# Builds nothing: runs the unit test program make built.
cd "$(dirname "$0")/.." && exec tests/unit tests/unit.ini
