/*-------------------------------------------------------------------------
 *
 * sla.c
 *	  Service levels on the handover: the SLA clock of the core move path
 *	  and the sweep that records, announces and acts on breaches.
 *
 * The clock.  lf_sla_due() is called by the core move path for every move;
 * when the new stage has a policy, the due time is business_add(entered,
 * max_business_time, calendar), stored in lead.sla_due_at, else NULL (so
 * leaving a stage stops its clock).  The policies are cached per backend in
 * a fixed array indexed by stage code, so the hot path is an array lookup
 * plus the calendar arithmetic: no SPI while the cache is valid.  The cache
 * registers with module.c's relcache callback (the sla_policy table carries
 * the lf_config_changed statement trigger) and is reloaded lazily.  An
 * invalidation arriving while it is being loaded leaves it marked stale, so
 * the next call loads it again.  A policy change applies to leads entering a
 * stage afterwards; running clocks keep the due time agreed at entry.
 *
 * The clock also goes into lead_funnel.sla_clock (written by the move path):
 * one row per stage entry under a policy, indexed by due time.
 *
 * The sweep.  One statement takes the clocks that expired at or before as_of
 * out of sla_clock (through its due-time index), keeps those whose lead is
 * still in that stage entry and has no breach recorded for it yet (an
 * anti-join on the unique key (lead_key, stage, stage_entered_at, sla_due_at)
 * of sla_breach: the entry is known by its start, since back-dated moves can
 * give a new entry the due time of an earlier one), locks these leads FOR
 * UPDATE and inserts the breaches with ON CONFLICT DO NOTHING RETURNING.  A
 * clock is taken once: a later sweep does not look at it again, whether it
 * became a breach or its lead had moved on.  Concurrency,
 * in READ COMMITTED: a lead locked by a concurrent move is waited for and
 * re-checked on its newest version (EvalPlanQual re-evaluates the WHERE
 * clause), so a lead that left the stage, or entered it again, is not
 * recorded for the old entry; a concurrent sweep that
 * recorded the same breach first makes our insert a no-op (the unique key),
 * so a breach is never recorded, announced or acted on twice.  The plan is a
 * custom plan for every call (CURSOR_OPT_CUSTOM_PLAN): with the actual as_of
 * the planner sees how few index entries qualify.  The cost grows with the
 * clocks that expired since the last sweep, never with the open leads on
 * time nor with breached leads still lying in their stage.  Two sweeps at
 * once: the second waits for the first's deletion of the same clocks and
 * then finds them gone.
 *
 * For each breach inserted: NOTIFY lead_funnel_sla with a JSON payload
 * (built by the same statement), then the policy's action: notify does
 * nothing more; recycle calls lead_funnel.move(key, 'recycled',
 * 'sla_expired', 'sla', as_of) in a subtransaction, and when the agreement
 * forbids that move, the breach stays recorded and a WARNING names the lead;
 * reassign asks routing (lf_route) for another team.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "lead_funnel.h"

/* ---- the policy cache ---- */

typedef struct LfSlaPolicy
{
	bool		present;
	Interval	max;			/* max_business_time */
	char	   *calendar;		/* in lf_sla_cxt */
} LfSlaPolicy;

static LfSlaPolicy lf_sla_policies[LF_STAGE_COUNT];
static bool lf_sla_valid = false;
static Oid	lf_sla_relid = InvalidOid;
static bool lf_sla_registered = false;
static uint64 lf_sla_generation = 0;	/* bumped by every reset */
static MemoryContext lf_sla_cxt = NULL;

static void
lf_sla_reset(void)
{
	lf_sla_valid = false;
	lf_sla_relid = InvalidOid;
	lf_sla_generation++;
}

/* (re)load the policies from lead_funnel.sla_policy */
static void
lf_sla_load(void)
{
	uint64		generation;
	uint64		i;
	Oid			relid;
	LfSlaPolicy loaded[LF_STAGE_COUNT];

	if (!lf_sla_registered)
	{
		lf_register_cache(&lf_sla_relid, lf_sla_reset);
		lf_sla_registered = true;
	}
	if (lf_sla_cxt == NULL)
		lf_sla_cxt = AllocSetContextCreate(CacheMemoryContext,
										   "lead_funnel SLA policies",
										   ALLOCSET_SMALL_SIZES);

	generation = lf_sla_generation;
	relid = lf_relation_oid("sla_policy");
	memset(loaded, 0, sizeof(loaded));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT stage, max_business_time, calendar FROM lead_funnel.sla_policy",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lead_funnel.sla_policy");

	/* nothing can fail from here on: replace the old cache */
	MemoryContextReset(lf_sla_cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			stage;

		stage = DatumGetLfStage(SPI_getbinval(tup, desc, 1, &isnull));
		if (!lf_stage_is_valid(stage))
			continue;
		loaded[stage].present = true;
		loaded[stage].max = *DatumGetIntervalP(SPI_getbinval(tup, desc, 2, &isnull));
		loaded[stage].calendar =
			MemoryContextStrdup(lf_sla_cxt,
								TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)));
	}
	SPI_finish();

	memcpy(lf_sla_policies, loaded, sizeof(loaded));
	lf_sla_relid = relid;
	/* an invalidation that arrived while we read leaves the cache stale */
	lf_sla_valid = (generation == lf_sla_generation);
}

/*
 * Due time of the service level of "stage" entered at "entered": false when
 * the stage has no policy.  Called by the core move path on every move.
 */
bool
lf_sla_due(LfStage stage, TimestampTz entered, TimestampTz *due)
{
	const LfSlaPolicy *p;

	if (!lf_stage_is_valid(stage))
		return false;
	if (!lf_sla_valid)
		lf_sla_load();
	p = &lf_sla_policies[stage];
	if (!p->present)
		return false;
	*due = lf_business_add(p->calendar, entered, &p->max);
	return true;
}

/* ---- the sweep ---- */

static SPIPlanPtr lf_sweep_plan = NULL;
static Oid	lf_sweep_relid = InvalidOid;
static bool lf_sweep_valid = false;
static bool lf_sweep_registered = false;

static void
lf_sweep_reset(void)
{
	lf_sweep_valid = false;
}

static void
lf_sweep_prepare(void)
{
	Oid			types[2];

	if (lf_sweep_valid)
		return;
	if (!lf_sweep_registered)
	{
		lf_register_cache(&lf_sweep_relid, lf_sweep_reset);
		lf_sweep_registered = true;
	}
	lf_sweep_relid = lf_relation_oid("sla_breach");
	if (lf_sweep_plan)
		SPI_freeplan(lf_sweep_plan);
	lf_sweep_plan = NULL;

	/*
	 * $1 = as_of.  The first CTE takes the clocks that expired at as_of; the
	 * second keeps those whose lead is still in that stage entry (same stage,
	 * entry time and due time), and locks these leads; the anti-join skips
	 * leads whose breach of this stage entry is already recorded.
	 * RETURNING gives key, action, team and the NOTIFY payload of each breach
	 * inserted.
	 */
	types[0] = TIMESTAMPTZOID;
	lf_sweep_plan = lf_prepare_opts(
		"WITH k AS ("
		" DELETE FROM lead_funnel.sla_clock AS k"
		"  WHERE k.sla_due_at OPERATOR(pg_catalog.<=) $1"
		"  RETURNING k.lead_key, k.stage, k.stage_entered_at, k.sla_due_at),"
		" c AS ("
		" SELECT l.lead_key, l.stage, l.team, l.sla_due_at, l.stage_entered_at"
		"   FROM k JOIN lead_funnel.lead AS l ON l.lead_key OPERATOR(pg_catalog.=) k.lead_key"
		"  WHERE l.stage OPERATOR(lead_funnel.=) k.stage"
		"    AND l.stage_entered_at OPERATOR(pg_catalog.=) k.stage_entered_at"
		"    AND l.sla_due_at OPERATOR(pg_catalog.=) k.sla_due_at"
		"    AND NOT EXISTS (SELECT FROM lead_funnel.sla_breach AS b"
		"                     WHERE b.lead_key OPERATOR(pg_catalog.=) l.lead_key"
		"                       AND b.stage OPERATOR(lead_funnel.=) l.stage"
		"                       AND b.stage_entered_at OPERATOR(pg_catalog.=) l.stage_entered_at"
		"                       AND b.sla_due_at OPERATOR(pg_catalog.=) l.sla_due_at)"
		"  ORDER BY l.sla_due_at, l.lead_key"
		"  FOR UPDATE OF l)"
		"INSERT INTO lead_funnel.sla_breach"
		" (lead_key, stage, team, sla_due_at, detected_at, action, stage_entered_at)"
		" SELECT c.lead_key, c.stage, c.team, c.sla_due_at, $1,"
		"        COALESCE(p.action, 'notify'), c.stage_entered_at"
		"   FROM c LEFT JOIN lead_funnel.sla_policy AS p"
		"     ON p.stage OPERATOR(lead_funnel.=) c.stage"
		"  ORDER BY c.sla_due_at, c.lead_key"
		" ON CONFLICT ON CONSTRAINT sla_breach_once DO NOTHING"
		" RETURNING lead_key, action, team,"
		"  pg_catalog.json_build_object('lead_key', lead_key, 'stage', stage,"
		"   'team', team, 'sla_due_at', sla_due_at, 'action', action)::text",
		1, types, CURSOR_OPT_CUSTOM_PLAN);
	lf_sweep_valid = true;
}

/* one breach inserted by the sweep, copied out of SPI's result */
typedef struct LfBreach
{
	char	   *lead_key;
	char	   *action;
	char	   *team;
	char	   *payload;
} LfBreach;

/*
 * recycle: move the lead to recycled through the core path (actor and source
 * "sla") in a subtransaction; when the agreement forbids it, warn and keep
 * the breach.
 */
static void
lf_sla_recycle(const char *lead_key, TimestampTz as_of)
{
	LfChange	c;
	ErrorData  *refused;

	lf_system_move(&c, lead_key, LF_STAGE_RECYCLED, "sla_expired", "sla", as_of);
	refused = lf_try_agreement(lf_apply_one, &c);
	if (refused == NULL)
		return;
	ereport(WARNING,
			(errcode(refused->sqlerrcode),
			 errmsg("lead \"%s\" breached its service level but could not be recycled",
					lead_key),
			 errdetail_internal("%s", refused->message),
			 errhint("The breach is recorded. Allow the move to \"recycled\" in lead_funnel.transition or change the policy's action.")));
	FreeErrorData(refused);
}

/* the longest payload NOTIFY accepts (async.c: BLCKSZ - NAMEDATALEN - 128) */
#define LF_NOTIFY_PAYLOAD_MAX	(BLCKSZ - NAMEDATALEN - 128)

PG_FUNCTION_INFO_V1(lf_sla_sweep);

/*
 * sla_sweep(as_of): record, announce and act on every breach found at as_of
 * that is not recorded yet; returns how many.
 */
Datum
lf_sla_sweep(PG_FUNCTION_ARGS)
{
	TimestampTz as_of;
	Datum		values[1];
	LfBreach   *breaches;
	uint64		n;
	uint64		i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be null")));
	as_of = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be finite")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lf_sweep_prepare();

	values[0] = TimestampTzGetDatum(as_of);
	lf_exec(lf_sweep_plan, values, NULL, 0);

	/* copy the result: the actions below run statements of their own */
	n = SPI_processed;
	breaches = (LfBreach *) palloc0(sizeof(LfBreach) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		breaches[i].lead_key = SPI_getvalue(tup, desc, 1);
		breaches[i].action = SPI_getvalue(tup, desc, 2);
		breaches[i].team = SPI_getvalue(tup, desc, 3);
		breaches[i].payload = SPI_getvalue(tup, desc, 4);
	}

	for (i = 0; i < n; i++)
	{
		LfBreach   *b = &breaches[i];

		if (strlen(b->payload) < LF_NOTIFY_PAYLOAD_MAX)
			Async_Notify("lead_funnel_sla", b->payload);
		else
			ereport(WARNING,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("breach of lead \"%s\" recorded without a notification",
							lf_clip_key(b->lead_key)),
					 errdetail("The notification payload would exceed %d bytes.",
							   LF_NOTIFY_PAYLOAD_MAX - 1)));

		if (strcmp(b->action, "recycle") == 0)
			lf_sla_recycle(b->lead_key, as_of);
		else if (strcmp(b->action, "reassign") == 0 &&
				 lf_route(b->lead_key, b->team, "sla_escalation") == NULL)
			ereport(WARNING,
					(errmsg("lead \"%s\" breached its service level but could not be reassigned",
							lf_clip_key(b->lead_key)),
					 errdetail("No other active team exists."),
					 errhint("The breach is recorded. Add a team to lead_funnel.team or change the policy's action.")));
	}

	SPI_finish();
	PG_RETURN_INT32((int32) n);
}
