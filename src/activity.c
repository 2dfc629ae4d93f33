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
#include "executor/tuptable.h"
#include "utils/datum.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "lead_funnel.h"

#define LF_MODEL "default"

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
	Oid			t[2];

	if (OidIsValid(lf_act_relid))
		return;
	if (!lf_act_registered)
	{
		lf_register_cache(&lf_act_relid, lf_act_reset);
		lf_act_registered = true;
	}
	if (lf_plan_act_sum)
		SPI_freeplan(lf_plan_act_sum);

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
	LfTable    *lt;
	LfTable    *ta;
	Datum	   *v;
	bool	   *n;
	int			c_eng;
	int			c_as_of;
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

	/*
	 * The lead, locked (a concurrent activity of the same lead waits and is
	 * applied on top, like in time order), its decayed sum updated, and the
	 * activity row.
	 */
	CommandCounterIncrement();
	lt = lf_table_open("lead");
	if (!lf_table_lock_key(lt, key))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("lead \"%s\" does not exist", key),
				 errhint("A lead exists once it entered the funnel (move() or an attached CRM table).")));
	c_eng = lf_table_col(lt, "engagement");
	c_as_of = lf_table_col(lt, "engagement_as_of");
	lf_table_copy_row(lt);
	v = lt->newslot->tts_values;
	n = lt->newslot->tts_isnull;
	stage = DatumGetLfStage(v[lf_table_col(lt, "stage")]);
	entered = DatumGetTimestampTz(v[lf_table_col(lt, "stage_entered_at")]);
	fit_null = n[lf_table_col(lt, "fit_score")];
	fit = fit_null ? (Datum) 0 : datumCopy(v[lf_table_col(lt, "fit_score")], false, -1);
	if (n[c_as_of])
	{
		engagement = NumericGetDatum(points);
		as_of = at;
	}
	else
	{
		as_of = DatumGetTimestampTz(v[c_as_of]);
		if (at >= as_of)
		{
			engagement = DirectFunctionCall2(numeric_add,
											 lf_decay(v[c_eng], as_of, at, hl),
											 NumericGetDatum(points));
			as_of = at;
		}
		else
			engagement = DirectFunctionCall2(numeric_add, v[c_eng],
											 lf_decay(NumericGetDatum(points), at, as_of, hl));
	}
	v[c_eng] = engagement;
	n[c_eng] = false;
	v[c_as_of] = TimestampTzGetDatum(as_of);
	n[c_as_of] = false;
	ExecStoreVirtualTuple(lt->newslot);
	lf_table_update(lt);

	ta = lf_table_open("activity");
	lf_table_new_row(ta);
	v = ta->newslot->tts_values;
	n = ta->newslot->tts_isnull;
	v[lf_table_col(ta, "activity_id")] = Int64GetDatum(lf_table_next_id(ta));
	n[lf_table_col(ta, "activity_id")] = false;
	v[lf_table_col(ta, "lead_key")] = CStringGetTextDatum(key);
	n[lf_table_col(ta, "lead_key")] = false;
	v[lf_table_col(ta, "event_type")] = CStringGetTextDatum(event_type);
	n[lf_table_col(ta, "event_type")] = false;
	v[lf_table_col(ta, "occurred_at")] = TimestampTzGetDatum(at);
	n[lf_table_col(ta, "occurred_at")] = false;
	if (!PG_ARGISNULL(3))
	{
		v[lf_table_col(ta, "campaign")] = PG_GETARG_DATUM(3);
		n[lf_table_col(ta, "campaign")] = false;
	}
	if (!PG_ARGISNULL(4))
	{
		v[lf_table_col(ta, "detail")] = PG_GETARG_DATUM(4);
		n[lf_table_col(ta, "detail")] = false;
	}
	v[lf_table_col(ta, "points")] = NumericGetDatum(points);
	n[lf_table_col(ta, "points")] = false;
	ExecStoreVirtualTuple(ta->newslot);
	lf_table_insert(ta);
	lf_table_close(ta);
	lf_table_close(lt);
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

			/*
			 * The score is as of the lead's latest activity (a late activity
			 * is added decayed to that time), so that is when it reached the
			 * threshold; never before the lead entered its stage.
			 */
			lf_system_move(&c, key, LF_STAGE_MQL, NULL, "scoring", Max(as_of, entered));
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
