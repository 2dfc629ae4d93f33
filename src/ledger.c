/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The transition graph, the ledger and the one core path that moves a
 *	  lead: lf_move_lead(), behind both move() and the CRM trigger.
 *
 * The core path, for one lead:
 *	 1. lock the lead's row (SELECT ... FOR UPDATE), so that two sessions
 *		moving one lead are serialized and each validates against what the
 *		other committed; a new lead is inserted with ON CONFLICT DO NOTHING
 *		and, when another session won the race, locked and treated as an
 *		existing lead;
 *	 2. validate against the cached transition graph: allowed move,
 *		requires_reason, events in time order per lead;
 *	 3. append the event and update the lead in one statement (a writable
 *		CTE), including the first-reached *_at columns and the SLA clock;
 *	 4. after the move: record a deal (amount given on becoming customer)
 *		and route a new MQL without a team.
 * Callers must be connected to SPI.  With soft = true, a violation of the
 * agreement is returned to the caller instead of raised (the trigger's
 * on_invalid = record); other errors are always raised.
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
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
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

static SPIPlanPtr lf_plan_lock = NULL;
static SPIPlanPtr lf_plan_enter = NULL;
static SPIPlanPtr lf_plan_move = NULL;
static SPIPlanPtr lf_plan_deal = NULL;
static Oid	lf_plans_relid = InvalidOid;	/* lead table the plans were made for */
static bool lf_plans_valid = false;
static bool lf_plans_registered = false;
static Oid	lf_owner = InvalidOid;
static Oid	lf_stage_typid = InvalidOid;

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
 * Prepare a plan under a search path of pg_catalog only and keep it.
 */
SPIPlanPtr
lf_prepare(const char *sql, int nargs, Oid *argtypes)
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
		plan = SPI_prepare(sql, nargs, argtypes);
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

#define LF_LEAD_COLS_AT \
	"prospect_at, mql_at, sal_at, sql_at, opportunity_at, customer_at, " \
	"last_recycled_at, disqualified_at, lost_at"

void
lf_prepare_plans(void)
{
	Oid			nsp;
	Oid			relid;
	HeapTuple	tup;
	Oid			st;
	Oid			t_lock[1];
	Oid			t_enter[20];
	Oid			t_move[22];
	Oid			t_deal[4];
	int			i;

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
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	lf_owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	lf_free_plan(&lf_plan_lock);
	lf_free_plan(&lf_plan_enter);
	lf_free_plan(&lf_plan_move);
	lf_free_plan(&lf_plan_deal);
	lf_stage_typid = st;

	t_lock[0] = TEXTOID;
	lf_plan_lock = lf_prepare(
		"SELECT stage, stage_entered_at, team, customer_at IS NOT NULL "
		"FROM lead_funnel.lead WHERE lead_key OPERATOR(pg_catalog.=) $1 FOR UPDATE",
		1, t_lock);

	/*
	 * Entry of a new lead.  $1 key, $2 stage, $3 at, $4 actor, $5 team,
	 * $6 reason, $7 source, $8 owner, $9 campaign, $10 segment, $11 sla due,
	 * $12..$20 the first-reached columns.  Returns no row when another
	 * session inserted the lead first.
	 */
	t_enter[0] = TEXTOID;
	t_enter[1] = st;
	t_enter[2] = TIMESTAMPTZOID;
	for (i = 3; i < 10; i++)
		t_enter[i] = TEXTOID;
	for (i = 10; i < 20; i++)
		t_enter[i] = TIMESTAMPTZOID;
	lf_plan_enter = lf_prepare(
		"WITH l AS ("
		" INSERT INTO lead_funnel.lead (lead_key, stage, stage_entered_at, owner, team,"
		"  campaign, segment, created_at, sla_due_at, recycled_count, " LF_LEAD_COLS_AT ")"
		" VALUES ($1, $2, $3, $8, $5, $9, $10, $3, $11,"
		"  CASE WHEN $18 IS NULL THEN 0 ELSE 1 END,"
		"  $12, $13, $14, $15, $16, $17, $18, $19, $20)"
		" ON CONFLICT (lead_key) DO NOTHING RETURNING lead_key)"
		"INSERT INTO lead_funnel.stage_event (lead_key, from_stage, to_stage, occurred_at,"
		" actor, team, reason, source)"
		" SELECT l.lead_key, NULL, $2, $3, $4, $5, $6, $7 FROM l RETURNING *",
		20, t_enter);

	/*
	 * Move of an existing lead.  $1 key, $2 from, $3 to, $4 at, $5 actor,
	 * $6 team (new or current), $7 reason, $8 source, $9 owner, $10 campaign,
	 * $11 segment, $12 sla due, $13..$21 first-reached columns, $22 whether
	 * the lead comes back as an existing customer.
	 */
	t_move[0] = TEXTOID;
	t_move[1] = st;
	t_move[2] = st;
	t_move[3] = TIMESTAMPTZOID;
	for (i = 4; i < 11; i++)
		t_move[i] = TEXTOID;
	for (i = 11; i < 21; i++)
		t_move[i] = TIMESTAMPTZOID;
	t_move[21] = BOOLOID;
	lf_plan_move = lf_prepare(
		"WITH e AS ("
		" INSERT INTO lead_funnel.stage_event (lead_key, from_stage, to_stage, occurred_at,"
		"  actor, team, reason, source)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *),"
		" u AS (UPDATE lead_funnel.lead SET stage = $3, stage_entered_at = $4,"
		"  team = $6, owner = COALESCE($9, owner), campaign = COALESCE($10, campaign),"
		"  segment = COALESCE($11, segment), sla_due_at = $12,"
		"  prospect_at = COALESCE(prospect_at, $13), mql_at = COALESCE(mql_at, $14),"
		"  sal_at = COALESCE(sal_at, $15), sql_at = COALESCE(sql_at, $16),"
		"  opportunity_at = COALESCE(opportunity_at, $17),"
		"  customer_at = COALESCE(customer_at, $18),"
		"  last_recycled_at = COALESCE($19, last_recycled_at),"
		"  recycled_count = recycled_count OPERATOR(pg_catalog.+) CASE WHEN $19 IS NULL THEN 0 ELSE 1 END,"
		"  disqualified_at = COALESCE(disqualified_at, $20),"
		"  lost_at = COALESCE(lost_at, $21),"
		"  is_existing_customer = is_existing_customer OR $22"
		"  WHERE lead_key OPERATOR(pg_catalog.=) $1)"
		"SELECT * FROM e",
		22, t_move);

	t_deal[0] = TEXTOID;
	t_deal[1] = NUMERICOID;
	t_deal[2] = TIMESTAMPTZOID;
	t_deal[3] = BOOLOID;
	lf_plan_deal = lf_prepare(
		"INSERT INTO lead_funnel.deal (lead_key, amount, won_at, is_existing_customer)"
		" VALUES ($1, $2, $3, $4) RETURNING *",
		4, t_deal);

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

/* ---- the core path ---- */

static void
lf_violation(LfMoveResult *res, bool soft, int sqlerrcode, char *message,
			 char *detail, char *hint)
{
	if (!soft)
		ereport(ERROR,
				(errcode(sqlerrcode),
				 errmsg_internal("%s", message),
				 detail ? errdetail_internal("%s", detail) : 0,
				 hint ? errhint("%s", hint) : 0));
	res->violated = true;
	res->sqlerrcode = sqlerrcode;
	res->message = message;
}

static inline Datum
lf_text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* the first-reached column values for a move to "to" at "at" */
static void
lf_first_reached(LfStage to, TimestampTz at, Datum *values, char *nulls)
{
	static const LfStage order[9] = {
		LF_STAGE_PROSPECT, LF_STAGE_MQL, LF_STAGE_SAL, LF_STAGE_SQL,
		LF_STAGE_OPPORTUNITY, LF_STAGE_CUSTOMER, LF_STAGE_RECYCLED,
		LF_STAGE_DISQUALIFIED, LF_STAGE_LOST
	};
	int			i;

	for (i = 0; i < 9; i++)
	{
		values[i] = TimestampTzGetDatum(at);
		nulls[i] = (order[i] == to) ? ' ' : 'n';
	}
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

/*
 * Move one lead.  Returns true when an event was written (res->event holds
 * it, in the SPI procedure's memory), false for a no-op or (soft mode) a
 * violation, described in res.
 */
bool
lf_move_lead(const LfMoveRequest *req, bool soft, LfMoveResult *res)
{
	Datum		values[22];
	char		nulls[22];
	LfStage		from;
	TimestampTz entered;
	char	   *cur_team = NULL;
	bool		was_customer;
	TimestampTz due;
	bool		has_due;
	const char *team;
	int			attempt;
	LfStage		to = req->to_stage;

	memset(res, 0, sizeof(*res));
	if (req->lead_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lead key must not be null")));
	if (!lf_stage_is_valid(to))
		elog(ERROR, "invalid stage code %d", (int) to);

	lf_prepare_plans();
	lf_graph_load();

	for (attempt = 0;; attempt++)
	{
		bool		isnull;

		values[0] = CStringGetTextDatum(req->lead_key);
		lf_exec(lf_plan_lock, values, NULL, 1);
		if (SPI_processed > 0)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;

			from = DatumGetLfStage(SPI_getbinval(tup, desc, 1, &isnull));
			entered = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
			cur_team = SPI_getvalue(tup, desc, 3);
			was_customer = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
			if (req->entry_only)
			{
				res->from_stage = from;
				return false;	/* backfill: existing leads are left alone */
			}
			break;
		}
		if (attempt > 0)
			elog(ERROR, "lead \"%s\" vanished while it was being moved", req->lead_key);

		/* a new lead */
		if (!req->force_entry && lf_graph[0][to] == LF_T_NONE)
		{
			char	   *allowed = lf_allowed_list(0);

			lf_violation(res, soft, ERRCODE_LF_INVALID_TRANSITION,
						 psprintf("lead \"%s\" cannot enter the funnel at stage \"%s\"",
								  req->lead_key, lf_stage_name(to)),
						 NULL,
						 allowed ? psprintf("New leads may enter at %s.", allowed)
						 : pstrdup("The transition graph allows no entry: add rows with from_stage NULL to lead_funnel.transition."));
			return false;
		}
		if (!req->force_entry && lf_graph[0][to] == LF_T_REASON && lf_blank(req->reason))
		{
			lf_violation(res, soft, ERRCODE_LF_REASON_REQUIRED,
						 psprintf("lead \"%s\" cannot enter the funnel at stage \"%s\" without a reason",
								  req->lead_key, lf_stage_name(to)),
						 NULL, pstrdup("The transition requires a reason: pass one."));
			return false;
		}

		has_due = lf_sla_due(to, req->occurred_at, &due);
		values[1] = LfStageGetDatum(to);
		nulls[1] = ' ';
		nulls[0] = ' ';
		values[2] = TimestampTzGetDatum(req->occurred_at);
		nulls[2] = ' ';
		values[3] = lf_text_or_null(req->actor, &nulls[3]);
		values[4] = lf_text_or_null(req->team, &nulls[4]);
		values[5] = lf_text_or_null(req->reason, &nulls[5]);
		values[6] = lf_text_or_null(req->source, &nulls[6]);
		values[7] = lf_text_or_null(req->owner, &nulls[7]);
		values[8] = lf_text_or_null(req->campaign, &nulls[8]);
		values[9] = lf_text_or_null(req->segment, &nulls[9]);
		values[10] = TimestampTzGetDatum(due);
		nulls[10] = has_due ? ' ' : 'n';
		lf_first_reached(to, req->occurred_at, values + 11, nulls + 11);
		lf_exec(lf_plan_enter, values, nulls, 0);
		if (SPI_processed == 1)
		{
			res->moved = true;
			res->entered = true;
			res->event = SPI_tuptable->vals[0];
			res->event_desc = SPI_tuptable->tupdesc;
			from = LF_STAGE_INVALID;
			was_customer = false;
			team = req->team;
			goto after_move;
		}
		/* another session created the lead first: lock it and go on */
	}

	res->from_stage = from;
	if (from == to)
		return false;			/* already there: a no-op */

	if (lf_graph[from][to] == LF_T_NONE)
	{
		char	   *allowed = lf_allowed_list(from);

		lf_violation(res, soft, ERRCODE_LF_INVALID_TRANSITION,
					 psprintf("lead \"%s\" cannot move from stage \"%s\" to stage \"%s\"",
							  req->lead_key, lf_stage_name(from), lf_stage_name(to)),
					 NULL,
					 allowed ? psprintf("Allowed next stages from \"%s\": %s.",
										lf_stage_name(from), allowed)
					 : psprintf("No transition leaves stage \"%s\".", lf_stage_name(from)));
		return false;
	}
	if (lf_graph[from][to] == LF_T_REASON && lf_blank(req->reason))
	{
		lf_violation(res, soft, ERRCODE_LF_REASON_REQUIRED,
					 psprintf("moving lead \"%s\" from stage \"%s\" to stage \"%s\" requires a reason",
							  req->lead_key, lf_stage_name(from), lf_stage_name(to)),
					 NULL,
					 pstrdup("The agreement asks for a reason when a lead is sent back or discarded."));
		return false;
	}
	if (req->occurred_at < entered)
	{
		lf_violation(res, soft, ERRCODE_LF_OUT_OF_ORDER,
					 psprintf("move of lead \"%s\" at %s is earlier than its last event at %s",
							  req->lead_key,
							  pstrdup(timestamptz_to_str(req->occurred_at)),
							  pstrdup(timestamptz_to_str(entered))),
					 NULL,
					 pstrdup("Apply a lead's events in time order; sort history before importing it."));
		return false;
	}

	team = req->team ? req->team : cur_team;
	has_due = lf_sla_due(to, req->occurred_at, &due);
	values[0] = CStringGetTextDatum(req->lead_key);
	nulls[0] = ' ';
	values[1] = LfStageGetDatum(from);
	nulls[1] = ' ';
	values[2] = LfStageGetDatum(to);
	nulls[2] = ' ';
	values[3] = TimestampTzGetDatum(req->occurred_at);
	nulls[3] = ' ';
	values[4] = lf_text_or_null(req->actor, &nulls[4]);
	values[5] = lf_text_or_null(team, &nulls[5]);
	values[6] = lf_text_or_null(req->reason, &nulls[6]);
	values[7] = lf_text_or_null(req->source, &nulls[7]);
	values[8] = lf_text_or_null(req->owner, &nulls[8]);
	values[9] = lf_text_or_null(req->campaign, &nulls[9]);
	values[10] = lf_text_or_null(req->segment, &nulls[10]);
	values[11] = TimestampTzGetDatum(due);
	nulls[11] = has_due ? ' ' : 'n';
	lf_first_reached(to, req->occurred_at, values + 12, nulls + 12);
	values[21] = BoolGetDatum(from == LF_STAGE_CUSTOMER && to == LF_STAGE_OPPORTUNITY);
	nulls[21] = ' ';
	lf_exec(lf_plan_move, values, nulls, 0);
	if (SPI_processed != 1)
		elog(ERROR, "move of lead \"%s\" wrote %d events", req->lead_key, (int) SPI_processed);
	res->moved = true;
	res->event = SPI_tuptable->vals[0];
	res->event_desc = SPI_tuptable->tupdesc;

after_move:
	res->from_stage = from;

	/* a deal, when the lead became customer with an amount */
	if (to == LF_STAGE_CUSTOMER && req->has_amount)
		lf_insert_deal(req->lead_key, req->amount, req->occurred_at, was_customer);

	/* a new MQL without a team is routed */
	if (to == LF_STAGE_MQL && team == NULL)
		lf_route_after_move(req->lead_key);
	return true;
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
	LfMoveRequest req;
	LfMoveResult res;
	Datum		result = (Datum) 0;
	bool		moved;

	memset(&req, 0, sizeof(req));
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
	req.lead_key = lf_text_arg(fcinfo, 0);
	if (req.lead_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lead key must not be empty")));
	req.to_stage = PG_GETARG_LFSTAGE(1);
	req.reason = lf_text_arg(fcinfo, 2);
	req.actor = lf_text_arg(fcinfo, 3);
	req.occurred_at = PG_GETARG_TIMESTAMPTZ(4);
	if (TIMESTAMP_NOT_FINITE(req.occurred_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("occurred_at must be finite")));
	req.team = lf_text_arg(fcinfo, 5);
	req.campaign = lf_text_arg(fcinfo, 6);
	req.source = "move";
	if (req.team)
		lf_check_team(req.team);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	moved = lf_move_lead(&req, false, &res);
	if (moved)
		result = PointerGetDatum(SPI_returntuple(res.event, res.event_desc));
	SPI_finish();

	if (!moved)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(lf_record_deal);

/*
 * record_deal(lead_key, amount, won_at): a deal of a lead that is a
 * customer now.  Existing business when the lead had become customer
 * before this deal: its first customer event is earlier than won_at.
 */
Datum
lf_record_deal(PG_FUNCTION_ARGS)
{
	char	   *key;
	Datum		amount;
	TimestampTz won_at;
	Datum		values[2];
	Datum		result;
	bool		isnull;
	LfStage		stage;
	static SPIPlanPtr plan = NULL;
	static Oid	plan_relid = InvalidOid;
	Oid			argtypes[2] = {TEXTOID, TIMESTAMPTZOID};

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
	if (numeric_is_nan(DatumGetNumeric(amount)) ||
		numeric_is_inf(DatumGetNumeric(amount)) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, amount,
										 DirectFunctionCall1(int4_numeric, Int32GetDatum(0)))))
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
		plan = lf_prepare("SELECT stage, (SELECT min(e.occurred_at) FROM lead_funnel.stage_event e"
						  " WHERE e.lead_key OPERATOR(pg_catalog.=) $1"
						  " AND e.to_stage OPERATOR(lead_funnel.=) 'customer'"
						  " AND e.occurred_at OPERATOR(pg_catalog.<) $2)"
						  " FROM lead_funnel.lead WHERE lead_key OPERATOR(pg_catalog.=) $1 FOR UPDATE",
						  2, argtypes);
		plan_relid = lf_plans_relid;
	}
	values[0] = CStringGetTextDatum(key);
	values[1] = TimestampTzGetDatum(won_at);
	lf_exec(plan, values, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lead \"%s\" does not exist", key)));
	stage = DatumGetLfStage(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (stage != LF_STAGE_CUSTOMER)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lead \"%s\" is not a customer", key),
				 errdetail("Its stage is \"%s\".", lf_stage_name(stage)),
				 errhint("A deal is recorded when the lead becomes customer.")));
	lf_insert_deal(key, amount, won_at, !isnull);
	result = PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc));
	SPI_finish();
	PG_RETURN_DATUM(result);
}
