/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The transition graph, the ledger, and the one core path that moves
 *	  leads: lf_apply_changes(), behind move(), the CRM trigger and backfill.
 *
 * The core applies an array of changes (moves and side-column updates of
 * leads, in order) as one batch, whatever the array's length:
 *	 1. sort the changes by key (byte order), which gives each lead once;
 *	 2. read the leads that exist through the primary key, locking each
 *		in key order (so concurrent batches cannot deadlock); a batch of
 *		10 000 leads or more locks the lead table against other writers
 *		instead, and reads its leads in one pass over the table when they
 *		are most of it;
 *	 3. validate every change in C against the cached transition graph and
 *		the state the previous changes left: allowed move, requires_reason,
 *		events in time order per lead; the SLA due time of the new stage;
 *	 4. insert the new leads (one statement, ON CONFLICT DO NOTHING: when
 *		another session created one first, it is locked and the batch
 *		validated again);
 *	 5. write the events, ordered by lead and within a lead in batch order,
 *		then the new state of every touched lead, in heap order, and the
 *		SLA clocks of the stages entered: directly (tableio.c), with no SQL;
 *	 6. record teams given by hand as manual assignments;
 *	 7. record deals, and route new MQLs that have no team.
 * move() applies one change.  The CRM row trigger buffers its changes and
 * the statement trigger applies them when the statement ends, which makes an
 * UPDATE of many CRM rows one batch instead of work per row.
 * Violations of soft changes (on_invalid = record) are recorded instead of
 * raised, once validation is final.
 *
 * The transition graph is cached per backend as a 10 x 10 matrix (row 0 =
 * entry of a new lead) and rebuilt lazily after the relcache callback of
 * module.c marks it stale.  Plans are prepared once per backend under a
 * search path holding only pg_catalog (plans keep the search path they were
 * prepared with), and prepared again when the extension was re-created.
 *
 * The ledger tables have a statement trigger that rejects writes unless
 * lf_ledger_write_allowed is set; lf_exec() sets it around our own
 * statements only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/executor.h"
#include "access/xact.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "storage/itemptr.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "lead_funnel.h"

/* ---- the transition graph cache ---- */

#define LF_T_NONE		0
#define LF_T_ALLOWED	1
#define LF_T_REASON		2

static int8 lf_graph[LF_STAGE_COUNT][LF_STAGE_COUNT];	/* [from][to], 0 = entry */
static bool lf_graph_valid = false;
static Oid	lf_graph_relid = InvalidOid;
static bool lf_graph_registered = false;

static void
lf_graph_reset(void)
{
	lf_graph_valid = false;
	lf_graph_relid = InvalidOid;
}

static void
lf_graph_load(void)
{
	uint64		i;
	int8		graph[LF_STAGE_COUNT][LF_STAGE_COUNT];
	Oid			relid;

	if (lf_graph_valid)
		return;
	if (!lf_graph_registered)
	{
		lf_register_cache(&lf_graph_relid, lf_graph_reset);
		lf_graph_registered = true;
	}

	relid = lf_relation_oid("transition");
	memset(graph, 0, sizeof(graph));
	if (SPI_execute("SELECT from_stage, to_stage, requires_reason FROM lead_funnel.transition",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lead_funnel.transition");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		int			from = 0;
		int			to;
		bool		reason;

		d = SPI_getbinval(tup, desc, 1, &isnull);
		if (!isnull)
			from = DatumGetLfStage(d);
		to = DatumGetLfStage(SPI_getbinval(tup, desc, 2, &isnull));
		reason = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		if (lf_stage_is_valid(to) && (from == 0 || lf_stage_is_valid(from)))
			graph[from][to] = reason ? LF_T_REASON : LF_T_ALLOWED;
	}
	memcpy(lf_graph, graph, sizeof(graph));
	lf_graph_relid = relid;
	lf_graph_valid = true;
}

/* "sal, recycled and disqualified", or NULL when the row is empty */
static char *
lf_allowed_list(int from)
{
	StringInfoData buf;
	int			to;
	int			n = 0;
	int			total = 0;

	for (to = 1; to < LF_STAGE_COUNT; to++)
		if (lf_graph[from][to] != LF_T_NONE)
			total++;
	if (total == 0)
		return NULL;
	initStringInfo(&buf);
	for (to = 1; to < LF_STAGE_COUNT; to++)
	{
		if (lf_graph[from][to] == LF_T_NONE)
			continue;
		if (n > 0)
			appendStringInfoString(&buf, n == total - 1 ? " and " : ", ");
		appendStringInfoString(&buf, lf_stage_name((LfStage) to));
		if (lf_graph[from][to] == LF_T_REASON)
			appendStringInfoString(&buf, " (with a reason)");
		n++;
	}
	return buf.data;
}

/* ---- prepared plans ---- */


/* batches with at least this many leads lock the lead table, not rows */
#define LF_TABLE_LOCK_KEYS 10000
static SPIPlanPtr lf_plan_insert = NULL;
static SPIPlanPtr lf_plan_deal = NULL;
static SPIPlanPtr lf_plan_violation = NULL;
static SPIPlanPtr lf_plan_manual = NULL;
static Oid	lf_plans_relid = InvalidOid;	/* lead table the plans were made for */
static bool lf_plans_valid = false;
static bool lf_plans_registered = false;
static Oid	lf_owner = InvalidOid;
static Oid	lf_stage_typid = InvalidOid;
static Oid	lf_stage_arrayid = InvalidOid;

static void
lf_plans_reset(void)
{
	lf_plans_valid = false;
}

Oid
lf_stage_type_oid(void)
{
	if (!lf_plans_valid)
		lf_prepare_plans();
	return lf_stage_typid;
}

Oid
lf_extension_owner(void)
{
	if (!lf_plans_valid)
		lf_prepare_plans();
	return lf_owner;
}

/*
 * Run fn(arg) as the extension's owner (SECURITY_LOCAL_USERID_CHANGE),
 * connected to SPI: the CRM triggers run as the CRM user, who needs no
 * right on lead_funnel, yet write the ledger and read our config into the
 * per-backend caches.  Only our own code runs inside: never a CRM type's
 * output function or anything else a user could have written.
 */
void
lf_as_owner(void (*fn) (void *arg), void *arg)
{
	Oid			save_userid;
	int			save_sec;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(lf_extension_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		fn(arg);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	SPI_finish();
}

/*
 * A move the extension makes itself (automatic MQL, an SLA action): actor
 * and source are who, validated like any other move.
 */
void
lf_system_move(LfChange *c, const char *lead_key, LfStage to, const char *reason,
			   const char *who, TimestampTz at)
{
	memset(c, 0, sizeof(*c));
	c->lead_key = lead_key;
	c->has_move = true;
	c->to_stage = to;
	c->reason = reason;
	c->actor = who;
	c->source = who;
	c->occurred_at = at;
}

/* apply one change (an LfChange *), as a callback of lf_as_owner() or
 * lf_try_agreement() */
void
lf_apply_one(void *change)
{
	LfApplyResult res;

	lf_apply_changes((LfChange *) change, 1, false, &res);
}

/* a deal amount: a finite number of at least 0 (record_deal, amount_column) */
bool
lf_deal_amount_valid(Numeric amount)
{
	return !numeric_is_nan(amount) && !numeric_is_inf(amount) &&
		!DatumGetBool(DirectFunctionCall2(numeric_lt, NumericGetDatum(amount),
										  DirectFunctionCall1(int4_numeric, Int32GetDatum(0))));
}

/*
 * Prepare a plan under a search path of pg_catalog only and keep it (plans
 * keep the search path they were prepared with, also when replanned).
 */
SPIPlanPtr
lf_prepare(const char *sql, int nargs, Oid *argtypes)
{
	return lf_prepare_opts(sql, nargs, argtypes, 0);
}

/* the same with cursor options (CURSOR_OPT_CUSTOM_PLAN, ...) */
SPIPlanPtr
lf_prepare_opts(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	OverrideSearchPath path;
	volatile SPIPlanPtr plan = NULL;

	path.schemas = NIL;
	path.addCatalog = true;
	path.addTemp = false;
	path.generation = 0;
	PushOverrideSearchPath(&path);
	PG_TRY();
	{
		plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
	}
	PG_FINALLY();
	{
		PopOverrideSearchPath();
	}
	PG_END_TRY();
	return plan;
}

static void
lf_free_plan(SPIPlanPtr *plan)
{
	if (*plan)
		SPI_freeplan(*plan);
	*plan = NULL;
}

/* parameters of the insert of new leads, all arrays */
enum
{
	I_KEY, I_STAGE, I_ENTERED, I_CREATED, I_OWNER, I_TEAM, I_CAMPAIGN, I_SEGMENT,
	I_EXISTING, I_FIRST, I_RECYCLED = I_FIRST + 9, I_DUE, I_FIT, I_NPARAMS
};

/* the stages with a first-reached column, in the order of lead's columns */
static const LfStage lf_first_cols[9] = {
	LF_STAGE_PROSPECT, LF_STAGE_MQL, LF_STAGE_SAL, LF_STAGE_SQL,
	LF_STAGE_OPPORTUNITY, LF_STAGE_CUSTOMER, LF_STAGE_RECYCLED,
	LF_STAGE_DISQUALIFIED, LF_STAGE_LOST
};

void
lf_prepare_plans(void)
{
	Oid			nsp;
	Oid			relid;
	HeapTuple	tup;
	Oid			st;
	Oid			sta;
	Oid			t[8];

	if (lf_plans_valid)
		return;
	if (!lf_plans_registered)
	{
		lf_register_cache(&lf_plans_relid, lf_plans_reset);
		lf_plans_registered = true;
	}

	nsp = lf_schema_oid();
	relid = lf_relation_oid("lead");
	st = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
						 CStringGetDatum("stage"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(st))
		elog(ERROR, "type lead_funnel.stage does not exist");
	sta = get_array_type(st);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	lf_owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	lf_free_plan(&lf_plan_insert);
	lf_free_plan(&lf_plan_deal);
	lf_free_plan(&lf_plan_violation);
	lf_free_plan(&lf_plan_manual);
	lf_stage_typid = st;
	lf_stage_arrayid = sta;

	/*
	 * New leads, as the batch leaves them (the final update skips them): a
	 * row written at its full width leaves the room its page keeps free for
	 * the lead's next moves (HOT updates), which a narrow first version
	 * followed by a wide one in the same transaction would have taken.
	 */
	{
		Oid			ti[I_NPARAMS];
		int			j;

		ti[I_KEY] = TEXTARRAYOID;
		ti[I_STAGE] = sta;
		ti[I_ENTERED] = TIMESTAMPTZARRAYOID;
		ti[I_CREATED] = TIMESTAMPTZARRAYOID;
		for (j = I_OWNER; j <= I_SEGMENT; j++)
			ti[j] = TEXTARRAYOID;
		ti[I_EXISTING] = BOOLARRAYOID;
		for (j = I_FIRST; j < I_FIRST + 9; j++)
			ti[j] = TIMESTAMPTZARRAYOID;
		ti[I_RECYCLED] = INT4ARRAYOID;
		ti[I_DUE] = TIMESTAMPTZARRAYOID;
		ti[I_FIT] = NUMERICARRAYOID;
		lf_plan_insert = lf_prepare_opts(
			"INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, created_at,"
			" owner, team, campaign, segment, is_existing_customer, prospect_at, mql_at, sal_at,"
			" sql_at, opportunity_at, customer_at, last_recycled_at, disqualified_at, lost_at,"
			" recycled_count, sla_due_at, fit_score)"
			" SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
			"  pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
			"  pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8),"
			"  pg_catalog.unnest($9), pg_catalog.unnest($10), pg_catalog.unnest($11),"
			"  pg_catalog.unnest($12), pg_catalog.unnest($13), pg_catalog.unnest($14),"
			"  pg_catalog.unnest($15), pg_catalog.unnest($16), pg_catalog.unnest($17),"
			"  pg_catalog.unnest($18), pg_catalog.unnest($19), pg_catalog.unnest($20),"
			"  pg_catalog.unnest($21)) AS u"
			" ON CONFLICT (lead_key) DO NOTHING RETURNING lead_key, ctid",
			I_NPARAMS, ti, CURSOR_OPT_GENERIC_PLAN);
	}

	t[0] = TEXTOID;
	t[1] = NUMERICOID;
	t[2] = TIMESTAMPTZOID;
	t[3] = BOOLOID;
	lf_plan_deal = lf_prepare(
		"INSERT INTO lead_funnel.deal (lead_key, amount, won_at, is_existing_customer)"
		" VALUES ($1, $2, $3, $4) RETURNING *",
		4, t);

	t[0] = TEXTOID;
	t[1] = TEXTOID;
	t[2] = TEXTOID;
	t[3] = st;
	t[4] = st;
	t[5] = TIMESTAMPTZOID;
	t[6] = TEXTOID;
	t[7] = TEXTOID;
	lf_plan_violation = lf_prepare(
		"INSERT INTO lead_funnel.violation (lead_key, crm_table, crm_status, from_stage,"
		" to_stage, occurred_at, sqlstate, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		8, t);

	/* teams given by hand, recorded like routing's decisions */
	t[0] = TEXTARRAYOID;
	t[1] = TEXTARRAYOID;
	t[2] = TIMESTAMPTZARRAYOID;
	lf_plan_manual = lf_prepare_opts(
		"INSERT INTO lead_funnel.assignment (lead_key, team, assigned_at, reason)"
		" SELECT pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3), 'manual'",
		3, t, CURSOR_OPT_GENERIC_PLAN);

	lf_plans_relid = relid;
	lf_plans_valid = true;
}

/*
 * Execute one of our plans that writes the ledger: the only place where the
 * write guard is lifted.
 */
int
lf_exec(SPIPlanPtr plan, Datum *values, const char *nulls, long count)
{
	volatile int ret = 0;
	bool		save = lf_ledger_write_allowed;

	lf_ledger_write_allowed = true;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, values, nulls, false, count);
	}
	PG_FINALLY();
	{
		lf_ledger_write_allowed = save;
	}
	PG_END_TRY();
	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	return ret;
}

/* ---- the core path: applying a batch of changes ---- */

/* state of one lead while a batch is validated */
typedef struct LfLead
{
	/* (8-byte members first, then the small ones: 200 000 of these per large batch) */
	const char *key;			/* the lead (points into a change) */
	/* as found in the table (after locking), or as we inserted it */
	TimestampTz init_entered;
	char	   *init_team;
	Datum		engagement;		/* as found (numeric), for auto-MQL */
	TimestampTz engagement_as_of;
	/* working state */
	TimestampTz entered;
	char	   *team;
	TimestampTz entry_at;
	/* accumulated for the final UPDATE */
	const char *owner;
	const char *campaign;
	const char *segment;
	TimestampTz team_assigned_at;	/* when the team last changed by hand */
	TimestampTz due;
	Datum		fit;
	TimestampTz fit_at;			/* when the fit score was computed */
	TimestampTz first_at[LF_STAGE_COUNT];
	int			recycled_inc;
	int			first_change;	/* its first change in the batch */
	ItemPointerData tid;		/* where its row is (locked or inserted) */
	bool		first_set[LF_STAGE_COUNT];
	bool		init_exists;
	LfStage		init_stage;
	bool		init_was_customer;
	bool		engagement_as_of_null;
	bool		inserted;		/* we inserted its row in this batch */
	bool		exists;
	LfStage		stage;
	bool		was_customer;
	bool		needs_insert;	/* new lead not yet in the table */
	LfStage		entry_stage;
	bool		dirty;
	bool		moved;
	bool		team_set;
	bool		has_due;
	bool		existing;
	bool		has_fit;
	bool		fit_isnull;
	bool		route;			/* route after the update */
} LfLead;

typedef struct LfDeal
{
	const char *key;
	Datum		amount;
	TimestampTz at;
	bool		existing;
} LfDeal;

static inline Datum
lf_text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

static bool
lf_blank(const char *s)
{
	if (s == NULL)
		return true;
	for (; *s; s++)
		if (!isspace((unsigned char) *s))
			return false;
	return true;
}

/* a violation of a soft change, recorded once validation is final */
typedef struct LfSoftViolation
{
	LfChange   *change;
	bool		has_from;
	LfStage		from;
	bool		has_to;
	int			sqlerrcode;
	char	   *message;
} LfSoftViolation;

/* a violation: raised, or (soft) kept for recording */
static void
lf_violation(LfChange *c, LfLead *l, int sqlerrcode, char *message, char *hint,
			 List **soft)
{
	LfSoftViolation *v;

	if (!c->soft)
		ereport(ERROR,
				(errcode(sqlerrcode),
				 errmsg_internal("%s", message),
				 hint ? errhint("%s", hint) : 0));
	v = palloc(sizeof(LfSoftViolation));
	v->change = c;
	v->has_from = l->exists;
	v->from = l->stage;
	v->has_to = c->has_move;
	v->sqlerrcode = sqlerrcode;
	v->message = message;
	*soft = lappend(*soft, v);
}

/* an event of the batch, for ordering the events by lead */
typedef struct LfEventPos
{
	const char *key;
	int			i;				/* position in the batch's events */
} LfEventPos;

/* a lead and the position of its row, for walking the leads in heap order */
typedef struct LfRowPos
{
	uint64		row;			/* block << 16 | offset */
	LfLead	   *lead;
} LfRowPos;

static int
lf_row_pos_cmp(const void *a, const void *b)
{
	uint64		x = ((const LfRowPos *) a)->row;
	uint64		y = ((const LfRowPos *) b)->row;

	return (x > y) - (x < y);
}

/* reset the working state of every lead to what the table holds */
static void
lf_reset_states(LfLead **order, int nkeys)
{
	int			k;

	for (k = 0; k < nkeys; k++)
	{
		LfLead	   *l = order[k];
		const char *key = l->key;
		LfLead		save = *l;

		memset(l, 0, sizeof(*l));
		l->key = key;
		l->init_exists = save.init_exists;
		l->init_stage = save.init_stage;
		l->init_entered = save.init_entered;
		l->init_team = save.init_team;
		l->init_was_customer = save.init_was_customer;
		l->engagement = save.engagement;
		l->engagement_as_of = save.engagement_as_of;
		l->engagement_as_of_null = save.engagement_as_of_null;
		l->inserted = save.inserted;
		l->tid = save.tid;
		l->exists = save.init_exists;
		l->stage = save.init_stage;
		l->entered = save.init_entered;
		l->team = save.init_team;
		l->was_customer = save.init_was_customer;
	}
}

/* side columns of a change */
static void
lf_apply_side(LfChange *c, LfLead *l)
{
	if (c->owner)
		l->owner = c->owner, l->dirty = true;
	if (c->campaign)
		l->campaign = c->campaign, l->dirty = true;
	if (c->segment)
		l->segment = c->segment, l->dirty = true;
	if (c->team)
	{
		/* a team given by hand (move(team => ...), a CRM team column) */
		if (l->team == NULL || strcmp(l->team, c->team) != 0)
			l->team_assigned_at = c->occurred_at;
		l->team = (char *) c->team;
		l->team_set = true;
		l->dirty = true;
	}
	if (c->has_fit)
	{
		l->fit_at = c->occurred_at;
		l->has_fit = true;
		l->fit_isnull = c->fit_isnull;
		l->fit = c->fit;
		l->dirty = true;
	}
}

/*
 * Validate the batch in order against the working states, collecting the
 * events to write.  Raises (hard changes) or records (soft changes) every
 * violation.  Deterministic given the initial states.
 */
static void
lf_validate(LfChange *changes, int n, LfLead **lead_of, int *event_idx, LfStage *event_from,
			char **event_team, int *nevents, List **deals, List **soft)
{
	int			i;
	TimestampTz future_limit = GetCurrentTransactionStartTimestamp() + USECS_PER_DAY;

	*nevents = 0;
	*deals = NIL;
	for (i = 0; i < n; i++)
	{
		LfChange   *c = &changes[i];
		LfLead	   *l = lead_of[i];
		LfStage		to = c->to_stage;
		LfStage		from;

		Assert(l != NULL);
		if (c->violation)
		{
			/* found by the caller (an unmapped CRM status) */
			lf_violation(c, l, c->violation_code, (char *) c->violation, NULL, soft);
			continue;
		}
		if (!c->has_move)
		{
			if (l->exists)
				lf_apply_side(c, l);
			continue;
		}
		if (c->occurred_at > future_limit)
		{
			/*
			 * Events are applied in time order per lead: one dated years
			 * ahead (a typo) would refuse every later move of the lead.
			 */
			lf_violation(c, l, ERRCODE_DATETIME_VALUE_OUT_OF_RANGE,
						 psprintf("move of lead \"%s\" at %s is more than a day after now",
								  c->lead_key, pstrdup(timestamptz_to_str(c->occurred_at))),
						 pstrdup("A move is dated when it happened: at most one day ahead of the server's clock."),
						 soft);
			continue;
		}
		if (!l->exists)
		{
			if (!c->force_entry && lf_graph[0][to] == LF_T_NONE)
			{
				char	   *allowed = lf_allowed_list(0);

				lf_violation(c, l, ERRCODE_LF_INVALID_TRANSITION,
							 psprintf("lead \"%s\" cannot enter the funnel at stage \"%s\"",
									  c->lead_key, lf_stage_name(to)),
							 allowed ? psprintf("New leads may enter at %s.", allowed)
							 : pstrdup("The transition graph allows no entry: add rows with from_stage NULL to lead_funnel.transition."),
							 soft);
				continue;
			}
			if (!c->force_entry && lf_graph[0][to] == LF_T_REASON && lf_blank(c->reason))
			{
				lf_violation(c, l, ERRCODE_LF_REASON_REQUIRED,
							 psprintf("lead \"%s\" cannot enter the funnel at stage \"%s\" without a reason",
									  c->lead_key, lf_stage_name(to)),
							 pstrdup("The transition requires a reason: pass one."), soft);
				continue;
			}
			from = LF_STAGE_INVALID;
			l->exists = true;
			if (!l->inserted)
			{
				l->needs_insert = true;
				l->entry_stage = to;
				l->entry_at = c->occurred_at;
			}
		}
		else
		{
			from = l->stage;
			if (c->entry_only)
				continue;		/* backfill leaves existing leads alone */
			if (from == to)
			{
				if (c->side_on_noop)
					lf_apply_side(c, l);
				continue;		/* already there: a no-op */
			}
			if (lf_graph[from][to] == LF_T_NONE)
			{
				char	   *allowed = lf_allowed_list(from);

				lf_violation(c, l, ERRCODE_LF_INVALID_TRANSITION,
							 psprintf("lead \"%s\" cannot move from stage \"%s\" to stage \"%s\"",
									  c->lead_key, lf_stage_name(from), lf_stage_name(to)),
							 allowed ? psprintf("Allowed next stages from \"%s\": %s.",
												lf_stage_name(from), allowed)
							 : psprintf("No transition leaves stage \"%s\".", lf_stage_name(from)),
							 soft);
				continue;
			}
			if (lf_graph[from][to] == LF_T_REASON && lf_blank(c->reason))
			{
				lf_violation(c, l, ERRCODE_LF_REASON_REQUIRED,
							 psprintf("moving lead \"%s\" from stage \"%s\" to stage \"%s\" requires a reason",
									  c->lead_key, lf_stage_name(from), lf_stage_name(to)),
							 pstrdup("The agreement asks for a reason when a lead is sent back or discarded."),
							 soft);
				continue;
			}
			if (c->occurred_at < l->entered && c->time_is_now &&
				l->entered <= GetCurrentStatementStartTimestamp())
			{
				/*
				 * "now" is the transaction's start: another session may
				 * have moved the lead since and committed.  The change
				 * happens now, at the statement's start, after that event.
				 * (A last event dated after the statement's start, in the
				 * future, still makes it LF003.)
				 */
				c->occurred_at = GetCurrentStatementStartTimestamp();
			}
			if (c->occurred_at < l->entered)
			{
				lf_violation(c, l, ERRCODE_LF_OUT_OF_ORDER,
							 psprintf("move of lead \"%s\" at %s is earlier than its last event at %s",
									  c->lead_key,
									  pstrdup(timestamptz_to_str(c->occurred_at)),
									  pstrdup(timestamptz_to_str(l->entered))),
							 pstrdup("Apply a lead's events in time order; sort history before importing it."),
							 soft);
				continue;
			}
		}

		/* the move is valid */
		lf_apply_side(c, l);
		if (to == LF_STAGE_CUSTOMER && c->has_amount)
		{
			LfDeal	   *d = palloc(sizeof(LfDeal));

			d->key = c->lead_key;
			d->amount = c->amount;
			d->at = c->occurred_at;
			d->existing = l->was_customer;
			*deals = lappend(*deals, d);
		}
		if (from == LF_STAGE_CUSTOMER && to == LF_STAGE_OPPORTUNITY)
			l->existing = true;
		if (to == LF_STAGE_CUSTOMER)
			l->was_customer = true;
		if (to == LF_STAGE_RECYCLED)
			l->recycled_inc++;
		if (!l->first_set[to] || to == LF_STAGE_RECYCLED)
		{
			/* recycled keeps the last time, the others the first */
			l->first_set[to] = true;
			l->first_at[to] = c->occurred_at;
		}
		l->stage = to;
		l->entered = c->occurred_at;
		l->moved = true;
		l->dirty = true;
		l->has_due = lf_sla_due(to, c->occurred_at, &l->due);
		/*
		 * a new MQL without a team is routed, also when the same batch
		 * takes it further (a CRM statement with MQL and then Working)
		 */
		if (to == LF_STAGE_MQL)
			l->route = (l->team == NULL);

		event_idx[*nevents] = i;
		event_from[*nevents] = from;
		event_team[*nevents] = l->team;
		(*nevents)++;
	}
}

/*
 * A change's key and position: sorted by key (byte order), then position.
 * abbrev holds the key's first 8 bytes, big-endian and zero-padded, so that
 * most comparisons are one integer comparison (as the sort of text datums
 * does with abbreviated keys).
 */
typedef struct LfKeyPos
{
	uint64		abbrev;
	const char *key;
	int			i;
} LfKeyPos;

static uint64
lf_key_abbrev(const char *key)
{
	uint64		v = 0;
	int			j;

	for (j = 0; j < 8; j++)
	{
		v <<= 8;
		if (*key != '\0')
			v |= (unsigned char) *key++;
	}
	return v;
}

static int
lf_key_pos_cmp(const void *a, const void *b)
{
	const LfKeyPos *x = a;
	const LfKeyPos *y = b;
	int			c;

	if (x->abbrev != y->abbrev)
		return x->abbrev < y->abbrev ? -1 : 1;
	c = strcmp(x->key, y->key);
	if (c != 0)
		return c;
	return (x->i > y->i) - (x->i < y->i);
}

/* the lead with this key among leads[0..n-1] (in key order) */
static LfLead *
lf_find_lead(LfLead *leads, int n, const char *key)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = strcmp(key, leads[mid].key);

		if (c == 0)
			return &leads[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	elog(ERROR, "lead_funnel: lead \"%s\" is not in the batch", key);
	return NULL;				/* keep compiler quiet */
}

/*
 * The keys of a batch's leads, for one pass over the lead table: a hash
 * table from key bytes to the batch's lead.
 */
typedef struct LfKeyRef
{
	const char *p;
	uint32		len;
} LfKeyRef;

typedef struct LfKeyEntry
{
	LfKeyRef	key;
	LfLead	   *lead;
	uint32		hash;
	char		status;
} LfKeyEntry;

#define SH_PREFIX		lfkeys
#define SH_ELEMENT_TYPE LfKeyEntry
#define SH_KEY_TYPE		LfKeyRef
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	hash_bytes((const unsigned char *) (k).p, (int) (k).len)
#define SH_EQUAL(tb, a, b)	((a).len == (b).len && memcmp((a).p, (b).p, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a)	((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * A batch that holds the lead table lock reads its leads in one pass over
 * the table instead of one probe of the primary key per lead when the table
 * has at most one page for every this many of the batch's leads.  Reading a
 * page of leads and hashing their keys costs less than a probe: 10 000
 * leads took 60 ms in one pass over 6 300 pages against 68 ms probed, and
 * the two were on par over 17 500 pages.
 */
#define LF_SCAN_KEYS_PER_PAGE 1

/* the columns of a lead row that a batch starts from */
typedef struct LfLeadCols
{
	int			key,
				stage,
				entered,
				team,
				customer,
				eng,
				as_of,
				last;
} LfLeadCols;

/* take the state of lead l from the row in slot */
static void
lf_take_lead(LfLead *l, TupleTableSlot *slot, const LfLeadCols *c)
{
	bool		isnull;
	Datum		d;

	slot_getsomeattrs(slot, c->last + 1);
	l->init_exists = true;
	l->init_stage = DatumGetLfStage(slot->tts_values[c->stage]);
	l->init_entered = DatumGetTimestampTz(slot->tts_values[c->entered]);
	l->init_team = slot->tts_isnull[c->team] ? NULL :
		TextDatumGetCString(slot->tts_values[c->team]);
	l->init_was_customer = !slot->tts_isnull[c->customer];
	d = slot->tts_values[c->eng];
	isnull = slot->tts_isnull[c->eng];
	l->engagement = isnull ? (Datum) 0 : datumCopy(d, false, -1);
	l->engagement_as_of_null = slot->tts_isnull[c->as_of];
	l->engagement_as_of = l->engagement_as_of_null ? 0 :
		DatumGetTimestampTz(slot->tts_values[c->as_of]);
	l->tid = slot->tts_tid;
}

/*
 * Find the leads of list[0..n-1] (in key order) that exist (batches lock in
 * the same order: no deadlock between them), lock them unless the caller
 * holds the table lock, and take their current state.  Through the primary
 * key, or (table lock held, most of the table wanted) in one pass over the
 * table; with no SQL statement (tableio.c).
 */
static void
lf_read_leads(LfLead **list, int n, bool lock)
{
	LfTable    *t;
	LfLeadCols	c;
	int			k;

	if (n == 0)
		return;
	t = lf_table_open("lead");
	c.key = lf_table_col(t, "lead_key");
	c.stage = lf_table_col(t, "stage");
	c.entered = lf_table_col(t, "stage_entered_at");
	c.team = lf_table_col(t, "team");
	c.customer = lf_table_col(t, "customer_at");
	c.eng = lf_table_col(t, "engagement");
	c.as_of = lf_table_col(t, "engagement_as_of");
	c.last = Max(Max(c.stage, c.entered), Max(Max(c.team, c.customer), Max(c.eng, c.as_of)));
	if (!lock && (double) lf_table_pages(t) * LF_SCAN_KEYS_PER_PAGE <= n)
	{
		lfkeys_hash *keys = lfkeys_create(CurrentMemoryContext, n, NULL);
		TableScanDesc scan;
		int			left = n;

		for (k = 0; k < n; k++)
		{
			LfKeyRef	ref;
			LfKeyEntry *e;
			bool		found;

			ref.p = list[k]->key;
			ref.len = strlen(list[k]->key);
			e = lfkeys_insert(keys, ref, &found);
			Assert(!found);
			e->lead = list[k];
		}
		elog(DEBUG1, "lead_funnel: %d leads read in one pass over the lead table", n);
		scan = lf_table_scan_begin(t);
		while (left > 0 && lf_table_scan_next(t, scan))
		{
			TupleTableSlot *slot = t->slot;
			LfKeyRef	ref;
			LfKeyEntry *e;
			struct varlena *v;

			slot_getsomeattrs(slot, c.key + 1);
			if (slot->tts_isnull[c.key])
				continue;
			v = (struct varlena *) DatumGetPointer(slot->tts_values[c.key]);
			if (VARATT_IS_EXTENDED(v))
				v = pg_detoast_datum_packed(v);
			ref.p = VARDATA_ANY(v);
			ref.len = VARSIZE_ANY_EXHDR(v);
			e = lfkeys_lookup(keys, ref);
			if (e == NULL)
				continue;
			lf_take_lead(e->lead, slot, &c);
			left--;
		}
		lf_table_scan_end(t, scan);
		lfkeys_destroy(keys);
	}
	else
	{
		if (!lock)
			elog(DEBUG1, "lead_funnel: %d leads read by key", n);
		for (k = 0; k < n; k++)
		{
			if (!lf_table_find_key(t, list[k]->key, lock))
				continue;
			lf_take_lead(list[k], t->slot, &c);
			ExecClearTuple(t->slot);
		}
	}
	lf_table_close(t);
}

/*
 * Array builders: the values are collected as they come and the array is
 * formed once at the end (no per-element copy or regrowth of the array
 * itself, as accumArrayResult would do for every text element).
 */
typedef struct LfArr
{
	Datum	   *values;
	bool	   *nulls;
	int			n;
	int			size;
	Oid			elemtype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
} LfArr;

static void
lf_arr_init(LfArr *a, Oid elemtype, int capacity)
{
	/* storage of the element types, looked up once per backend */
	static struct
	{
		Oid			type;
		int16		typlen;
		bool		typbyval;
		char		typalign;
	}			known[8];
	static int	nknown = 0;
	int			i;

	a->size = Max(capacity, 8);
	a->n = 0;
	a->values = palloc(sizeof(Datum) * a->size);
	a->nulls = palloc(sizeof(bool) * a->size);
	a->elemtype = elemtype;
	for (i = 0; i < nknown && known[i].type != elemtype; i++)
		;
	if (i < nknown)
	{
		a->typlen = known[i].typlen;
		a->typbyval = known[i].typbyval;
		a->typalign = known[i].typalign;
		return;
	}
	get_typlenbyvalalign(elemtype, &a->typlen, &a->typbyval, &a->typalign);
	/* only built-in types: a dropped type's OID could come back as another */
	if (elemtype < FirstNormalObjectId && nknown < lengthof(known))
	{
		known[nknown].type = elemtype;
		known[nknown].typlen = a->typlen;
		known[nknown].typbyval = a->typbyval;
		known[nknown].typalign = a->typalign;
		nknown++;
	}
}

static inline void
lf_arr_add(LfArr *a, Datum d, bool isnull)
{
	if (a->n == a->size)
	{
		a->size *= 2;
		a->values = repalloc(a->values, sizeof(Datum) * a->size);
		a->nulls = repalloc(a->nulls, sizeof(bool) * a->size);
	}
	a->values[a->n] = isnull ? (Datum) 0 : d;
	a->nulls[a->n] = isnull;
	a->n++;
}

static inline void
lf_arr_text(LfArr *a, const char *s)
{
	lf_arr_add(a, s ? CStringGetTextDatum(s) : (Datum) 0, s == NULL);
}

static Datum
lf_arr_done(LfArr *a)
{
	int			dims[1];
	int			lbs[1];

	dims[0] = a->n;
	lbs[0] = 1;
	return PointerGetDatum(construct_md_array(a->values, a->nulls, 1, dims, lbs,
											  a->elemtype, a->typlen, a->typbyval,
											  a->typalign));
}

/*
 * Apply changes, in order, set-based: lock the leads, validate every change
 * against the transition graph and the state it leaves for the next, then
 * insert the new leads, the events (one statement) and the new state of
 * every touched lead (one statement), deals, and route new MQLs.
 * Callers are connected to SPI and run as the extension owner.
 */
/* a text datum equals a C string (compared in place, no copy) */
static bool
lf_text_equals(Datum d, const char *s)
{
	text	   *t = DatumGetTextPP(d);
	size_t		n = VARSIZE_ANY_EXHDR(t);

	return n == strlen(s) && memcmp(VARDATA_ANY(t), s, n) == 0;
}

/* a text column of a new row: the string, or NULL */
static void
lf_set_text(Datum *values, bool *nulls, int col, const char *s)
{
	nulls[col] = (s == NULL);
	if (s != NULL)
		values[col] = CStringGetTextDatum(s);
}

/* a text column of an updated row: the string, or keep the old value */
static void
lf_set_text_keep(Datum *values, bool *nulls, int col, const char *s)
{
	if (s != NULL)
	{
		values[col] = CStringGetTextDatum(s);
		nulls[col] = false;
	}
}

void
lf_apply_changes(LfChange *changes, int n, bool want_event, LfApplyResult *result)
{
	LfLead	   *leads;			/* the batch's leads, in key order */
	LfLead	  **lead_of;		/* the lead of each change */
	LfKeyPos   *bykey;
	int			nfirst;
	int			i;
	int			nkeys = 0;
	int		   *event_idx;
	LfStage    *event_from;
	char	  **event_team;
	int			nevents;
	List	   *deals;
	List	   *soft = NIL;
	ListCell   *lc;
	int			attempt;
	Datum		v[4];
	bool		table_locked;
	LfLead	  **order;
	int			k;
	LfLead	   *l;
	int			guc_nestlevel = 0;

	memset(result, 0, sizeof(*result));
	if (n == 0)
		return;

	/*
	 * A config edit another session committed before this statement must
	 * count for it: take in pending invalidations before the caches are
	 * trusted (within a transaction that already holds its locks, nothing
	 * else would process them before our first new lock).
	 */
	AcceptInvalidationMessages();
	lf_prepare_plans();
	lf_graph_load();

	/*
	 * Large batches sort and hash their keys: give them memory for that, and
	 * no JIT (restored when we are done, or by the abort of the transaction).
	 */
	if (n > 1000)
	{
		guc_nestlevel = NewGUCNestLevel();
		if (work_mem < 65536)
			(void) set_config_option("work_mem", "65536", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		/* our statements are simple; compiling them costs more than it saves */
		(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}

	/*
	 * The batch's leads: the changes sorted by key (and batch order within a
	 * key) give each lead once, in key order (the order leads are locked
	 * in, and events written in); "order" keeps them in the order they first
	 * appear in the batch.
	 */
	for (i = 0; i < n; i++)
	{
		if (changes[i].lead_key == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("lead key must not be null")));
		if (!lf_stage_is_valid(changes[i].to_stage) && changes[i].has_move)
			elog(ERROR, "invalid stage code %d", (int) changes[i].to_stage);
	}
	bykey = palloc(sizeof(LfKeyPos) * n);
	for (i = 0; i < n; i++)
	{
		bykey[i].key = changes[i].lead_key;
		bykey[i].abbrev = lf_key_abbrev(changes[i].lead_key);
		bykey[i].i = i;
	}
	qsort(bykey, n, sizeof(LfKeyPos), lf_key_pos_cmp);
	lead_of = palloc(sizeof(LfLead *) * n);
	leads = palloc(sizeof(LfLead) * n);
	for (k = 0; k < n; k++)
	{
		if (k == 0 || strcmp(bykey[k].key, bykey[k - 1].key) != 0)
		{
			/* (the key is in indexes: a btree entry holds at most ~2.7 kB) */
			if (strlen(bykey[k].key) > LF_MAX_KEY_BYTES)
				ereport(ERROR,
						(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
						 errmsg("lead key \"%.40s...\" is too long", bykey[k].key),
						 errdetail("It has %zu bytes; a lead key has at most %d.",
								   strlen(bykey[k].key), LF_MAX_KEY_BYTES)));
			l = &leads[nkeys++];
			memset(l, 0, sizeof(LfLead));
			l->key = bykey[k].key;
			l->engagement_as_of_null = true;	/* set by the lock if the lead exists */
			l->first_change = bykey[k].i;
		}
		lead_of[bykey[k].i] = l;
	}
	order = palloc(sizeof(LfLead *) * nkeys);
	nfirst = 0;
	for (i = 0; i < n; i++)
	{
		if (lead_of[i]->first_change == i)
			order[nfirst++] = lead_of[i];
	}
	Assert(nfirst == nkeys);

	/*
	 * 1. lock the leads that exist.  A large batch (a bulk UPDATE of a CRM
	 * table) locks the lead table against other writers instead of locking
	 * each row: cheaper, and other sessions' moves wait for the commit
	 * just as they would for the row locks.
	 */
	table_locked = nkeys >= LF_TABLE_LOCK_KEYS;
	if (table_locked)
		LockRelationOid(lf_plans_relid, ShareRowExclusiveLock);
	{
		LfLead	  **sorted = palloc(sizeof(LfLead *) * nkeys);

		for (k = 0; k < nkeys; k++)
			sorted[k] = &leads[k];
		lf_read_leads(sorted, nkeys, !table_locked);
		pfree(sorted);
	}

	event_idx = palloc(sizeof(int) * n);
	event_from = palloc(sizeof(LfStage) * n);
	event_team = palloc(sizeof(char *) * n);

	/*
	 * 2. validate; 3. insert the new leads.  When another session inserted
	 * one of them first, lock it and validate the whole batch again.
	 */
	for (attempt = 0;; attempt++)
	{
		LfArr		ia[I_NPARAMS];
		Datum		iv[I_NPARAMS];
		int			nnew = 0;
		LfLead	  **conflicted;
		int			nconflicts = 0;

		lf_reset_states(order, nkeys);
		soft = NIL;
		lf_validate(changes, n, lead_of, event_idx, event_from, event_team,
					&nevents, &deals, &soft);

		{
			int			j;

			lf_arr_init(&ia[I_KEY], TEXTOID, nkeys);
			lf_arr_init(&ia[I_STAGE], lf_stage_typid, nkeys);
			lf_arr_init(&ia[I_ENTERED], TIMESTAMPTZOID, nkeys);
			lf_arr_init(&ia[I_CREATED], TIMESTAMPTZOID, nkeys);
			for (j = I_OWNER; j <= I_SEGMENT; j++)
				lf_arr_init(&ia[j], TEXTOID, nkeys);
			lf_arr_init(&ia[I_EXISTING], BOOLOID, nkeys);
			for (j = I_FIRST; j < I_FIRST + 9; j++)
				lf_arr_init(&ia[j], TIMESTAMPTZOID, nkeys);
			lf_arr_init(&ia[I_RECYCLED], INT4OID, nkeys);
			lf_arr_init(&ia[I_DUE], TIMESTAMPTZOID, nkeys);
			lf_arr_init(&ia[I_FIT], NUMERICOID, nkeys);
			for (k = 0; k < nkeys; k++)
			{
				l = order[k];
				if (!l->needs_insert)
					continue;
				lf_arr_text(&ia[I_KEY], l->key);
				lf_arr_add(&ia[I_STAGE], LfStageGetDatum(l->stage), false);
				lf_arr_add(&ia[I_ENTERED], TimestampTzGetDatum(l->entered), false);
				lf_arr_add(&ia[I_CREATED], TimestampTzGetDatum(l->entry_at), false);
				lf_arr_text(&ia[I_OWNER], l->owner);
				lf_arr_text(&ia[I_TEAM], l->team_set ? l->team : NULL);
				lf_arr_text(&ia[I_CAMPAIGN], l->campaign);
				lf_arr_text(&ia[I_SEGMENT], l->segment);
				lf_arr_add(&ia[I_EXISTING], BoolGetDatum(l->existing), false);
				for (j = 0; j < 9; j++)
					lf_arr_add(&ia[I_FIRST + j],
							   TimestampTzGetDatum(l->first_at[lf_first_cols[j]]),
							   !l->first_set[lf_first_cols[j]]);
				lf_arr_add(&ia[I_RECYCLED], Int32GetDatum(l->recycled_inc), false);
				lf_arr_add(&ia[I_DUE], TimestampTzGetDatum(l->due), !(l->moved && l->has_due));
				lf_arr_add(&ia[I_FIT], l->fit, !l->has_fit || l->fit_isnull);
				nnew++;
			}
			if (nnew == 0)
				break;
			for (j = 0; j < I_NPARAMS; j++)
				iv[j] = lf_arr_done(&ia[j]);
		}
		lf_exec(lf_plan_insert, iv, NULL, 0);
		for (i = 0; i < SPI_processed; i++)
		{
			char	   *key = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			bool		isnull;

			l = lf_find_lead(leads, nkeys, key);
			l->tid = *(ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[i],
														SPI_tuptable->tupdesc, 2, &isnull));
			l->inserted = true;
			l->needs_insert = false;
			result->nentered++;
		}
		if (SPI_processed == nnew)
			break;

		/* lost a race: lock the leads others created and start over */
		if (attempt > 3)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not create leads concurrently created by other sessions"),
					 errhint("Retry the transaction.")));
		conflicted = palloc(sizeof(LfLead *) * nkeys);
		for (k = 0; k < nkeys; k++)
		{
			l = &leads[k];
			if (l->needs_insert)
				conflicted[nconflicts++] = l;
		}
		lf_read_leads(conflicted, nconflicts, !table_locked);
	}
	result->nviolations = list_length(soft);
	foreach(lc, soft)
	{
		LfSoftViolation *sv = lfirst(lc);
		LfChange   *c = sv->change;

		lf_record_violation(c->lead_key, c->crm_table ? c->crm_table : "",
							c->crm_status, sv->has_from, sv->from, sv->has_to,
							c->to_stage, c->occurred_at, sv->sqlerrcode, sv->message);
	}

	/*
	 * 4. the events.  They go in ordered by lead (byte order, the "C"
	 * collation of lead_key) and within a lead in batch order: the primary
	 * key's leaf pages are then filled in sequence instead of at random, and
	 * event_id still follows time within a lead.  Written directly
	 * (tableio.c): no statement to start per batch, no arrays to build.
	 */
	if (nevents > 0)
	{
		LfEventPos *pos = palloc(sizeof(LfEventPos) * nevents);
		LfTable    *te = lf_table_open("stage_event");
		int			c_id = lf_table_col(te, "event_id");
		int			c_key = lf_table_col(te, "lead_key");
		int			c_from = lf_table_col(te, "from_stage");
		int			c_to = lf_table_col(te, "to_stage");
		int			c_at = lf_table_col(te, "occurred_at");
		int			c_actor = lf_table_col(te, "actor");
		int			c_team = lf_table_col(te, "team");
		int			c_reason = lf_table_col(te, "reason");
		int			c_source = lf_table_col(te, "source");
		MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
													 "lead_funnel event row",
													 ALLOCSET_DEFAULT_SIZES);
		MemoryContext old;

		/* the changes in key order give the events in key order */
		{
			int		   *event_of = palloc(sizeof(int) * n);
			int			m = 0;

			for (i = 0; i < n; i++)
				event_of[i] = -1;
			for (i = 0; i < nevents; i++)
				event_of[event_idx[i]] = i;
			for (k = 0; k < n; k++)
			{
				int			ev = event_of[bykey[k].i];

				if (ev >= 0)
				{
					pos[m].key = bykey[k].key;
					pos[m].i = ev;
					m++;
				}
			}
			Assert(m == nevents);
			pfree(event_of);
		}

		for (k = 0; k < nevents; k++)
		{
			LfChange   *c;
			Datum	   *ev;
			bool	   *en;

			i = pos[k].i;
			c = &changes[event_idx[i]];
			MemoryContextReset(rowcxt);
			old = MemoryContextSwitchTo(rowcxt);
			lf_table_new_row(te);
			ev = te->newslot->tts_values;
			en = te->newslot->tts_isnull;
			ev[c_id] = Int64GetDatum(lf_table_next_id(te));
			en[c_id] = false;
			ev[c_key] = CStringGetTextDatum(c->lead_key);
			en[c_key] = false;
			if (event_from[i] != LF_STAGE_INVALID)
			{
				ev[c_from] = LfStageGetDatum(event_from[i]);
				en[c_from] = false;
			}
			ev[c_to] = LfStageGetDatum(c->to_stage);
			en[c_to] = false;
			ev[c_at] = TimestampTzGetDatum(c->occurred_at);
			en[c_at] = false;
			lf_set_text(ev, en, c_actor, c->actor);
			lf_set_text(ev, en, c_team, event_team[i]);
			lf_set_text(ev, en, c_reason, c->reason);
			lf_set_text(ev, en, c_source, c->source);
			ExecStoreVirtualTuple(te->newslot);
			lf_table_insert_later(te);
			MemoryContextSwitchTo(old);
			if (want_event && k == 0)
			{
				result->event = ExecCopySlotHeapTuple(te->newslot);
				result->event_desc = CreateTupleDescCopy(te->newslot->tts_tupleDescriptor);
			}
			ResetPerTupleExprContext(te->estate);
		}
		lf_table_close(te);
		MemoryContextDelete(rowcxt);
		result->nevents = nevents;
	}

	/* 5. the new state of every lead the batch changed, in heap order */
	{
		LfLead	  **byrow;
		int			nbyrow = 0;
		static const char *const first_names[9] = {
			"prospect_at", "mql_at", "sal_at", "sql_at", "opportunity_at",
			"customer_at", "last_recycled_at", "disqualified_at", "lost_at"
		};

		{
			LfRowPos   *pos = palloc(sizeof(LfRowPos) * nkeys);

			for (k = 0; k < nkeys; k++)
			{
				l = order[k];
				if (!l->dirty)
					continue;
				pos[nbyrow].row = ((uint64) ItemPointerGetBlockNumberNoCheck(&l->tid) << 16) |
					ItemPointerGetOffsetNumberNoCheck(&l->tid);
				pos[nbyrow].lead = l;
				nbyrow++;
			}
			qsort(pos, nbyrow, sizeof(LfRowPos), lf_row_pos_cmp);
			byrow = palloc(sizeof(LfLead *) * Max(nbyrow, 1));
			for (k = 0; k < nbyrow; k++)
				byrow[k] = pos[k].lead;
			pfree(pos);
		}

		if (nbyrow > 0)
		{
			LfTable    *tl = lf_table_open("lead");
			int			c_key = lf_table_col(tl, "lead_key");
			int			c_stage = lf_table_col(tl, "stage");
			int			c_entered = lf_table_col(tl, "stage_entered_at");
			int			c_due = lf_table_col(tl, "sla_due_at");
			int			c_owner = lf_table_col(tl, "owner");
			int			c_team = lf_table_col(tl, "team");
			int			c_campaign = lf_table_col(tl, "campaign");
			int			c_segment = lf_table_col(tl, "segment");
			int			c_recycled = lf_table_col(tl, "recycled_count");
			int			c_existing = lf_table_col(tl, "is_existing_customer");
			int			c_fit = lf_table_col(tl, "fit_score");
			int			c_first[9];
			int			j;
			LfTable    *tc = NULL;	/* sla_clock, when a clock starts */
			int			cc_due = 0,
						cc_key = 0,
						cc_stage = 0,
						cc_entered = 0;
			MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
														 "lead_funnel lead row",
														 ALLOCSET_DEFAULT_SIZES);

			for (j = 0; j < 9; j++)
				c_first[j] = lf_table_col(tl, first_names[j]);
			for (k = 0; k < nbyrow; k++)
			{
				Datum	   *lv;
				bool	   *ln;
				MemoryContext old;

				l = byrow[k];
				MemoryContextReset(rowcxt);
				old = MemoryContextSwitchTo(rowcxt);
				/* a lead inserted by this batch has its final state already */
				if (!l->inserted)
				{
					/* the row we locked (or read, under the table lock) */
					if (!table_tuple_fetch_row_version(tl->rel, &l->tid, SnapshotAny, tl->slot))
						elog(ERROR, "lead_funnel: lead \"%s\" not found at its row", l->key);

					/*
					 * A large batch read its leads under a table lock, without
					 * row locks: under REPEATABLE READ a lead another session
					 * changed after our snapshot is a serialization failure, as
					 * for UPDATE (under READ COMMITTED the read came after the
					 * lock and saw the latest rows).
					 */
					if (table_locked && IsolationUsesXactSnapshot())
					{
						TM_FailureData tmfd;
						TM_Result	res;

						res = table_tuple_lock(tl->rel, &l->tid, GetTransactionSnapshot(), tl->slot,
											   GetCurrentCommandId(false), LockTupleNoKeyExclusive,
											   LockWaitBlock, 0, &tmfd);
						if (res == TM_Updated || res == TM_Deleted)
							ereport(ERROR,
									(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
									 errmsg("could not serialize access due to concurrent update")));
						if (res != TM_Ok && res != TM_SelfModified)
							elog(ERROR, "lead_funnel: could not lock lead \"%s\" (%d)", l->key, (int) res);
					}
					lf_table_copy_row(tl);
					lv = tl->newslot->tts_values;
					ln = tl->newslot->tts_isnull;
					if (ln[c_key] || !lf_text_equals(lv[c_key], l->key))
						elog(ERROR, "lead_funnel: the row of lead \"%s\" moved", l->key);
					if (l->moved)
					{
						lv[c_stage] = LfStageGetDatum(l->stage);
						lv[c_entered] = TimestampTzGetDatum(l->entered);
						lv[c_due] = TimestampTzGetDatum(l->due);
						ln[c_due] = !l->has_due;
					}
					lf_set_text_keep(lv, ln, c_owner, l->owner);
					lf_set_text_keep(lv, ln, c_team, l->team_set ? l->team : NULL);
					lf_set_text_keep(lv, ln, c_campaign, l->campaign);
					lf_set_text_keep(lv, ln, c_segment, l->segment);
					for (j = 0; j < 9; j++)
					{
						LfStage		st = lf_first_cols[j];

						/* first time reached: kept; last recycled: replaced */
						if (l->first_set[st] && (ln[c_first[j]] || st == LF_STAGE_RECYCLED))
						{
							lv[c_first[j]] = TimestampTzGetDatum(l->first_at[st]);
							ln[c_first[j]] = false;
						}
					}
					if (l->recycled_inc != 0)
						lv[c_recycled] = Int32GetDatum(DatumGetInt32(lv[c_recycled]) + l->recycled_inc);
					if (l->existing)
						lv[c_existing] = BoolGetDatum(true);
					if (l->has_fit)
					{
						lv[c_fit] = l->fit;
						ln[c_fit] = l->fit_isnull;
					}
					ExecStoreVirtualTuple(tl->newslot);

					/*
					 * open_team (the team while the lead is open) depends on
					 * stage and team only: computed again when the team
					 * changed, or the lead opened or closed with a team
					 */
					lf_table_update_ext(tl, (l->team_set && l->team != NULL &&
											 (tl->slot->tts_isnull[c_team] ||
											  !lf_text_equals(tl->slot->tts_values[c_team], l->team))) ||
										(l->moved && !ln[c_team] &&
										 lf_stage_is_open(l->stage) !=
										 lf_stage_is_open(DatumGetLfStage(tl->slot->tts_values[c_stage]))));
					ExecClearTuple(tl->slot);
					ResetPerTupleExprContext(tl->estate);
				}

				/* the SLA clock of the stage it entered */
				if (l->moved && l->has_due)
				{
					Datum	   *cv;
					bool	   *cn;

					if (tc == NULL)
					{
						tc = lf_table_open("sla_clock");
						cc_due = lf_table_col(tc, "sla_due_at");
						cc_key = lf_table_col(tc, "lead_key");
						cc_stage = lf_table_col(tc, "stage");
						cc_entered = lf_table_col(tc, "stage_entered_at");
					}
					lf_table_new_row(tc);
					cv = tc->newslot->tts_values;
					cn = tc->newslot->tts_isnull;
					cv[cc_due] = TimestampTzGetDatum(l->due);
					cn[cc_due] = false;
					cv[cc_key] = CStringGetTextDatum(l->key);
					cn[cc_key] = false;
					cv[cc_stage] = LfStageGetDatum(l->stage);
					cn[cc_stage] = false;
					cv[cc_entered] = TimestampTzGetDatum(l->entered);
					cn[cc_entered] = false;
					ExecStoreVirtualTuple(tc->newslot);
					lf_table_insert_later(tc);
					ResetPerTupleExprContext(tc->estate);
				}
				MemoryContextSwitchTo(old);
			}
			if (tc != NULL)
				lf_table_close(tc);
			lf_table_close(tl);
			MemoryContextDelete(rowcxt);
		}
	}

	/* 6. manual assignments: teams given by hand that changed the lead's team */
	{
		LfArr		ak,
					at,
					aw;
		int			nassign = 0;

		lf_arr_init(&ak, TEXTOID, 64);
		lf_arr_init(&at, TEXTOID, 64);
		lf_arr_init(&aw, TIMESTAMPTZOID, 64);
		for (k = 0; k < nkeys; k++)
		{
			l = order[k];
			if (!l->team_set || l->team == NULL ||
				(l->init_team != NULL && strcmp(l->init_team, l->team) == 0))
				continue;
			lf_arr_text(&ak, l->key);
			lf_arr_text(&at, l->team);
			lf_arr_add(&aw, TimestampTzGetDatum(l->team_assigned_at), false);
			nassign++;
		}
		if (nassign > 0)
		{
			v[0] = lf_arr_done(&ak);
			v[1] = lf_arr_done(&at);
			v[2] = lf_arr_done(&aw);
			lf_exec(lf_plan_manual, v, NULL, 0);
		}
	}

	/* 7. deals, and routing of new MQLs without a team */
	foreach(lc, deals)
	{
		LfDeal	   *d = lfirst(lc);

		lf_insert_deal(d->key, d->amount, d->at, d->existing);
	}
	for (k = 0; k < nkeys; k++)
	{
		l = order[k];
		if (l->route && lf_stage_is_open(l->stage) && l->team == NULL)
			lf_route_after_move(l->key);
	}
	/*
	 * 8. automatic MQL: a prospect or recycled lead whose new fit score,
	 * with its engagement at that time, reaches the model's threshold is
	 * handed over (a follow-up batch through this same path).
	 */
	{
		Interval	hl;
		Numeric		threshold;
		bool		auto_mql = false;
		LfChange   *mqls = NULL;
		int			nmql = 0;
		int			nrefused = 0;
		const char *refused_key = NULL;

		for (k = 0; k < nkeys; k++)
		{
			Datum		score;

			l = order[k];
			if (!l->has_fit || l->fit_isnull || !l->exists ||
				(l->stage != LF_STAGE_PROSPECT && l->stage != LF_STAGE_RECYCLED))
				continue;
			if (mqls == NULL)
			{
				if (!lf_scoring_model_get("default", &hl, &threshold, &auto_mql) || !auto_mql)
				{
					break;
				}
				mqls = palloc0(sizeof(LfChange) * nkeys);
			}
			score = l->fit;
			if (!l->engagement_as_of_null)
				score = DirectFunctionCall2(numeric_add, score,
											DirectFunctionCall4(lf_decayed, l->engagement,
																TimestampTzGetDatum(l->engagement_as_of),
																TimestampTzGetDatum(Max(l->fit_at, l->engagement_as_of)),
																IntervalPGetDatum(&hl)));
			if (!DatumGetBool(DirectFunctionCall2(numeric_ge, score, NumericGetDatum(threshold))))
				continue;
			/*
			 * The agreement may not let the lead go to mql (no transition,
			 * or only with a reason): the CRM write must not fail for that.
			 * The lead stays; a warning says so (as record_activity does).
			 */
			if (lf_graph[l->stage][LF_STAGE_MQL] != LF_T_ALLOWED)
			{
				if (nrefused++ == 0)
					refused_key = l->key;
				continue;
			}
			lf_system_move(&mqls[nmql++], l->key, LF_STAGE_MQL, NULL, "scoring",
						   Max(l->fit_at, l->entered));
		}
		if (nrefused > 0)
			ereport(WARNING,
					(errcode(ERRCODE_LF_INVALID_TRANSITION),
					 errmsg("%d lead(s) reached the MQL threshold but could not be moved to mql, lead \"%s\" first",
							nrefused, refused_key),
					 errdetail("The transition graph does not allow the move without a reason."),
					 errhint("Allow it in lead_funnel.transition, or turn auto_mql off.")));
		if (nmql > 0)
		{
			LfApplyResult more;

			lf_apply_changes(mqls, nmql, false, &more);
			result->nevents += more.nevents;
		}
	}

	/* (the tuple of want_event must survive: it is in the caller's context) */
	pfree(leads);
	pfree(lead_of);
	pfree(bykey);
	pfree(order);
	if (guc_nestlevel > 0)
		AtEOXact_GUC(true, guc_nestlevel);
}

void
lf_insert_deal(const char *lead_key, Datum amount, TimestampTz won_at,
			   bool existing)
{
	Datum		values[4];

	lf_prepare_plans();
	values[0] = CStringGetTextDatum(lead_key);
	values[1] = amount;
	values[2] = TimestampTzGetDatum(won_at);
	values[3] = BoolGetDatum(existing);
	lf_exec(lf_plan_deal, values, NULL, 0);
}

void
lf_record_violation(const char *lead_key, const char *crm_table,
					const char *crm_status, bool has_from, LfStage from,
					bool has_to, LfStage to, TimestampTz at,
					int sqlerrcode, const char *message)
{
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	lf_prepare_plans();
	values[0] = CStringGetTextDatum(lead_key);
	values[1] = CStringGetTextDatum(crm_table);
	values[2] = lf_text_or_null(crm_status, &nulls[2]);
	values[3] = LfStageGetDatum(from);
	nulls[3] = has_from ? ' ' : 'n';
	values[4] = LfStageGetDatum(to);
	nulls[4] = has_to ? ' ' : 'n';
	values[5] = TimestampTzGetDatum(at);
	values[6] = CStringGetTextDatum(unpack_sql_state(sqlerrcode));
	values[7] = CStringGetTextDatum(message);
	lf_exec(lf_plan_violation, values, nulls, 0);
}

/* ---- the buffer of the CRM trigger ---- */

/*
 * The CRM row trigger appends its changes here; the statement trigger of
 * the same table applies them when the statement ends.  The buffer lives in
 * the transaction's memory; a subtransaction that aborts drops what it
 * added, and a commit with changes still buffered (the statement trigger was
 * disabled) fails rather than lose them.
 */
static MemoryContext lf_buf_cxt = NULL;
static LfChange *lf_buf = NULL;
static int	lf_buf_n = 0;
static int	lf_buf_cap = 0;

static char *
lf_buf_strdup(const char *s)
{
	return s ? MemoryContextStrdup(lf_buf_cxt, s) : NULL;
}

/* a copy of s, or same when it is a buffered copy with the same text */
static const char *
lf_buf_strdup_as(const char *s, const char *same)
{
	if (s != NULL && same != NULL && strcmp(s, same) == 0)
		return same;
	return lf_buf_strdup(s);
}

void
lf_buffer_add(const LfChange *change)
{
	LfChange   *c;
	LfChange   *prev;
	MemoryContext old;

	if (lf_buf_cxt == NULL)
	{
		lf_buf_cxt = AllocSetContextCreate(TopTransactionContext,
										   "lead_funnel change buffer",
										   ALLOCSET_DEFAULT_SIZES);
		lf_buf_cap = 1024;
		lf_buf = MemoryContextAlloc(lf_buf_cxt, sizeof(LfChange) * lf_buf_cap);
		lf_buf_n = 0;
	}
	if (lf_buf_n >= lf_buf_cap)
	{
		lf_buf_cap *= 2;
		lf_buf = repalloc_huge(lf_buf, sizeof(LfChange) * lf_buf_cap);
	}
	old = MemoryContextSwitchTo(lf_buf_cxt);
	c = &lf_buf[lf_buf_n];
	prev = lf_buf_n > 0 ? &lf_buf[lf_buf_n - 1] : NULL;
	*c = *change;
	c->lead_key = lf_buf_strdup(change->lead_key);
	c->reason = lf_buf_strdup(change->reason);
	c->team = lf_buf_strdup(change->team);
	c->campaign = lf_buf_strdup(change->campaign);
	c->owner = lf_buf_strdup(change->owner);
	c->segment = lf_buf_strdup(change->segment);
	/* (the same for every row of a statement: shared with the previous change) */
	c->actor = lf_buf_strdup_as(change->actor, prev ? prev->actor : NULL);
	c->source = lf_buf_strdup_as(change->source, prev ? prev->source : NULL);
	c->crm_table = lf_buf_strdup_as(change->crm_table, prev ? prev->crm_table : NULL);
	c->crm_status = lf_buf_strdup_as(change->crm_status, prev ? prev->crm_status : NULL);
	c->violation = lf_buf_strdup(change->violation);
	if (change->has_amount)
		c->amount = PointerGetDatum(DatumGetNumericCopy(change->amount));
	if (change->has_fit && !change->fit_isnull)
		c->fit = PointerGetDatum(DatumGetNumericCopy(change->fit));
	c->subid = GetCurrentSubTransactionId();
	MemoryContextSwitchTo(old);
	lf_buf_n++;
}

bool
lf_buffer_pending(void)
{
	return lf_buf_n > 0;
}

/*
 * Apply what is buffered in the current subtransaction (and in inner ones
 * that were released into it); the caller is connected to SPI as the owner.
 *
 * Changes buffered by an outer level stay: a flush that runs inside a
 * subtransaction (a statement on another attached table inside a PL/pgSQL
 * exception block, say) must not write them, or a rollback of that
 * subtransaction would undo them after they left the buffer.  Subtransaction
 * ids grow, and the current subtransaction is the innermost one, so its
 * changes are the tail of the buffer.
 */
void
lf_buffer_flush(void)
{
	LfApplyResult res;
	SubTransactionId cur = GetCurrentSubTransactionId();
	int			start = lf_buf_n;

	while (start > 0 && lf_buf[start - 1].subid >= cur)
		start--;
	if (start == lf_buf_n)
		return;
	/* taken out first: an error leaves nothing to apply twice */
	{
		int			n = lf_buf_n - start;

		lf_buf_n = start;
		lf_apply_changes(lf_buf + start, n, false, &res);
	}
	if (lf_buf_n == 0 && lf_buf_cxt)
	{
		MemoryContextDelete(lf_buf_cxt);
		lf_buf_cxt = NULL;
		lf_buf = NULL;
		lf_buf_cap = 0;
	}
}

void
lf_buffer_xact_end(bool commit)
{
	if (commit && lf_buf_n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("status changes of attached CRM tables were not recorded"),
				 errdetail("%d changes are still buffered at commit.", lf_buf_n),
				 errhint("The statement trigger \"lead_funnel_flush\" of an attached table is missing or disabled: detach and attach the table again.")));
	/* the memory goes with TopTransactionContext */
	lf_buf_cxt = NULL;
	lf_buf = NULL;
	lf_buf_n = 0;
	lf_buf_cap = 0;
}

void
lf_buffer_subxact_abort(SubTransactionId subid)
{
	while (lf_buf_n > 0 && lf_buf[lf_buf_n - 1].subid >= subid)
		lf_buf_n--;
}

/*
 * Run fn(arg) in a subtransaction, for the follow-up moves (automatic MQL,
 * the SLA sweep's recycle) that must not take their caller down when the
 * agreement forbids them: an error of the agreement (LF001-LF003) is rolled
 * back and returned for the caller to warn about; any other error is raised.
 * NULL when fn succeeded.
 */
ErrorData *
lf_try_agreement(void (*fn) (void *arg), void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile refused = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (!lf_agreement_error(edata->sqlerrcode))
			ReThrowError(edata);
		refused = edata;
	}
	PG_END_TRY();
	return refused;
}

/* a key for a message: at most 64 bytes, cut at a character boundary */
char *
lf_clip_key(const char *key)
{
	int			len = strlen(key);
	int			clip;

	if (len <= 64)
		return pstrdup(key);
	clip = pg_mbcliplen(key, len, 64);
	return psprintf("%.*s...", clip, key);
}

/* ---- SQL-callable functions ---- */

static char *
lf_text_arg(FunctionCallInfo fcinfo, int n)
{
	if (PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

PG_FUNCTION_INFO_V1(lf_move);

/*
 * move(lead_key, to_stage, reason, actor, occurred_at, team, campaign)
 */
Datum
lf_move(PG_FUNCTION_ARGS)
{
	LfChange	c;
	LfApplyResult res;
	Datum		result = (Datum) 0;

	memset(&c, 0, sizeof(c));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lead key must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target stage must not be null")));
	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("occurred_at must not be null")));
	c.lead_key = lf_text_arg(fcinfo, 0);
	if (c.lead_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lead key must not be empty")));
	c.has_move = true;
	c.to_stage = PG_GETARG_LFSTAGE(1);
	c.reason = lf_text_arg(fcinfo, 2);
	c.actor = lf_text_arg(fcinfo, 3);
	c.occurred_at = PG_GETARG_TIMESTAMPTZ(4);
	/* the default now(): the transaction's start */
	c.time_is_now = (c.occurred_at == GetCurrentTransactionStartTimestamp());
	if (TIMESTAMP_NOT_FINITE(c.occurred_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("occurred_at must be finite")));
	c.team = lf_text_arg(fcinfo, 5);
	c.campaign = lf_text_arg(fcinfo, 6);
	c.source = "move";
	if (c.team)
		lf_check_team(c.team);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lf_apply_changes(&c, 1, true, &res);
	if (res.nevents > 0)
		result = PointerGetDatum(SPI_returntuple(res.event, res.event_desc));
	SPI_finish();

	if (res.nevents == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(lf_record_deal);

/*
 * record_deal(lead_key, amount, won_at): a deal of a lead that is a
 * customer now.  Existing business when the lead had been a customer before
 * its current time as customer (it came back through customer ->
 * opportunity: lead.is_existing_customer, as for a deal from an attached
 * amount column), or when a deal of the lead was recorded before: its first
 * recorded deal is new business, whatever the won_at of later ones.
 */
Datum
lf_record_deal(PG_FUNCTION_ARGS)
{
	char	   *key;
	Datum		amount;
	TimestampTz won_at;
	Datum		values[1];
	Datum		result;
	bool		isnull;
	LfStage		stage;
	bool		existing;
	static SPIPlanPtr plan = NULL;
	static Oid	plan_relid = InvalidOid;
	Oid			argtypes[1] = {TEXTOID};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lead key, amount and won_at must not be null")));
	key = lf_text_arg(fcinfo, 0);
	amount = PG_GETARG_DATUM(1);
	won_at = PG_GETARG_TIMESTAMPTZ(2);
	if (TIMESTAMP_NOT_FINITE(won_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("won_at must be finite")));
	if (!lf_deal_amount_valid(DatumGetNumeric(amount)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("deal amount must be a finite number of at least 0")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lf_prepare_plans();
	if (plan == NULL || plan_relid != lf_plans_relid)
	{
		if (plan)
			SPI_freeplan(plan);
		plan = lf_prepare("SELECT stage, is_existing_customer OR EXISTS (SELECT FROM lead_funnel.deal d"
						  " WHERE d.lead_key OPERATOR(pg_catalog.=) $1)"
						  " FROM lead_funnel.lead WHERE lead_key OPERATOR(pg_catalog.=) $1 FOR UPDATE",
						  1, argtypes);
		plan_relid = lf_plans_relid;
	}
	values[0] = CStringGetTextDatum(key);
	lf_exec(plan, values, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lead \"%s\" does not exist", key)));
	stage = DatumGetLfStage(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	existing = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (stage != LF_STAGE_CUSTOMER)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lead \"%s\" is not a customer", key),
				 errdetail("Its stage is \"%s\".", lf_stage_name(stage)),
				 errhint("A deal is recorded when the lead becomes customer.")));
	lf_insert_deal(key, amount, won_at, existing);
	result = PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}
