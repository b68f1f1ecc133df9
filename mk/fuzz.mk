# fuzz targets (libFuzzer; clang with ASan+UBSan)
#
#   make fuzz-build        build build/fuzz/fuzz_{config,glob,storepath,nar,scan,gitconfig}
#   make fuzz              run each target for FUZZ_SECONDS (default 60)
#   make fuzz-smoke        run each target for 10 s (make check runs this)
#   make fuzz-TARGET       run one target for FUZZ_SECONDS
#
# Each fuzz/fuzz_TARGET.c is linked with only the sources it tests
# (FUZZ_SRC_TARGET), compiled again with clang and the sanitizers into
# build/fuzz.  fuzz/run.sh starts from the committed seeds in
# fuzz/corpus/TARGET (plus what earlier runs found, kept in
# build/fuzz/corpus/TARGET), prints the executions reached, and on a crash
# the input that caused it (build/fuzz/artifacts/): fix the code, then add
# that input to fuzz/corpus/TARGET.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_BUILD := build/fuzz
FUZZ_TARGETS := config glob storepath nar scan gitconfig
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))

FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(WARN) \
	-Icommon $(addprefix -I,$(COMMON_DIRS)) -Inix $(FUZZ_SAN)

FUZZ_SRC_config := common/config/config.c common/config/config_keys.c common/config/config_load.c \
	common/config/json_locate.c common/blacklist.c common/error.c common/config/presets.c \
	common/config/suggest.c common/net/net_policy.c
FUZZ_SRC_glob := common/blacklist.c common/error.c
FUZZ_SRC_storepath := nix/storepath.c
FUZZ_SRC_nar := nix/nar.c common/error.c
FUZZ_SRC_scan := common/secret_scan.c
FUZZ_SRC_gitconfig := common/git/gitconfig.c
FUZZ_LIBS := -ljansson

fuzz_obj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))

# The code under test: instrumented for coverage, no libFuzzer main.
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

FUZZ_OBJ := $(call fuzz_obj,$(foreach t,$(FUZZ_TARGETS),fuzz/fuzz_$(t).c $(FUZZ_SRC_$(t))))
# Keep the objects (they are only reached through pattern rules).
.SECONDARY: $(FUZZ_OBJ)

.SECONDEXPANSION:
$(FUZZ_BUILD)/fuzz_%: $$(call fuzz_obj,fuzz/fuzz_%.c $$(FUZZ_SRC_$$*))
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

$(patsubst %,fuzz-%,$(FUZZ_TARGETS)): fuzz-%: $(FUZZ_BUILD)/fuzz_%
	fuzz/run.sh $(FUZZ_SECONDS) $*

.PHONY: fuzz fuzz-build fuzz-smoke $(patsubst %,fuzz-%,$(FUZZ_TARGETS))
