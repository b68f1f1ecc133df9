# check, demo, deps: see tests/.
#
#   make deps    install what building and testing need (tests/setup/deps.sh;
#                as root on Debian; apt is skipped when all is there)
#   make check   deps, then the normal build + unit tests + tests/run (unit
#                tests and the bats suites as root and as the user cagetest,
#                through one prove), then the same on the ASan+UBSan build
#                (build/asan), whose bats suites run as root only
#                (CHECK_ASAN_USERS: the two users' runs share the daemon's
#                code, and the normal build runs both; this keeps CI under
#                30 minutes).  bin/ points at the normal build afterwards.
#                Then each fuzz target for a few seconds (make fuzz-smoke,
#                mk/fuzz.mk).
#   make demo    deps, build, then tests/demo/run.sh (a transcript)
#
# Sanitizers: every process of the asan pass, the forked FUSE daemon
# included, runs with CHECK_ASAN_OPTIONS (leak detection on) and writes its
# reports to a per-test folder; a report fails the test that caused it.

CHECK_ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=0:strict_string_checks=1
CHECK_UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
CHECK_SANITIZE ?= 0
CHECK_ASAN_USERS ?= root

# The suites `make check` runs with the daemon under valgrind (all views,
# the store modes); `make valgrind-check` runs tests/valgrind.sh's default set.
VALGRIND_SUITES ?= tests/integration/10-store.bats tests/integration/30-workspace.bats \
	tests/integration/38-network.bats \
	tests/integration/14-store-modes.bats

deps:
	tests/setup/deps.sh

valgrind-check: all
	tests/valgrind.sh

check: deps
	@rc=0; start=$$(date +%s); \
	echo "== check: normal build (build/release)"; \
	$(MAKE) --no-print-directory VARIANT=release CHECK_SANITIZE=0 check-variant || rc=1; \
	echo "== check: ASan+UBSan build (build/asan)"; \
	$(MAKE) --no-print-directory VARIANT=asan CHECK_SANITIZE=1 CAGEFS_TEST_USERS="$(CHECK_ASAN_USERS)" check-variant || rc=1; \
	$(MAKE) --no-print-directory VARIANT=release bin-links >/dev/null 2>&1 || true; \
	echo "== check: the daemon under valgrind (tests/valgrind.sh)"; \
	tests/valgrind.sh $(VALGRIND_SUITES) || rc=1; \
	echo "== check: fuzz targets, $(FUZZ_SMOKE_SECONDS) s each (build/fuzz)"; \
	$(MAKE) --no-print-directory fuzz-smoke || rc=1; \
	echo "== check: $$(( $$(date +%s) - start )) s, $$([ $$rc = 0 ] && echo PASS || echo FAIL)"; \
	exit $$rc

# One variant: build it and its unit tests, then run everything on it.
check-variant: all unit-tests
	CAGEFS_BIN=$(BIN) CAGEFS_SANITIZE=$(CHECK_SANITIZE) $(if $(CAGEFS_TEST_USERS),CAGEFS_TEST_USERS="$(CAGEFS_TEST_USERS)") \
	CAGEFS_ASAN_OPTIONS='$(CHECK_ASAN_OPTIONS)' CAGEFS_UBSAN_OPTIONS='$(CHECK_UBSAN_OPTIONS)' \
	tests/run $(UNIT_TESTS)

demo: deps
	$(MAKE) --no-print-directory all
	CAGEFS_BIN=$(BIN) tests/demo/run.sh

.PHONY: deps check check-variant demo valgrind-check
