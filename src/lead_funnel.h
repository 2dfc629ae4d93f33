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

/* is this error the agreement refusing a move (and not a failure)? */
static inline bool
lf_agreement_error(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_LF_INVALID_TRANSITION ||
		sqlerrcode == ERRCODE_LF_REASON_REQUIRED ||
		sqlerrcode == ERRCODE_LF_OUT_OF_ORDER;
}

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

/* a callback for every relcache invalidation (relid InvalidOid = all) */
typedef void (*LfRelcacheHook) (Oid relid);
extern void lf_register_relcache_hook(LfRelcacheHook hook);

/* time recorded for changes through attached CRM tables (GUC) */
extern TimestampTz lf_event_time(void);
extern bool lf_event_time_is_set(void);
extern Oid	lf_relation_oid(const char *relname);

/* a superuser's COPY FROM is running (pg_restore loading the tables) */
extern bool lf_restoring(void);

/* the ledger's write guard: true while our own code writes the ledger */
extern bool lf_ledger_write_allowed;

/* ---- the ledger and the core move path (ledger.c) ---- */

struct _SPI_plan;

/*
 * One change of one lead: a move to a stage (has_move) and/or new values of
 * its side columns.  The core applies arrays of changes set-based; move()
 * applies one, the CRM trigger one statement's worth at the statement's end.
 */
/* longest lead key (bytes, key_prefix included) */
#define LF_MAX_KEY_BYTES 1000

typedef struct LfChange
{
	const char *lead_key;
	bool		has_move;		/* false: side columns only */
	LfStage		to_stage;
	const char *reason;
	const char *actor;
	TimestampTz occurred_at;
	bool		time_is_now;	/* occurred_at is the default "now": never
								 * before the lead's last event */
	const char *team;			/* NULL: keep the lead's team */
	const char *campaign;		/* NULL: keep */
	const char *owner;			/* NULL: keep */
	const char *segment;		/* NULL: keep */
	const char *source;			/* move, crm:<table>, backfill, scoring, sla */
	bool		soft;			/* violations are recorded, not raised */
	bool		side_on_noop;	/* apply side columns when the move is a no-op */
	bool		force_entry;	/* backfill: a new lead may enter anywhere */
	bool		entry_only;		/* backfill: leave existing leads alone */
	bool		has_amount;		/* amount holds a deal value (numeric) */
	Datum		amount;
	bool		has_fit;		/* fit holds a fit score (numeric), or NULL */
	bool		fit_isnull;
	Datum		fit;
	const char *crm_table;		/* for recorded violations */
	const char *crm_status;
	const char *violation;		/* soft: a violation found before the core */
	int			violation_code;
	SubTransactionId subid;		/* buffered changes: subtransaction */
} LfChange;

/* what applying changes did */
typedef struct LfApplyResult
{
	int			nevents;		/* events written */
	int			nviolations;	/* violations recorded (soft changes) */
	int			nentered;		/* leads created */
	struct HeapTupleData *event;	/* with want_event: the first event (SPI memory) */
	struct TupleDescData *event_desc;
} LfApplyResult;

extern void lf_apply_changes(LfChange *changes, int n, bool want_event,
							 LfApplyResult *result);
extern struct ErrorData *lf_try_agreement(void (*fn) (void *arg), void *arg);
extern char *lf_clip_key(const char *key);
extern void lf_as_owner(void (*fn) (void *arg), void *arg);
extern void lf_apply_one(void *change);
extern void lf_system_move(LfChange *c, const char *lead_key, LfStage to,
						   const char *reason, const char *who, TimestampTz at);
extern bool lf_deal_amount_valid(Numeric amount);
extern void lf_record_violation(const char *lead_key, const char *crm_table,
								const char *crm_status, bool has_from, LfStage from,
								bool has_to, LfStage to, TimestampTz at,
								int sqlerrcode, const char *message);

/* changes buffered by the CRM row trigger until its statement ends */
/* tableio.c: direct row access to the ledger tables */
typedef struct LfTable
{
	struct LfTableInfo *info;
	struct RelationData *rel;
	struct EState *estate;
	struct ResultRelInfo *rri;
	struct EPQState *epq;
	struct TupleTableSlot *slot;	/* the row found and locked */
	struct TupleTableSlot *newslot; /* the row to write */
	struct RelationData *keyidx;
	struct IndexScanDescData *scan;
	struct BulkInsertStateData *bistate;	/* the page rows go to */
	struct SnapshotData *snapshot;	/* of the key probes of this use */
	struct TupleTableSlot **batch;	/* rows queued by lf_table_insert_later */
	int			nbatch;			/* rows queued */
	int			nslots;			/* slots made in batch */
	bool		after_triggers;
	bool		in_use;			/* between lf_table_open and _close */
	bool		cached;			/* kept open for the transaction (else: one use) */
	struct ResourceOwnerData *owner;	/* that its references belong to */
	uint32		generation;		/* of the cached table definitions */
} LfTable;

extern LfTable *lf_table_open(const char *name);
extern void lf_table_close(LfTable *t);
extern bool lf_table_lock_key(LfTable *t, const char *key);
extern bool lf_table_find_key(LfTable *t, const char *key, bool lock);
extern struct TableScanDescData *lf_table_scan_begin(LfTable *t);
extern bool lf_table_scan_next(LfTable *t, struct TableScanDescData *scan);
extern void lf_table_scan_end(LfTable *t, struct TableScanDescData *scan);
extern uint32 lf_table_pages(LfTable *t);
extern int64 lf_table_next_id(LfTable *t);
extern int	lf_table_col(LfTable *t, const char *colname);
extern void lf_table_copy_row(LfTable *t);
extern void lf_table_new_row(LfTable *t);
extern void lf_table_insert(LfTable *t);
extern void lf_table_insert_later(LfTable *t);
extern void lf_table_flush(LfTable *t);
extern void lf_table_update(LfTable *t);
extern void lf_table_update_ext(LfTable *t, bool generated);
extern void lf_tables_xact_end(bool commit);
extern void lf_tables_subxact_abort(void);
extern void lf_tables_close_idle(void);

extern void lf_buffer_add(const LfChange *change);
extern void lf_buffer_flush(void);
extern bool lf_buffer_pending(void);
extern void lf_buffer_xact_end(bool commit);
extern void lf_buffer_subxact_abort(SubTransactionId subid);

extern void lf_insert_deal(const char *lead_key, Datum amount,
						   TimestampTz won_at, bool existing);
extern void lf_prepare_plans(void);
extern struct _SPI_plan *lf_prepare(const char *sql, int nargs, Oid *argtypes);
extern struct _SPI_plan *lf_prepare_opts(const char *sql, int nargs, Oid *argtypes,
										 int cursor_options);
extern int	lf_exec(struct _SPI_plan *plan, Datum *values, const char *nulls,
					long count);
extern Oid	lf_stage_type_oid(void);
extern Oid	lf_extension_owner(void);

/* ---- SLA clocks (sla.c) ---- */

/* due time of the SLA of a stage entered at "entered"; false: no policy */
extern bool lf_sla_due(LfStage stage, TimestampTz entered, TimestampTz *due);

/* ---- routing (routing.c) ---- */

/* route a lead that just became MQL without a team */
extern void lf_route_after_move(const char *lead_key);
/* error (23503) unless the team exists; no check while no team is defined */
extern void lf_check_team(const char *team);
extern bool lf_team_known(const char *team);
/*
 * Route a lead (SPI need not be connected): returns the team chosen
 * (palloc'd in the caller's memory context) or NULL when no active team is
 * left; records an assignment with reason_override, or with the reason of
 * the choice when NULL (segment, overflow, over_capacity).  exclude_team:
 * a team not to choose (SLA escalation), NULL for none.
 */
extern char *lf_route(const char *lead_key, const char *exclude_team,
					  const char *reason_override);

/* ---- calendar (calendar.c) ---- */

/*
 * Working time of a business calendar (lead_funnel.calendar row `calendar`).
 * Both ereport 42704 for an unknown calendar and 22008 for infinite or
 * out-of-range timestamps; lf_business_add ereports 22023 for an amount
 * with months.  Days in the amount count as 24 hours.  The result of
 * lf_business_time is palloc'd in the current memory context.
 */
extern TimestampTz lf_business_add(const char *calendar, TimestampTz from,
								   const Interval *amount);
extern Interval *lf_business_time(const char *calendar, TimestampTz from,
								  TimestampTz to);

/* ---- scoring (scoring.c) ---- */

/*
 * Fit score of a lead's attributes (a jsonb object) under a scoring model;
 * *isnull is set when attrs is NULL.  Errors when the model does not exist.
 */
extern Numeric lf_fit_score(Jsonb *attrs, const char *model, bool *isnull);

/* decayed(value, as_of, at, half_life): SQL-callable, exact decay */
extern Datum lf_decayed(PG_FUNCTION_ARGS);

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
