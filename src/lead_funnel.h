/*-------------------------------------------------------------------------
 *
 * lead_funnel.h
 *	  Declarations shared by the C files of the lead_funnel extension.
 *
 * Each C file owns one concern (stage type, ledger, trigger, calendar, ...)
 * and declares here only what other files need from it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_FUNNEL_H
#define LEAD_FUNNEL_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

/* ---- SQLSTATEs of our own (class LF) ---- */
#define ERRCODE_LF_INVALID_TRANSITION	MAKE_SQLSTATE('L','F','0','0','1')
#define ERRCODE_LF_REASON_REQUIRED		MAKE_SQLSTATE('L','F','0','0','2')
#define ERRCODE_LF_OUT_OF_ORDER			MAKE_SQLSTATE('L','F','0','0','3')
#define ERRCODE_LF_LEDGER_PROTECTED		MAKE_SQLSTATE('L','F','0','0','4')

/* ---- the stage type (stage.c) ---- */

/*
 * A stage is stored as one byte.  The codes are part of the on-disk format
 * and never change; their numeric order is the type's sort order.
 */
typedef uint8 LfStage;

#define LF_STAGE_INVALID		0
#define LF_STAGE_PROSPECT		1
#define LF_STAGE_MQL			2
#define LF_STAGE_SAL			3
#define LF_STAGE_SQL			4
#define LF_STAGE_OPPORTUNITY	5
#define LF_STAGE_CUSTOMER		6
#define LF_STAGE_RECYCLED		7
#define LF_STAGE_DISQUALIFIED	8
#define LF_STAGE_LOST			9
#define LF_STAGE_COUNT			10	/* codes 1..9 are valid */

#define DatumGetLfStage(d)		((LfStage) DatumGetChar(d))
#define LfStageGetDatum(s)		CharGetDatum((char) (s))
#define PG_GETARG_LFSTAGE(n)	DatumGetLfStage(PG_GETARG_DATUM(n))
#define PG_RETURN_LFSTAGE(s)	return LfStageGetDatum(s)

static inline bool
lf_stage_is_valid(int code)
{
	return code > LF_STAGE_INVALID && code < LF_STAGE_COUNT;
}

/* stages in sales' hands */
static inline bool
lf_stage_is_open(LfStage s)
{
	return s == LF_STAGE_MQL || s == LF_STAGE_SAL ||
		s == LF_STAGE_SQL || s == LF_STAGE_OPPORTUNITY;
}

extern LfStage lf_stage_parse(const char *str, int len, bool *ok);
extern const char *lf_stage_name(LfStage s);
extern LfStage lf_stage_from_cstring(const char *str);	/* ereports 22P02 */

/* ---- config caches (module.c) ---- */

/*
 * Every config table carries a statement trigger that sends a relcache
 * invalidation for itself.  A cache registers a reset function and a pointer
 * to the OID of the table it was built from; the relcache callback calls the
 * reset function when that relation (or every relation) is invalidated.
 */
typedef void (*LfCacheReset) (void);
extern void lf_register_cache(Oid *relid, LfCacheReset reset);
extern Oid	lf_schema_oid(void);
extern Oid	lf_relation_oid(const char *relname);

/* the ledger's write guard: true while our own code writes the ledger */
extern bool lf_ledger_write_allowed;

/* ---- scoring (scoring.c) ---- */

/*
 * Fit score of a lead's attributes (a jsonb object) under a scoring model;
 * *isnull is set when attrs is NULL.  Errors when the model does not exist.
 */
extern Numeric lf_fit_score(Jsonb *attrs, const char *model, bool *isnull);

/* a scoring model's settings; false when the model does not exist */
extern bool lf_scoring_model_get(const char *model, Interval *half_life,
								 Numeric *threshold, bool *auto_mql);

/*
 * Points one activity of event_type earns under model (sum of its engagement
 * rules, 0 when none); false when event_type is not in lead_funnel.event_type.
 */
extern bool lf_event_points(const char *model, const char *event_type,
							Numeric *points);

#endif							/* LEAD_FUNNEL_H */
