/*-------------------------------------------------------------------------
 *
 * module.c
 *	  Module entry point, config-cache invalidation and the ledger guard.
 *
 * Config caches.  lead_funnel keeps per-backend copies of its small config
 * tables (transitions, calendars, SLA policies, scoring rules) in C.  Each
 * config table has an AFTER ... FOR EACH STATEMENT trigger running
 * lf_config_changed(), which queues a relcache invalidation for that table.
 * Invalidations are delivered to every backend at its next transaction (or
 * command) start, where our relcache callback, registered once in _PG_init,
 * calls the reset function of each cache built from that table.  A reset only
 * marks the cache stale; it is rebuilt lazily on next use, never inside the
 * callback (catalog access is not allowed there).
 *
 * The ledger guard.  stage_event, lead and the other ledger tables may be
 * written only by the extension's own code.  A BEFORE trigger on them runs
 * lf_ledger_guard(), which rejects any write unless lf_ledger_write_allowed
 * is set; only our C code sets it, around its own prepared statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "miscadmin.h"
#include "tcop/pquery.h"
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif
#include "utils/portal.h"
#include "utils/rel.h"

#include "tcop/utility.h"

#include "lead_funnel.h"

PG_MODULE_MAGIC;

/*
 * make asan builds this library with AddressSanitizer and loads it into a
 * server that is not: the ASan runtime arrives as a dependency of this
 * library, after the C library, so it must not insist on coming first.
 * Options are given here because the runtime reads ASAN_OPTIONS from
 * /proc/self/environ, which the postmaster overwrites with its process
 * title.  Reports go to stderr, that is, to the server log.
 */
#if defined(__SANITIZE_ADDRESS__)
extern PGDLLEXPORT const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "verify_asan_link_order=0:detect_leaks=0:halt_on_error=1";
}

/*
 * An error leaves our frames by siglongjmp.  A preloaded runtime would
 * intercept that and clear the abandoned frames' redzones in the shadow
 * memory; ours comes too late to intercept anything, so the redzones stay
 * poisoned and a later frame of ours that lands on them would be reported.
 * At every (sub)transaction abort -- after the jump -- we clear the shadow
 * of the whole stack below the stack base ourselves.  (Frames still live
 * above lose their redzones until they return: fewer checks, never a false
 * report.)
 */
static pg_noinline void
lf_asan_forget_abandoned_frames(void)
{
	char		here;
	pg_stack_base_t base = set_stack_base();
	uintptr_t	top;
	uintptr_t	bottom = (uintptr_t) &here - 4 * 1024 * 1024;

	restore_stack_base(base);
	top = (uintptr_t) base;
	if (top != 0 && top > bottom)
		__asan_unpoison_memory_region((void *) bottom, top - bottom);
}
#else
#define lf_asan_forget_abandoned_frames() ((void) 0)
#endif

#define LF_MAX_CACHES 16

typedef struct LfCacheEntry
{
	Oid		   *relid;			/* OID the cache was built from, or Invalid */
	LfCacheReset reset;
} LfCacheEntry;

static LfCacheEntry lf_caches[LF_MAX_CACHES];
static int	lf_ncaches = 0;
static LfRelcacheHook lf_hooks[LF_MAX_CACHES];
static int	lf_nhooks = 0;

/* GUC lead_funnel.event_time */
static char *lf_event_time_str = NULL;

bool		lf_ledger_write_allowed = false;

void		_PG_init(void);

static ProcessUtility_hook_type lf_prev_utility = NULL;

/*
 * Every utility statement first closes the ledger tables this session keeps
 * open between writes (tableio.c), so that its own DDL on them is not
 * refused as "in use".
 */
static void
lf_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
		   ProcessUtilityContext context, ParamListInfo params,
		   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (IsTransactionState())
		lf_tables_close_idle();
	if (lf_prev_utility)
		lf_prev_utility(pstmt, queryString, readOnlyTree, context, params,
						queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

static void
lf_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < lf_ncaches; i++)
	{
		Oid			cached = *lf_caches[i].relid;

		if (relid == InvalidOid || cached == InvalidOid || cached == relid)
			lf_caches[i].reset();
	}
	for (i = 0; i < lf_nhooks; i++)
		lf_hooks[i] (relid);
}

void
lf_register_relcache_hook(LfRelcacheHook hook)
{
	if (lf_nhooks >= LF_MAX_CACHES)
		elog(ERROR, "too many lead_funnel relcache hooks");
	lf_hooks[lf_nhooks++] = hook;
}

static bool
lf_check_event_time(char **newval, void **extra, GucSource source)
{
	TimestampTz *ts;
	Datum		d;
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	/* parse without throwing: DecodeDateTime reports errors as codes */
	{
		char		workbuf[MAXDATELEN + MAXDATEFIELDS];
		char	   *field[MAXDATEFIELDS];
		int			ftype[MAXDATEFIELDS];
		int			nf;
		int			dtype;
		int			tz = 0;
		fsec_t		fsec;
		struct pg_tm tt;
		int			dterr;
		TimestampTz result;

		dterr = ParseDateTime(*newval, workbuf, sizeof(workbuf), field, ftype,
							  MAXDATEFIELDS, &nf);
		if (dterr == 0)
			dterr = DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz);
		if (dterr != 0 || dtype != DTK_DATE || tm2timestamp(&tt, fsec, &tz, &result) != 0)
		{
			GUC_check_errdetail("\"%s\" is not a valid timestamp with time zone.", *newval);
			return false;
		}
		d = TimestampTzGetDatum(result);
	}
	ts = malloc(sizeof(TimestampTz));	/* GUC extra: freed by guc.c with free() */
	if (ts == NULL)
		return false;
	*ts = DatumGetTimestampTz(d);
	*extra = ts;
	return true;
}

static TimestampTz *lf_event_time_value = NULL;

static void
lf_assign_event_time(const char *newval, void *extra)
{
	lf_event_time_value = (TimestampTz *) extra;
}

/* lead_funnel.event_time is set: CRM changes carry that time */
bool
lf_event_time_is_set(void)
{
	return lf_event_time_value != NULL;
}

TimestampTz
lf_event_time(void)
{
	if (lf_event_time_value != NULL)
		return *lf_event_time_value;
	return GetCurrentTransactionStartTimestamp();
}

static void
lf_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			lf_buffer_xact_end(true);
			lf_tables_xact_end(true);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			lf_asan_forget_abandoned_frames();
			lf_buffer_xact_end(false);
			lf_tables_xact_end(false);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			lf_buffer_xact_end(false);
			break;
	}
}

static void
lf_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		lf_asan_forget_abandoned_frames();
		lf_buffer_subxact_abort(mySubid);
		lf_tables_subxact_abort();
	}
}

void
_PG_init(void)
{
	RegisterXactCallback(lf_xact_callback, NULL);
	RegisterSubXactCallback(lf_subxact_callback, NULL);
	CacheRegisterRelcacheCallback(lf_relcache_callback, (Datum) 0);
	lf_prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = lf_utility;

	DefineCustomStringVariable("lead_funnel.event_time",
							   "Time recorded for status changes made through attached CRM tables.",
							   "Empty means the transaction's start time, like now(). "
							   "Set it to replay or import history through the trigger.",
							   &lf_event_time_str,
							   "",
							   PGC_SUSET,
							   0,
							   lf_check_event_time,
							   lf_assign_event_time,
							   NULL);
	MarkGUCPrefixReserved("lead_funnel");
}

/*
 * Register a cache.  *relid must stay valid for the life of the backend
 * (a static variable of the caller) and hold the OID of the config table
 * the cache was last built from, or InvalidOid when it is not built.
 */
void
lf_register_cache(Oid *relid, LfCacheReset reset)
{
	if (lf_ncaches >= LF_MAX_CACHES)
		elog(ERROR, "too many lead_funnel caches");
	lf_caches[lf_ncaches].relid = relid;
	lf_caches[lf_ncaches].reset = reset;
	lf_ncaches++;
}

/* OID of the extension's schema; errors out when the extension is absent */
Oid
lf_schema_oid(void)
{
	Oid			nsp = get_namespace_oid("lead_funnel", true);

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("schema \"lead_funnel\" does not exist"),
				 errhint("Run CREATE EXTENSION lead_funnel.")));
	return nsp;
}

/* OID of one of the extension's relations */
Oid
lf_relation_oid(const char *relname)
{
	Oid			relid = get_relname_relid(relname, lf_schema_oid());

	if (!OidIsValid(relid))
		elog(ERROR, "relation \"lead_funnel.%s\" does not exist", relname);
	return relid;
}

/*
 * True while a restore loads our tables: a superuser's COPY FROM with
 * check_function_bodies off, which is what every script of pg_dump sets
 * (pg_restore and psql with a plain dump).  It is the only write to the
 * ledger that does not come from lead_funnel's own code.
 */
bool
lf_restoring(void)
{
	return ActivePortal != NULL &&
		ActivePortal->commandTag == CMDTAG_COPY &&
		!check_function_bodies &&
		superuser();
}

PG_FUNCTION_INFO_V1(lf_restoring_fn);
Datum
lf_restoring_fn(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lf_restoring());
}

/* ---- trigger functions ---- */

PG_FUNCTION_INFO_V1(lf_config_changed);

/*
 * AFTER ... FOR EACH STATEMENT on a config table: tell every backend that
 * its cached copy of this table is stale.
 */
Datum
lf_config_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"lf_config_changed\" must be called as a trigger")));

	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(lf_ledger_guard);

/*
 * BEFORE INSERT/UPDATE/DELETE/TRUNCATE on a ledger table: only the
 * extension's own code may write it.
 */
Datum
lf_ledger_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"lf_ledger_guard\" must be called as a trigger")));

	rel = trigdata->tg_relation;
	if (!lf_ledger_write_allowed && !lf_restoring())
		ereport(ERROR,
				(errcode(ERRCODE_LF_LEDGER_PROTECTED),
				 errmsg("table \"%s.%s\" is written only by lead_funnel",
						get_namespace_name(RelationGetNamespace(rel)),
						RelationGetRelationName(rel)),
				 errhint("Use lead_funnel.move() or an attached CRM table to change a lead.")));

	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_newtuple);
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	return PointerGetDatum(NULL);
}
