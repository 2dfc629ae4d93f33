# lead_funnel -- PGXS build
#
# The versioned install script is a build product: it is the concatenation of
# the SQL files in src/, each of which sits next to the C file it declares.
# SQL_PARTS gives their order (a part that does not exist yet is skipped).

EXTENSION  = lead_funnel
EXTVERSION = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = lead_funnel
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

SQL_PARTS  = stage config ledger calendar sla routing scoring activity attach kpi svg roles dump
SQL_SRCS   = $(wildcard $(addprefix src/,$(addsuffix .sql,$(SQL_PARTS))))

DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA       = $(filter-out src/upgrade/$(EXTENSION)--$(EXTVERSION).sql,$(wildcard src/upgrade/$(EXTENSION)--*.sql))

# pg_regress: every file in sql/ (each test creates the extension itself, so
# the files are independent of each other and of their order).
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=.
ISOLATION      = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=output_iso

PG_CFLAGS  = -std=gnu99 -Wall -Wextra -Werror -Wno-unused-parameter \
             -Wno-missing-field-initializers -Wno-sign-compare $(LF_EXTRA_CFLAGS)
SHLIB_LINK += $(LF_EXTRA_LDFLAGS)

EXTRA_CLEAN = $(EXTENSION)--*.sql output_iso results regression.diffs \
              regression.out test/bench/results

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# On a fresh machine PGXS is not there yet: make test / demo install it first.
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)

# every object depends on the shared header (PGXS does not track it)
$(OBJS): src/lead_funnel.h
endif

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SRCS) $(EXTENSION).control
	cat $(SQL_SRCS) > $@

.PHONY: test demo bench asan memcheck print-%
test:
	test/tools/pgenv.sh test

demo:
	test/tools/pgenv.sh demo

bench:
	test/tools/pgenv.sh bench

asan:
	test/tools/pgenv.sh asan

memcheck:
	test/tools/pgenv.sh memcheck

print-%:
	@echo $($*)
