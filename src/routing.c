/*-------------------------------------------------------------------------
 *
 * routing.c
 *	  Routing leads between sales teams: route(), the hook the core move
 *	  path calls for a new MQL without a team, and the check of team names.
 *
 * The choice (SPEC §6), among the active teams other than exclude_team:
 *	 1. "segment": the teams serving the lead's segment (segments NULL serves
 *		every segment; a lead without a segment is served only by such
 *		teams) whose open load is below capacity, lowest load/capacity;
 *	 2. "overflow": otherwise the same among the other active teams;
 *	 3. "over_capacity": otherwise every active team, lowest load/capacity,
 *		capacity 0 counting as infinitely loaded.
 * Ties go to the team whose last assignment is oldest (never assigned is
 * oldest of all; assignment_id orders assignments with one assigned_at),
 * then to the team first in name order.  Ratios are compared exactly, by
 * cross multiplication.  No active team (left): nothing is recorded and the
 * result is NULL, so that move() keeps working where routing is not set up.
 *
 * Open load is counted, never stored: a counter row per team would be
 * cross-lead state in one row, which rules out distributing the ledger
 * (SPEC §13), and it would need hooks everywhere a lead's stage or team
 * changes.  The count runs on the partial index lead_open_team_idx
 * (lead.open_team: the team while the lead is open), and stops at capacity: for the first two steps only
 * "below capacity or not" matters beyond that.  So a route costs the number
 * of active teams plus the capacity of the teams counted, whatever the
 * number of open leads.  Only when every team is full are loads counted
 * further, in rounds of twice the capacity, until the least loaded team is
 * known exactly.  When the lead is itself open in a candidate team, it does
 * not count against that team (it would move, not add).
 *
 * Concurrency.  The lead's row is locked first (the core path holds it
 * already), then every active team's row in name order (SELECT ... FOR
 * UPDATE): routing decisions are serialized, and always take locks in the
 * same order.  Loads are counted by a later statement, which in READ
 * COMMITTED has a snapshot taken after the locks were granted, so it sees
 * the assignments of the session that held them.  The locks are held until
 * commit.  Under REPEATABLE READ the transaction snapshot may predate a
 * concurrent routing; use READ COMMITTED (or SERIALIZABLE, where such a
 * conflict is a serialization failure) when capacity must hold.
 *
 * The team names are cached per backend for lf_check_team() and invalidated
 * through module.c's relcache callback when the team table changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "lead_funnel.h"

#define LF_OPEN_STAGES "'{mql,sal,sql,opportunity}'::lead_funnel.stage[]"

/* ---- the team list (lf_check_team) ---- */

static Oid	lf_teams_relid = InvalidOid;
static bool lf_teams_valid = false;
static bool lf_teams_registered = false;
static uint64 lf_teams_resets = 0;
static MemoryContext lf_teams_cxt = NULL;
static char **lf_team_names = NULL;
static int	lf_nteams = 0;

static void
lf_teams_reset(void)
{
	lf_teams_valid = false;
	lf_teams_resets++;
}

static int
lf_cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* (re)build the sorted list of team names */
static void
lf_teams_build(void *arg)
{
	uint64		resets = lf_teams_resets;
	Oid			relid;
	MemoryContext cxt;
	char	  **names;
	uint64		i;
	uint64		n;

	relid = lf_relation_oid("team");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT team FROM lead_funnel.team", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read lead_funnel.team");
	n = SPI_processed;
	cxt = AllocSetContextCreate(CacheMemoryContext, "lead_funnel teams",
								ALLOCSET_SMALL_SIZES);
	names = MemoryContextAlloc(cxt, sizeof(char *) * (n + 1));
	for (i = 0; i < n; i++)
		names[i] = MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1));
	SPI_finish();
	qsort(names, n, sizeof(char *), lf_cmp_cstring);

	if (lf_teams_cxt)
		MemoryContextDelete(lf_teams_cxt);
	lf_teams_cxt = cxt;
	lf_team_names = names;
	lf_nteams = (int) n;
	lf_teams_relid = relid;
	/* an invalidation that arrived while we read leaves the list stale */
	lf_teams_valid = (resets == lf_teams_resets);
}

/*
 * Read as the extension's owner: the CRM trigger checks team names for CRM
 * users who have no right on lead_funnel.team.
 */
static void
lf_teams_load(void)
{
	if (lf_teams_valid)
		return;
	if (!lf_teams_registered)
	{
		lf_register_cache(&lf_teams_relid, lf_teams_reset);
		lf_teams_registered = true;
	}
	lf_as_owner(lf_teams_build, NULL);
}

/* "key_accounts, nord and sued" (at most 20 names) */
static char *
lf_team_list(void)
{
	StringInfoData buf;
	int			shown = Min(lf_nteams, 20);
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < shown; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, (i == lf_nteams - 1) ? " and " : ", ");
		appendStringInfo(&buf, "\"%s\"", lf_team_names[i]);
	}
	if (shown < lf_nteams)
		appendStringInfo(&buf, " and %d more", lf_nteams - shown);
	return buf.data;
}

/*
 * Whether the team exists in lead_funnel.team (active or not).  While the
 * team table is empty, routing is not in use and team names are free text:
 * every name is known.
 */
bool
lf_team_known(const char *team)
{
	if (team == NULL)
		return true;
	lf_teams_load();
	if (lf_nteams == 0)
		return true;
	return bsearch(&team, lf_team_names, lf_nteams, sizeof(char *), lf_cmp_cstring) != NULL;
}

/* error unless lf_team_known() */
void
lf_check_team(const char *team)
{
	if (lf_team_known(team))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("team \"%s\" does not exist", team),
			 errdetail("Teams are defined in lead_funnel.team."),
			 errhint("Known teams are %s.", lf_team_list())));
}

/* ---- prepared plans ---- */

static SPIPlanPtr lf_plan_lock_lead = NULL;
static SPIPlanPtr lf_plan_lock_teams = NULL;
static SPIPlanPtr lf_plan_load = NULL;
static SPIPlanPtr lf_plan_assign = NULL;
static Oid	lf_route_relid = InvalidOid;	/* assignment table of the plans */
static bool lf_route_valid = false;
static bool lf_route_registered = false;

static void
lf_route_reset(void)
{
	lf_route_valid = false;
}

static void
lf_free_plan(SPIPlanPtr *plan)
{
	if (*plan)
		SPI_freeplan(*plan);
	*plan = NULL;
}

static void
lf_route_prepare(void)
{
	Oid			t_text[1] = {TEXTOID};
	Oid			t_load[2] = {TEXTARRAYOID, INT8ARRAYOID};
	Oid			t_assign[4] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID};
	Oid			relid;

	if (lf_route_valid)
		return;
	if (!lf_route_registered)
	{
		lf_register_cache(&lf_route_relid, lf_route_reset);
		lf_route_registered = true;
	}
	relid = lf_relation_oid("assignment");

	lf_free_plan(&lf_plan_lock_lead);
	lf_free_plan(&lf_plan_lock_teams);
	lf_free_plan(&lf_plan_load);
	lf_free_plan(&lf_plan_assign);

	lf_plan_lock_lead = lf_prepare(
		"SELECT segment, team, stage OPERATOR(lead_funnel.=) ANY (" LF_OPEN_STAGES "),"
		" stage_entered_at"
		" FROM lead_funnel.lead WHERE lead_key OPERATOR(pg_catalog.=) $1 FOR UPDATE",
		1, t_text);

	/* $1: the lead's segment */
	lf_plan_lock_teams = lf_prepare(
		"SELECT team, capacity,"
		" CASE WHEN segments IS NULL THEN true WHEN $1 IS NULL THEN false"
		"  ELSE $1 OPERATOR(pg_catalog.=) ANY (segments) END"
		" FROM lead_funnel.team WHERE active ORDER BY team FOR UPDATE",
		1, t_text);

	/*
	 * Open load of each team in $1, counting at most $2 leads (NULL: all),
	 * and the team's last assignment.
	 */
	lf_plan_load = lf_prepare(
		"SELECT (SELECT pg_catalog.count(*) FROM"
		"   (SELECT FROM lead_funnel.lead l"
		"     WHERE l.open_team OPERATOR(pg_catalog.=) t.name"
		"     LIMIT t.lim) s),"
		" r.assigned_at, r.assignment_id"
		" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2))"
		"  WITH ORDINALITY AS t(name, lim, ord)"
		" LEFT JOIN LATERAL (SELECT a.assigned_at, a.assignment_id"
		"   FROM lead_funnel.assignment a WHERE a.team OPERATOR(pg_catalog.=) t.name"
		"   ORDER BY a.assigned_at DESC, a.assignment_id DESC LIMIT 1) r ON true"
		" ORDER BY t.ord",
		2, t_load);

	/* $1 lead, $2 team, $3 assigned_at, $4 reason */
	lf_plan_assign = lf_prepare(
		"WITH a AS (INSERT INTO lead_funnel.assignment (lead_key, team, assigned_at, reason)"
		" VALUES ($1, $2, $3, $4))"
		"UPDATE lead_funnel.lead SET team = $2 WHERE lead_key OPERATOR(pg_catalog.=) $1",
		4, t_assign);

	lf_route_relid = relid;
	lf_route_valid = true;
}

/* ---- the choice ---- */

typedef struct LfCandidate
{
	char	   *name;
	int32		capacity;
	bool		serves;			/* serves the lead's segment */
	bool		excluded;
	int			self;			/* 1: the lead is open in this team now */
	int64		load;			/* open load without the lead itself */
	bool		counted_all;	/* load is exact (the limit was not reached) */
	bool		has_last;
	TimestampTz last_at;
	int64		last_id;
} LfCandidate;

/*
 * Count the open load of the candidates idx[0..n-1], at most limit[i]
 * leads each (-1: no limit), and read their last assignment.
 */
static void
lf_count_loads(LfCandidate *c, const int *idx, const int64 *limit, int n)
{
	Datum	   *names = palloc(sizeof(Datum) * n);
	Datum	   *lims = palloc(sizeof(Datum) * n);
	bool	   *lim_nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	Datum		values[2];
	int			i;

	for (i = 0; i < n; i++)
	{
		names[i] = CStringGetTextDatum(c[idx[i]].name);
		lims[i] = Int64GetDatum(limit[i] < 0 ? 0 : limit[i]);
		lim_nulls[i] = (limit[i] < 0);
	}
	values[0] = PointerGetDatum(construct_array(names, n, TEXTOID, -1, false,
												TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_md_array(lims, lim_nulls, 1, dims, lbs,
												   INT8OID, sizeof(int64),
												   FLOAT8PASSBYVAL,
												   TYPALIGN_DOUBLE));
	if (SPI_execute_plan(lf_plan_load, values, NULL, false, 0) != SPI_OK_SELECT ||
		SPI_processed != (uint64) n)
		elog(ERROR, "could not count the open load of %d teams", n);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		LfCandidate *t = &c[idx[i]];
		bool		isnull;
		int64		count;
		Datum		d;

		count = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		t->counted_all = (limit[i] < 0 || count < limit[i]);
		t->load = count - t->self;
		if (t->load < 0)
			t->load = 0;
		d = SPI_getbinval(tup, desc, 2, &isnull);
		t->has_last = !isnull;
		if (!isnull)
		{
			t->last_at = DatumGetTimestampTz(d);
			t->last_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		}
	}
}

/*
 * true when a is strictly better than b: lower load/capacity (capacity 0 =
 * infinitely loaded), then assigned less recently.  Equal candidates keep
 * their name order (the caller scans in name order).
 */
static bool
lf_better(const LfCandidate *a, const LfCandidate *b)
{
	bool		a_inf = (a->capacity == 0);
	bool		b_inf = (b->capacity == 0);

	if (a_inf != b_inf)
		return !a_inf;
	if (!a_inf)
	{
		/* loads are row counts and capacities int32: no overflow */
		int64		lhs = a->load * (int64) b->capacity;
		int64		rhs = b->load * (int64) a->capacity;

		if (lhs != rhs)
			return lhs < rhs;
	}
	if (a->has_last != b->has_last)
		return !a->has_last;
	if (a->has_last)
	{
		if (a->last_at != b->last_at)
			return a->last_at < b->last_at;
		if (a->last_id != b->last_id)
			return a->last_id < b->last_id;
	}
	return false;
}

/*
 * Steps 1 and 2: the best candidate with room among those that pass the
 * filter (serving the segment or not), or -1.
 */
static int
lf_best_with_room(LfCandidate *c, int nc, bool serving)
{
	int		   *idx = palloc(sizeof(int) * nc);
	int64	   *limit = palloc(sizeof(int64) * nc);
	int			n = 0;
	int			best = -1;
	int			i;

	for (i = 0; i < nc; i++)
	{
		if (c[i].excluded || c[i].capacity == 0 || c[i].serves != serving)
			continue;
		idx[n] = i;
		limit[n] = (int64) c[i].capacity + c[i].self;
		n++;
	}
	if (n == 0)
		return -1;
	lf_count_loads(c, idx, limit, n);
	for (i = 0; i < n; i++)
	{
		LfCandidate *t = &c[idx[i]];

		if (t->load >= t->capacity)
			continue;
		if (best < 0 || lf_better(t, &c[best]))
			best = idx[i];
	}
	return best;
}

/*
 * Step 3, every team is full: the least loaded by ratio.  Loads are counted
 * up to m times the capacity, m = 2, 4, 8, ..., until some team's load is
 * known exactly: it is below m times its capacity, so every team counted
 * only in part is more loaded.  -1 when no candidate is left.
 */
static int
lf_least_loaded(LfCandidate *c, int nc)
{
	int		   *idx = palloc(sizeof(int) * nc);
	int64	   *limit = palloc(sizeof(int64) * nc);
	int			n = 0;
	int			finite = 0;
	int64		m;
	int			i;

	for (i = 0; i < nc; i++)
	{
		if (c[i].excluded)
			continue;
		idx[n++] = i;
		if (c[i].capacity > 0)
			finite++;
	}
	if (n == 0)
		return -1;

	for (m = 2;; m *= 2)
	{
		int			best = -1;

		for (i = 0; i < n; i++)
		{
			LfCandidate *t = &c[idx[i]];

			if (t->capacity == 0)
				limit[i] = 0;	/* only the last assignment is needed */
			else if (m > ((int64) 1 << 30))
				limit[i] = -1;
			else
				limit[i] = (int64) t->capacity * m + t->self;
		}
		lf_count_loads(c, idx, limit, n);
		for (i = 0; i < n; i++)
		{
			LfCandidate *t = &c[idx[i]];

			if (finite > 0 && (t->capacity == 0 || !t->counted_all))
				continue;
			if (best < 0 || lf_better(t, &c[best]))
				best = idx[i];
		}
		if (best >= 0)
			return best;
	}
}

/*
 * Route one lead; the team's name (palloc'd in the caller's context) or
 * NULL when no active team is left.  at_entry: the assignment takes the
 * time the lead entered its stage (routing after a move), otherwise the
 * transaction's time.
 */
static char *
lf_route_lead(const char *lead_key, const char *exclude_team,
			  const char *reason_override, bool at_entry)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *result = NULL;
	Datum		values[4];
	char		nulls[4];
	char	   *segment;
	char	   *cur_team;
	bool		is_open;
	bool		isnull;
	TimestampTz at;
	LfCandidate *c;
	int			nc;
	int			best;
	const char *reason;
	uint64		i;

	if (lead_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lead key must not be null")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lf_route_prepare();

	/* the lead, locked */
	values[0] = CStringGetTextDatum(lead_key);
	if (SPI_execute_plan(lf_plan_lock_lead, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not lock lead \"%s\"", lead_key);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lead \"%s\" does not exist", lead_key),
				 errhint("Leads enter the funnel through move() or an attached CRM table.")));
	segment = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	cur_team = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	is_open = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 3, &isnull));
	at = at_entry
		? DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 4, &isnull))
		: GetCurrentTransactionStartTimestamp();

	/* every active team, locked in name order */
	values[0] = segment ? CStringGetTextDatum(segment) : (Datum) 0;
	nulls[0] = segment ? ' ' : 'n';
	if (SPI_execute_plan(lf_plan_lock_teams, values, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the teams");
	nc = (int) SPI_processed;
	c = palloc0(sizeof(LfCandidate) * Max(nc, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		c[i].name = SPI_getvalue(tup, desc, 1);
		c[i].capacity = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		c[i].serves = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		c[i].excluded = exclude_team && strcmp(exclude_team, c[i].name) == 0;
		c[i].self = (is_open && cur_team && strcmp(cur_team, c[i].name) == 0) ? 1 : 0;
	}

	/* counted by later statements: snapshots taken after the locks */
	reason = "segment";
	best = lf_best_with_room(c, nc, true);
	if (best < 0)
	{
		reason = "overflow";
		best = lf_best_with_room(c, nc, false);
	}
	if (best < 0)
	{
		reason = "over_capacity";
		best = lf_least_loaded(c, nc);
	}

	if (best >= 0)
	{
		values[0] = CStringGetTextDatum(lead_key);
		values[1] = CStringGetTextDatum(c[best].name);
		values[2] = TimestampTzGetDatum(at);
		values[3] = CStringGetTextDatum(reason_override ? reason_override : reason);
		lf_exec(lf_plan_assign, values, NULL, 0);
		if (SPI_processed != 1)
			elog(ERROR, "routing lead \"%s\" updated %d leads", lead_key,
				 (int) SPI_processed);
		result = MemoryContextStrdup(caller, c[best].name);
	}
	SPI_finish();
	return result;
}

/* ---- entry points ---- */

/*
 * Route a lead: reason_override NULL records the reason of the choice
 * (segment, overflow, over_capacity); otherwise it is recorded instead
 * (sla_escalation, manual).  exclude_team may be NULL or a team that no
 * longer exists.  Returns the team, or NULL when no active team is left.
 */
char *
lf_route(const char *lead_key, const char *exclude_team,
		 const char *reason_override)
{
	return lf_route_lead(lead_key, exclude_team, reason_override, false);
}

/* the core move path: a lead became MQL without a team */
void
lf_route_after_move(const char *lead_key)
{
	/* no team defined: nothing to route to (the cached list costs nothing) */
	lf_teams_load();
	if (lf_nteams == 0)
		return;
	(void) lf_route_lead(lead_key, NULL, NULL, true);
}

PG_FUNCTION_INFO_V1(lf_route_fn);

/*
 * route(lead_key, exclude_team)
 */
Datum
lf_route_fn(PG_FUNCTION_ARGS)
{
	char	   *key;
	char	   *exclude = NULL;
	char	   *team;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lead key must not be null")));
	key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!PG_ARGISNULL(1))
	{
		exclude = text_to_cstring(PG_GETARG_TEXT_PP(1));
		lf_check_team(exclude);
	}
	team = lf_route(key, exclude, NULL);
	if (team == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(team));
}

/* ---- renaming and deleting teams ---- */

typedef struct LfTeamChange
{
	const char *old_name;
	const char *new_name;		/* NULL: the team is deleted */
	int64		open_leads;		/* deleted: its open leads (old_name NULL:
								 * those of every team in the table, which
								 * is truncated) */
} LfTeamChange;

/* (run as the owner, through lf_as_owner) */
static void
lf_team_apply(void *arg)
{
	LfTeamChange *tc = arg;
	Datum		values[2];

	if (tc->old_name == NULL)
	{
		bool		isnull;

		if (SPI_execute("SELECT pg_catalog.count(*) FROM lead_funnel.lead AS l"
						" WHERE l.open_team IN (SELECT t.team FROM lead_funnel.team AS t)",
						true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not count the open leads of the teams");
		tc->open_leads = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1, &isnull));
		return;
	}
	values[0] = CStringGetTextDatum(tc->old_name);
	if (tc->new_name != NULL)
	{
		SPIPlanPtr	plan;

		values[1] = CStringGetTextDatum(tc->new_name);
		plan = SPI_prepare("UPDATE lead_funnel.lead SET team = $2"
						   " WHERE team OPERATOR(pg_catalog.=) $1",
						   2, (Oid[]) {TEXTOID, TEXTOID});
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		lf_exec(plan, values, NULL, 0);
		SPI_freeplan(plan);
	}
	else
	{
		bool		isnull;

		if (SPI_execute_with_args("SELECT pg_catalog.count(*) FROM lead_funnel.lead"
								  " WHERE open_team OPERATOR(pg_catalog.=) $1",
								  1, (Oid[]) {TEXTOID}, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not count the open leads of team \"%s\"", tc->old_name);
		tc->open_leads = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 1, &isnull));
	}
}

PG_FUNCTION_INFO_V1(lf_team_changed);

/*
 * Trigger on lead_funnel.team.  AFTER UPDATE (row): a renamed team takes its
 * leads along (lead.team, and with it open_team and routing's load count);
 * the history (stage_event, assignment, sla_breach) keeps the name of its
 * time.  BEFORE DELETE (row): a team that still has open leads cannot go
 * (their load would no longer count anywhere).  BEFORE TRUNCATE (statement):
 * the same for every team at once.
 */
Datum
lf_team_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			col;
	LfTeamChange tc;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		(!TRIGGER_FIRED_FOR_ROW(td->tg_event) && !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("lf_team_changed() must be called as a row trigger, or before TRUNCATE")));
	memset(&tc, 0, sizeof(tc));
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		lf_as_owner(lf_team_apply, &tc);
		if (tc.open_leads > 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("cannot truncate table \"%s\": %lld open leads have a team",
							RelationGetRelationName(td->tg_relation), (long long) tc.open_leads),
					 errhint("Delete the teams one by one: a team without open leads can go.")));
		return PointerGetDatum(NULL);
	}
	desc = RelationGetDescr(td->tg_relation);
	col = SPI_fnumber(desc, "team");
	if (col <= 0)
		elog(ERROR, "table \"%s\" has no column \"team\"", RelationGetRelationName(td->tg_relation));
	tc.old_name = SPI_getvalue(td->tg_trigtuple, desc, col);

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		tc.new_name = SPI_getvalue(td->tg_newtuple, desc, col);
		if (tc.old_name != NULL && tc.new_name != NULL &&
			strcmp(tc.old_name, tc.new_name) != 0)
			lf_as_owner(lf_team_apply, &tc);
		return PointerGetDatum(NULL);
	}
	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		if (tc.old_name != NULL)
			lf_as_owner(lf_team_apply, &tc);
		if (tc.open_leads > 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("team \"%s\" still has %lld open leads", tc.old_name,
							(long long) tc.open_leads),
					 errhint("Move its open leads to other teams first (lead_funnel.route(lead_key, exclude_team) or move(..., team => ...)), or keep the team with active = false.")));
		return PointerGetDatum(td->tg_trigtuple);
	}
	elog(ERROR, "lf_team_changed() fired for an unexpected event");
	return PointerGetDatum(NULL);	/* keep compiler quiet */
}
