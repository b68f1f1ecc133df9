# unit test build rules
#
#   make unit-tests                 build $(BUILD)/tests/unit/test_*
#   make VARIANT=asan unit-tests    the same with ASan+UBSan, in build/asan
#   make unit-check                 build, then run them all through prove
#
# Each tests/unit/test_NAME.c becomes $(BUILD)/tests/unit/test_NAME, linked
# with the common/ and nix/ objects (never a main.o) and cmocka.  The tests
# print TAP; tests/unit/run-unit.sh fixes up cmocka's dialect for prove:
#   prove --exec tests/unit/run-unit.sh $(UNIT_TESTS)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
UNIT_LIB_OBJ := $(call obj,$(COMMON_SRC) $(NIX_SRC))

CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

# Extra link flags for one test: UNIT_LDFLAGS_test_NAME.
# test_blacklist counts allocations to prove matching does not allocate.
UNIT_LDFLAGS_test_blacklist := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
# test_secret_scan too: the detector does not allocate.
UNIT_LDFLAGS_test_secret_scan := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup

# A test of one daemon file links its object too.
$(BUILD)/tests/unit/test_hidden_inodes: $(call obj,fs/policy/hidden_inodes.c)
$(BUILD)/tests/unit/test_scan_cache: $(call obj,fs/policy/scan_cache.c)
$(BUILD)/tests/unit/test_doctor: $(call obj,fs/setup/doctor.c)
$(BUILD)/tests/unit/test_node: $(call obj,fs/daemon/node.c)
$(BUILD)/tests/unit/test_dns: $(call obj,fs/egress/dns.c fs/egress/fake_addr.c)
$(BUILD)/tests/unit/test_http_head: $(call obj,fs/egress/http_proxy.c fs/egress/relay.c fs/egress/dns.c fs/egress/fake_addr.c fs/egress/proc_owner.c)

$(call obj,$(UNIT_SRC)): override CFLAGS += $(CMOCKA_CFLAGS)
# Keep the test objects (they are only reached through a pattern rule).
.SECONDARY: $(call obj,$(UNIT_SRC))

$(BUILD)/tests/unit/test_%: $(BUILD)/obj/tests/unit/test_%.o $(UNIT_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(UNIT_LDFLAGS_$(@F)) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

unit-tests: $(UNIT_TESTS)

unit-check: unit-tests
	prove --exec tests/unit/run-unit.sh $(UNIT_TESTS)

.PHONY: unit-tests unit-check
