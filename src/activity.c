/*-------------------------------------------------------------------------
 *
 * activity.c
 *	  Activities, engagement with exact decay, and automatic MQL.
 *
 * A lead's engagement is the sum of its activities' points, each halved
 * every half-life of the scoring model:
 *
 *	  E(T) = sum_i points_i * 2^(-(T - t_i) / half_life)
 *
 * It is kept as (lead.engagement, lead.engagement_as_of) = (E(A), A) with A
 * the latest activity time, so that recording an activity costs O(1) — one
 * statement that inserts the activity and updates the lead under its row
 * lock:
 *	 - an activity at t >= A:  E(t) = decayed(E(A), A, t) + points, A = t;
 *	 - an activity at t < A (recorded late):  E(A) += decayed(points, t, A);
 * both give E as recording in time order would, up to the rounding of each
 * step to 10 decimal places: at most 1e-10 per activity apart (keeping E
 * exactly order-independent would need another representation).
 * engagement_at(T) for T >= A decays the kept value; for T < A it sums the
 * ledger of activities (each with the points it earned when recorded).
 *
 * Points come from the engagement rules of the 'default' scoring model at
 * the time the activity is recorded and are stored with it.  With the
 * model's auto_mql, a prospect or recycled lead whose score (fit +
 * engagement) reaches the threshold is moved to mql through the core path
 * (actor and source "scoring"), which starts the SLA clock and routes it.
 * When the agreement forbids that move, the activity is kept and a WARNING
 * names the lead.  The move is dated at the lead's latest activity, the
 * instant the score refers to (a late activity does not date it back).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "lead_funnel.h"

#define LF_MODEL "default"

static SPIPlanPtr lf_plan_act_record = NULL;
static SPIPlanPtr lf_plan_act_sum = NULL;
static Oid	lf_act_relid = InvalidOid;
static bool lf_act_registered = false;

static void
lf_act_reset(void)
{
	lf_act_relid = InvalidOid;
}

static void
lf_act_prepare(void)
{
	Oid			t[7];

	if (OidIsValid(lf_act_relid))
		return;
	if (!lf_act_registered)
	{
		lf_register_cache(&lf_act_relid, lf_act_reset);
		lf_act_registered = true;
	}
	if (lf_plan_act_record)
		SPI_freeplan(lf_plan_act_record);
	if (lf_plan_act_sum)
		SPI_freeplan(lf_plan_act_sum);

	/*
	 * One statement records an activity: the activity row, and the lead's
	 * decayed sum updated under the lead's row lock (a concurrent activity
	 * of the same lead waits and is applied on top, like in time order).
	 * $1 key, $2 event type, $3 time, $4 campaign, $5 detail, $6 points,
	 * $7 half-life.
	 */
	t[0] = TEXTOID;
	t[1] = TEXTOID;
	t[2] = TIMESTAMPTZOID;
	t[3] = TEXTOID;
	t[4] = JSONBOID;
	t[5] = NUMERICOID;
	t[6] = INTERVALOID;
	lf_plan_act_record = lf_prepare(
		"WITH a AS (INSERT INTO lead_funnel.activity"
		" (lead_key, event_type, occurred_at, campaign, detail, points)"
		" VALUES ($1, $2, $3, $4, $5, $6))"
		"UPDATE lead_funnel.lead SET"
		" engagement = CASE WHEN engagement_as_of IS NULL THEN $6"
		"  WHEN $3 OPERATOR(pg_catalog.>=) engagement_as_of"
		"  THEN lead_funnel.decayed(engagement, engagement_as_of, $3, $7) OPERATOR(pg_catalog.+) $6"
		"  ELSE engagement OPERATOR(pg_catalog.+) lead_funnel.decayed($6, $3, engagement_as_of, $7) END,"
		" engagement_as_of = GREATEST(engagement_as_of, $3)"
		" WHERE lead_key OPERATOR(pg_catalog.=) $1"
		" RETURNING engagement, stage, stage_entered_at, fit_score, engagement_as_of",
		7, t);
	t[0] = TEXTOID;
	t[1] = TIMESTAMPTZOID;
	lf_plan_act_sum = lf_prepare(
		"SELECT points, occurred_at FROM lead_funnel.activity"
		" WHERE lead_key OPERATOR(pg_catalog.=) $1 AND occurred_at OPERATOR(pg_catalog.<=) $2",
		2, t);
	lf_act_relid = lf_relation_oid("activity");
}

static Datum
lf_decay(Datum value, TimestampTz as_of, TimestampTz at, Interval *half_life)
{
	return DirectFunctionCall4(lf_decayed, value, TimestampTzGetDatum(as_of),
							   TimestampTzGetDatum(at), IntervalPGetDatum(half_life));
}

static Interval *
lf_half_life(Numeric *threshold, bool *auto_mql)
{
	Interval   *hl = palloc(sizeof(Interval));

	if (!lf_scoring_model_get(LF_MODEL, hl, threshold, auto_mql))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("scoring model \"%s\" does not exist", LF_MODEL),
				 errhint("Engagement is scored with the model \"default\": create it in lead_funnel.scoring_model.")));
	return hl;
}

static char *
lf_arg_text(FunctionCallInfo fcinfo, int n, const char *what)
{
	char	   *s;

	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(n));
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	return s;
}

/*
 * The automatic move to mql, in a subtransaction: when the agreement forbids
 * it (a validation error of the move, LF001-LF003), the activity stays
 * recorded and a WARNING names the lead; any other error is raised.
 */
static void
lf_auto_mql(LfChange *c)
{
	ErrorData  *refused = lf_try_agreement(lf_apply_one, c);

	if (refused == NULL)
		return;
	ereport(WARNING,
			(errcode(refused->sqlerrcode),
			 errmsg("lead \"%s\" reached the MQL threshold but could not be moved to mql",
					c->lead_key),
			 errdetail_internal("%s", refused->message),
			 errhint("The activity is recorded. Allow the move to \"mql\" in lead_funnel.transition or turn auto_mql off.")));
	FreeErrorData(refused);
}

PG_FUNCTION_INFO_V1(lf_record_activity);

/*
 * record_activity(lead_key, event_type, occurred_at, campaign, detail)
 * RETURNS numeric: the lead's engagement as of its latest activity.
 */
Datum
lf_record_activity(PG_FUNCTION_ARGS)
{
	char	   *key = lf_arg_text(fcinfo, 0, "lead key");
	char	   *event_type = lf_arg_text(fcinfo, 1, "event type");
	TimestampTz at;
	Numeric		points;
	Numeric		threshold;
	bool		auto_mql;
	Interval   *hl;
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;
	Datum		engagement;
	LfStage		stage;
	TimestampTz entered;
	TimestampTz as_of;
	bool		fit_null;
	Datum		fit;
	Datum		result;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("occurred_at must not be null")));
	at = PG_GETARG_TIMESTAMPTZ(2);
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("occurred_at must be finite")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	hl = lf_half_life(&threshold, &auto_mql);
	if (!lf_event_points(LF_MODEL, event_type, &points))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("event type \"%s\" does not exist", event_type),
				 errhint("Event types are listed in lead_funnel.event_type.")));
	lf_prepare_plans();
	lf_act_prepare();

	values[0] = CStringGetTextDatum(key);
	values[1] = CStringGetTextDatum(event_type);
	values[2] = TimestampTzGetDatum(at);
	if (PG_ARGISNULL(3))
		nulls[3] = 'n';
	else
		values[3] = PG_GETARG_DATUM(3);
	if (PG_ARGISNULL(4))
		nulls[4] = 'n';
	else
		values[4] = PG_GETARG_DATUM(4);
	values[5] = NumericGetDatum(points);
	values[6] = IntervalPGetDatum(hl);
	lf_exec(lf_plan_act_record, values, nulls, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lead \"%s\" does not exist", key),
				 errhint("A lead exists once it entered the funnel (move() or an attached CRM table).")));
	engagement = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	stage = DatumGetLfStage(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	entered = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	fit = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &fit_null);
	as_of = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	result = SPI_datumTransfer(engagement, false, -1);

	/* automatic handover */
	if (auto_mql && (stage == LF_STAGE_PROSPECT || stage == LF_STAGE_RECYCLED))
	{
		Datum		score = engagement;

		if (!fit_null)
			score = DirectFunctionCall2(numeric_add, score, fit);
		if (DatumGetBool(DirectFunctionCall2(numeric_ge, score, NumericGetDatum(threshold))))
		{
			LfChange	c;

			memset(&c, 0, sizeof(c));
			c.lead_key = key;
			c.has_move = true;
			c.to_stage = LF_STAGE_MQL;
			c.actor = "scoring";
			c.source = "scoring";
			c.reason = NULL;
			/*
			 * The score is as of the lead's latest activity (a late activity
			 * is added decayed to that time), so that is when it reached the
			 * threshold; never before the lead entered its stage.
			 */
			c.occurred_at = Max(as_of, entered);
			lf_auto_mql(&c);
		}
	}

	SPI_finish();
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(lf_engagement_at);

/*
 * engagement_at(lead_key, at): NULL for an unknown lead.
 */
Datum
lf_engagement_at(PG_FUNCTION_ARGS)
{
	char	   *key;
	TimestampTz at;
	Interval   *hl;
	Datum		values[2];
	bool		isnull;
	Datum		engagement;
	TimestampTz as_of;
	bool		as_of_null;
	Datum		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	at = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the instant must be finite")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	hl = lf_half_life(NULL, NULL);
	lf_prepare_plans();
	lf_act_prepare();
	values[0] = CStringGetTextDatum(key);
	if (SPI_execute_with_args("SELECT engagement, engagement_as_of FROM lead_funnel.lead"
							  " WHERE lead_key OPERATOR(pg_catalog.=) $1",
							  1, (Oid[]) {TEXTOID}, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lead_funnel.lead");
	if (SPI_processed == 0)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	engagement = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	as_of = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &as_of_null));

	if (as_of_null)
		result = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	else if (at >= as_of)
		result = lf_decay(engagement, as_of, at, hl);
	else
	{
		/* before the latest activity: from the ledger of activities */
		uint64		i;

		values[1] = TimestampTzGetDatum(at);
		SPI_execute_plan(lf_plan_act_sum, values, NULL, true, 0);
		result = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
		for (i = 0; i < SPI_processed; i++)
		{
			Datum		p = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			TimestampTz t = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));

			result = DirectFunctionCall2(numeric_add, result, lf_decay(p, t, at, hl));
		}
	}
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
