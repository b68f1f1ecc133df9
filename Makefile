# cagefs - build.  `make` builds bin/cagefs and bin/cage.
# Quick start (Debian 12, root): `make demo`, `make check`.

PREFIX ?= /usr/local
CC ?= cc
PKGS := fuse3 libseccomp jansson liburing libcap libcrypto

# Variant: `make` (normal) or `make asan` (ASan+UBSan) into build/asan.
VARIANT ?= release
BUILD := build/$(VARIANT)
BIN := $(BUILD)/bin

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat -Wformat-security
FS_DIRS := $(sort $(dir $(wildcard fs/*/*.c fs/*/*.h)))
# common/: shared code, some of it in folders by part (config/, net/, git/).
COMMON_DIRS := $(sort $(dir $(wildcard common/*/*.c common/*/*.h)))
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O2 $(WARN) -Icommon $(addprefix -I,$(COMMON_DIRS)) -Inix \
	$(addprefix -I,$(FS_DIRS)) -Ilauncher
ifeq ($(VARIANT),asan)
BASE_CFLAGS := $(filter-out -O2,$(BASE_CFLAGS)) -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
override CFLAGS := $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread
LDFLAGS += $(SAN_LDFLAGS)

COMMON_SRC := $(wildcard common/*.c common/*/*.c)
NIX_SRC := $(wildcard nix/*.c)
FS_SRC := $(wildcard fs/*/*.c)
LAUNCHER_SRC := $(wildcard launcher/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

all: $(BIN)/cagefs $(BIN)/cage bin-links

$(BIN)/cagefs: $(call obj,$(FS_SRC) $(COMMON_SRC) $(NIX_SRC))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/cage: $(call obj,$(LAUNCHER_SRC) $(COMMON_SRC) $(NIX_SRC))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# bin/ always points at the last variant built.
bin-links: $(BIN)/cagefs $(BIN)/cage
	@mkdir -p bin
	@ln -sfn ../$(BIN)/cagefs bin/cagefs
	@ln -sfn ../$(BIN)/cage bin/cage

asan:
	$(MAKE) VARIANT=asan all

# install: the programs, their man pages and bash completion, and where
# AppArmor is, cage's AppArmor profile (packaging/apparmor/cage, naming
# $(PREFIX)/bin/cage) in $(APPARMORDIR), loaded when installed for this
# machine (no DESTDIR).  APPARMOR=auto: when apparmor_parser accepts the
# profile (AppArmor 4), or without a parser when the kernel has AppArmor;
# APPARMOR=yes or no decides.
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
APPARMORDIR ?= /etc/apparmor.d
APPARMOR ?= auto
APPARMOR_PROFILE = sed 's|/usr/local/bin/cage|$(PREFIX)/bin/cage|' packaging/apparmor/cage

install: $(BIN)/cagefs $(BIN)/cage
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(BIN)/cagefs $(BIN)/cage $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 man/cagefs.1 man/cage.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/cage.json.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 completion/cagefs.bash $(DESTDIR)$(COMPLETIONDIR)/cagefs
	install -m 0644 completion/cage.bash $(DESTDIR)$(COMPLETIONDIR)/cage
	@want='$(APPARMOR)'; \
	if [ "$$want" = auto ]; then \
	  want=no; \
	  if command -v apparmor_parser >/dev/null 2>&1; then \
	    if $(APPARMOR_PROFILE) | apparmor_parser -Q -K >/dev/null 2>&1; then want=yes; \
	    else echo "install: cage's AppArmor profile needs AppArmor 4 (the userns rule): not installed"; fi; \
	  elif [ -d /sys/kernel/security/apparmor ]; then want=yes; fi; \
	fi; \
	if [ "$$want" = yes ]; then \
	  echo "install: $(DESTDIR)$(APPARMORDIR)/cage"; \
	  install -d $(DESTDIR)$(APPARMORDIR) && \
	  $(APPARMOR_PROFILE) > $(DESTDIR)$(APPARMORDIR)/cage && \
	  chmod 0644 $(DESTDIR)$(APPARMORDIR)/cage || exit 1; \
	  if [ -z '$(DESTDIR)' ] && [ -e /sys/kernel/security/apparmor/profiles ] \
	     && command -v apparmor_parser >/dev/null 2>&1; then \
	    apparmor_parser -r $(APPARMORDIR)/cage || exit 1; \
	  fi; \
	fi

clean:
	rm -rf build bin

.PHONY: all asan install clean bin-links

include mk/check.mk
include mk/unit.mk
include mk/fuzz.mk
