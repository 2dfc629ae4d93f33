/*-------------------------------------------------------------------------
 *
 * tableio.c
 *	  Direct row access to the ledger tables on the hot paths.
 *
 * record_activity() and the core move path write a few rows of the
 * extension's own tables per lead.  Through SPI every such statement pays
 * for executor start-up and shutdown, expression set-up and a generic
 * plan's overhead, which is most of its cost.  These helpers do what the
 * executor would do for one row, the way logical replication's apply worker
 * does (execReplication.c):
 *
 *	 - a lead is found through its primary key and locked (under READ
 *	   COMMITTED the latest version is locked, as UPDATE's EvalPlanQual
 *	   would; under REPEATABLE READ a concurrent update is a serialization
 *	   failure, 40001), or only read when the caller holds a table lock;
 *	 - a row is inserted or updated with NOT NULL and CHECK constraints,
 *	   generated columns and index entries (partial indexes included), as
 *	   ExecSimpleRelationInsert/Update do; an insert keeps the heap page it
 *	   filled pinned for the next row.  A table with row triggers (a user's)
 *	   goes through ExecSimpleRelationInsert/Update themselves, which fire
 *	   them.
 *
 * Statement triggers do not fire: the ledger guards (lf_ledger_guard) are
 * statement triggers that keep every other writer out, and these writes
 * are the extension's own.  No privilege is checked: only the extension's
 * functions call this, after their own checks.
 *
 * Column numbers, the identity sequences and the key index of each table are
 * cached per backend and forgotten when the table's relcache entry is
 * invalidated.  The open tables themselves (relation, indexes, executor
 * state) are kept for the rest of the transaction: see lf_table_build().
 * Writes use the current command id; lf_table_close() makes them visible to
 * the rest of the statement (CommandCounterIncrement, as SPI does after a
 * write).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/hio.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "nodes/makefuncs.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "lead_funnel.h"

#define LF_TABLE_MAXCOLS 32

/* what is cached of one table */
typedef struct LfTableInfo
{
	const char *name;
	Oid			relid;			/* InvalidOid: not loaded */
	Oid			pkey;			/* primary key index */
	Oid			idseq;			/* identity sequence of the first column, if any */
	uint32		generation;		/* bumped when the definition may have changed */
	bool		row_triggers;	/* it has row triggers for INSERT or UPDATE */
	int			ncols;			/* column numbers looked up so far */
	const char *colname[LF_TABLE_MAXCOLS];
	int			colnum[LF_TABLE_MAXCOLS];
} LfTableInfo;

static LfTableInfo lf_tables[] = {
	{"lead"}, {"stage_event"}, {"activity"}, {"sla_clock"}
};

#define LF_NTABLES lengthof(lf_tables)

static bool lf_tables_registered = false;

/* relcache invalidation: forget what is cached of that table */
static void
lf_tables_invalidate(Oid relid)
{
	int			i;

	for (i = 0; i < LF_NTABLES; i++)
	{
		LfTableInfo *ti = &lf_tables[i];

		if (OidIsValid(ti->relid) && (relid == InvalidOid || relid == ti->relid))
		{
			ti->relid = InvalidOid;
			ti->ncols = 0;
			ti->generation++;
		}
	}
}

static LfTableInfo *
lf_table_info(const char *name)
{
	int			i;

	for (i = 0; i < LF_NTABLES; i++)
	{
		LfTableInfo *ti = &lf_tables[i];

		if (strcmp(ti->name, name) != 0)
			continue;
		if (!lf_tables_registered)
		{
			lf_register_relcache_hook(lf_tables_invalidate);
			lf_tables_registered = true;
		}
		if (!OidIsValid(ti->relid))
		{
			Oid			relid = lf_relation_oid(name);
			Relation	rel = table_open(relid, AccessShareLock);
			Oid			seq = InvalidOid;

			if (TupleDescAttr(RelationGetDescr(rel), 0)->attidentity)
				seq = getIdentitySequence(relid, 1, false);
			ti->pkey = RelationGetPrimaryKeyIndex(rel);
			ti->row_triggers = rel->trigdesc != NULL &&
				(rel->trigdesc->trig_insert_before_row ||
				 rel->trigdesc->trig_insert_after_row ||
				 rel->trigdesc->trig_update_before_row ||
				 rel->trigdesc->trig_update_after_row);
			table_close(rel, AccessShareLock);
			ti->idseq = seq;
			ti->relid = relid;
		}
		return ti;
	}
	elog(ERROR, "unknown ledger table \"%s\"", name);
	return NULL;				/* keep compiler quiet */
}

/*
 * The open tables are kept for the rest of the transaction: opening a table
 * with its indexes and executor state costs as much as writing a row.  They
 * are opened with the transaction's resource owner and memory, closed before
 * commit, and forgotten on abort (the resource owner releases them).  A
 * subtransaction's abort closes them too, as its error may have left a row
 * half-handled.  Between two uses no buffer stays pinned.
 */
static LfTable *lf_open[LF_NTABLES];

static LfTable *
lf_table_build(LfTableInfo *ti, bool cached)
{
	MemoryContext old = CurrentMemoryContext;
	ResourceOwner save = CurrentResourceOwner;
	LfTable    *t;
	RangeTblEntry *rte;
	TupleDesc	desc;

	if (cached)
	{
		MemoryContextSwitchTo(TopTransactionContext);
		CurrentResourceOwner = TopTransactionResourceOwner;
	}
	t = palloc0(sizeof(LfTable));
	t->cached = cached;
	t->owner = CurrentResourceOwner;
	t->info = ti;
	t->generation = ti->generation;
	LockRelationOid(ti->relid, RowExclusiveLock);
	t->estate = CreateExecutorState();
	MemoryContextSwitchTo(t->estate->es_query_cxt);
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = ti->relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(t->estate, list_make1(rte));
	t->rri = makeNode(ResultRelInfo);
	ExecInitResultRelation(t->estate, t->rri, 1);
	t->rel = t->rri->ri_RelationDesc;
	ExecOpenIndices(t->rri, false);
	t->epq = palloc0(sizeof(EPQState));
	EvalPlanQualInit(t->epq, t->estate, NULL, NIL, -1);
	/*
	 * The slots have a copy of the row type: no reference to the relcache's
	 * to release when an error interrupts a use.
	 */
	desc = CreateTupleDescCopy(RelationGetDescr(t->rel));
	t->slot = ExecAllocTableSlot(&t->estate->es_tupleTable, desc,
								 table_slot_callbacks(t->rel));
	t->newslot = ExecAllocTableSlot(&t->estate->es_tupleTable, desc,
									&TTSOpsVirtual);
	t->after_triggers = t->rel->trigdesc != NULL &&
		(t->rel->trigdesc->trig_insert_after_row ||
		 t->rel->trigdesc->trig_update_after_row);
	CurrentResourceOwner = save;
	MemoryContextSwitchTo(old);
	return t;
}

/*
 * Close a table for good.  clean: it is not in use (no buffer pinned by its
 * slots or scan); otherwise an error interrupted its use, and the buffers it
 * pinned meanwhile belong to the failing (sub)transaction's resource owner,
 * which releases them: only the references made with the transaction's
 * owner are given back here.
 */
static void
lf_table_destroy(LfTable *t, bool clean)
{
	ResourceOwner save = CurrentResourceOwner;

	CurrentResourceOwner = t->owner;
	if (t->scan)
	{
		if (clean)
			index_endscan(t->scan);
		else
			RelationDecrementReferenceCount(t->keyidx);	/* index_beginscan's */
		index_close(t->keyidx, NoLock);
	}
	if (clean)
		ExecResetTupleTable(t->estate->es_tupleTable, false);
	else
	{
		/* the failing owner unpins the buffer and forgets the snapshot */
		if (t->bistate)
			t->bistate->current_buf = InvalidBuffer;
		t->snapshot = NULL;
		t->nbatch = 0;
	}
	EvalPlanQualEnd(t->epq);
	ExecCloseResultRelations(t->estate);	/* with the trigger machinery's */
	ExecCloseRangeTableRelations(t->estate);
	FreeExecutorState(t->estate);
	CurrentResourceOwner = save;
	pfree(t);
}

/* before commit or prepare: close every open table */
void
lf_tables_xact_end(bool commit)
{
	int			i;

	for (i = 0; i < LF_NTABLES; i++)
	{
		if (lf_open[i] && commit)
			lf_table_destroy(lf_open[i], !lf_open[i]->in_use);
		lf_open[i] = NULL;
	}
}

/*
 * Before a utility statement of this session: close the tables not in use.
 * DDL on a table (CREATE INDEX, ALTER TABLE, TRUNCATE, DROP) refuses to run
 * while the session itself holds it open.
 */
void
lf_tables_close_idle(void)
{
	int			i;

	for (i = 0; i < LF_NTABLES; i++)
	{
		if (lf_open[i] && !lf_open[i]->in_use)
		{
			lf_table_destroy(lf_open[i], true);
			lf_open[i] = NULL;
		}
	}
}

/* a subtransaction aborts: close every open table */
void
lf_tables_subxact_abort(void)
{
	int			i;

	for (i = 0; i < LF_NTABLES; i++)
	{
		if (lf_open[i])
			lf_table_destroy(lf_open[i], !lf_open[i]->in_use);
		lf_open[i] = NULL;
	}
}

/*
 * Open one of the ledger tables for writing rows, until lf_table_close().
 */
LfTable *
lf_table_open(const char *name)
{
	LfTableInfo *ti = lf_table_info(name);
	int			i = ti - lf_tables;
	LfTable    *t = lf_open[i];

	/*
	 * A table with row triggers (a user's) is opened for this use only: the
	 * trigger machinery keeps slots and pins of its own in the executor
	 * state.  So is a table already in use (a nested call).
	 */
	if (ti->row_triggers || (t && t->in_use))
		t = lf_table_build(ti, false);
	else
	{
		if (t && t->generation != ti->generation)
		{
			lf_table_destroy(t, true);
			lf_open[i] = t = NULL;
		}
		if (t == NULL)
			lf_open[i] = t = lf_table_build(ti, true);
	}
	t->in_use = true;
	t->estate->es_output_cid = GetCurrentCommandId(true);
	t->estate->es_snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : InvalidSnapshot;
	if (t->after_triggers)
		AfterTriggerBeginQuery();
	return t;
}

/*
 * End one use: fire queued row triggers, unpin what is pinned, and make the
 * writes visible to what follows in this transaction.
 */
void
lf_table_close(LfTable *t)
{
	lf_table_flush(t);
	if (t->after_triggers)
		AfterTriggerEndQuery(t->estate);
	ExecClearTuple(t->slot);
	ExecClearTuple(t->newslot);
	if (t->snapshot)
	{
		UnregisterSnapshot(t->snapshot);
		t->snapshot = NULL;
	}
	if (t->bistate && BufferIsValid(t->bistate->current_buf))
	{
		ReleaseBuffer(t->bistate->current_buf);
		t->bistate->current_buf = InvalidBuffer;
	}
	if (t->scan)
	{
		MemoryContext old = MemoryContextSwitchTo(t->estate->es_query_cxt);

		index_rescan(t->scan, NULL, 1, NULL, 0);	/* unpins */
		MemoryContextSwitchTo(old);
	}
	ResetPerTupleExprContext(t->estate);
	t->in_use = false;
	if (!t->cached)
		lf_table_destroy(t, true);
	CommandCounterIncrement();
}

/* the next value of the table's identity column (its first column) */
int64
lf_table_next_id(LfTable *t)
{
	if (!OidIsValid(t->info->idseq))
		elog(ERROR, "table \"%s\" has no identity column", RelationGetRelationName(t->rel));
	return nextval_internal(t->info->idseq, false);
}

/*
 * Find the row whose primary key (a single text column) is key and lock it
 * for update; on success t->slot holds the row (its latest version under
 * READ COMMITTED).  Returns false when there is no such row.
 */
bool
lf_table_lock_key(LfTable *t, const char *key)
{
	return lf_table_find_key(t, key, true);
}

/*
 * One snapshot for the use (a batch reads many rows): under READ COMMITTED
 * taken at the first read (after the caller's locks), under REPEATABLE READ
 * the transaction's.
 */
static Snapshot
lf_table_snapshot(LfTable *t)
{
	if (t->snapshot == NULL)
		t->snapshot = RegisterSnapshot(IsolationUsesXactSnapshot() ?
									   GetTransactionSnapshot() : GetLatestSnapshot());
	return t->snapshot;
}

/*
 * The same, but without the row lock when lock is false (the caller holds a
 * table lock that keeps other writers out): the row as the snapshot sees it
 * (READ COMMITTED: the latest committed).
 */
bool
lf_table_find_key(LfTable *t, const char *key, bool lock)
{
	ScanKeyData skey;
	Datum		keyd = PointerGetDatum(cstring_to_text(key));
	bool		found;
	MemoryContext old;

	if (t->scan == NULL)
	{
		MemoryContext old;
		ResourceOwner save = CurrentResourceOwner;

		if (!OidIsValid(t->info->pkey))
			elog(ERROR, "table lead_funnel.%s has no primary key", t->info->name);
		old = MemoryContextSwitchTo(t->estate->es_query_cxt);

		CurrentResourceOwner = t->owner;
		t->keyidx = index_open(t->info->pkey, RowExclusiveLock);
		if (IndexRelationGetNumberOfKeyAttributes(t->keyidx) != 1)
			elog(ERROR, "primary key of \"%s\" has more than one column",
				 RelationGetRelationName(t->rel));
		t->scan = index_beginscan(t->rel, t->keyidx, GetLatestSnapshot(), 1, 0);
		CurrentResourceOwner = save;
		MemoryContextSwitchTo(old);
	}

	ScanKeyEntryInitialize(&skey, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   t->keyidx->rd_indcollation[0], F_TEXTEQ, keyd);
	for (;;)
	{
		TM_FailureData tmfd;
		TM_Result	res;
		bool		rr = IsolationUsesXactSnapshot();
		Snapshot	snap = lf_table_snapshot(t);

		/* the scan keeps what it allocates for its life: in its context */
		old = MemoryContextSwitchTo(t->estate->es_query_cxt);
		t->scan->xs_snapshot = snap;
		index_rescan(t->scan, &skey, 1, NULL, 0);
		found = index_getnext_slot(t->scan, ForwardScanDirection, t->slot);
		MemoryContextSwitchTo(old);
		if (!found || !lock)
			break;
		res = table_tuple_lock(t->rel, &t->slot->tts_tid, snap, t->slot,
							   GetCurrentCommandId(false), LockTupleNoKeyExclusive,
							   LockWaitBlock,
							   rr ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		if (res == TM_Ok)
			break;
		if (res == TM_Updated || res == TM_Deleted)
		{
			if (rr)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to concurrent update")));
			/* deleted meanwhile (READ COMMITTED): look again */
			UnregisterSnapshot(t->snapshot);
			t->snapshot = NULL;
			continue;
		}
		elog(ERROR, "unexpected table_tuple_lock status: %u", res);
	}
	pfree(DatumGetPointer(keyd));
	return found;
}

/*
 * Read every row of the table as the use's snapshot sees it, in heap order:
 * lf_table_scan_next() puts the next one in t->slot.  For a caller that
 * holds a lock keeping other writers out and wants most of the table (a
 * large batch): one pass over the pages instead of a probe per key.  The
 * scan's pins and relcache reference belong to the current resource owner,
 * which releases them if an error ends the scan early.
 */
TableScanDesc
lf_table_scan_begin(LfTable *t)
{
	return table_beginscan(t->rel, lf_table_snapshot(t), 0, NULL);
}

bool
lf_table_scan_next(LfTable *t, TableScanDesc scan)
{
	return table_scan_getnextslot(scan, ForwardScanDirection, t->slot);
}

void
lf_table_scan_end(LfTable *t, TableScanDesc scan)
{
	ExecClearTuple(t->slot);
	table_endscan(scan);
}

/* the number of pages of the table */
BlockNumber
lf_table_pages(LfTable *t)
{
	return RelationGetNumberOfBlocks(t->rel);
}

/* generated columns and constraints of a new row, before it is written */
static void
lf_table_check_new(LfTable *t, TupleTableSlot *slot)
{
	Relation	rel = t->rel;

	if (rel->rd_att->constr)
	{
		if (rel->rd_att->constr->has_generated_stored)
			ExecComputeStoredGenerated(t->rri, t->estate, slot, CMD_INSERT);
		ExecConstraints(t->rri, slot, t->estate);
	}
}

/*
 * Insert the row in t->newslot (values and nulls filled, stored virtual).
 * What ExecSimpleRelationInsert does, but the heap insert keeps its target
 * page pinned from one row to the next (a bulk-insert state without a
 * buffer ring) instead of looking the page up again for every row.  A table
 * with row triggers goes through ExecSimpleRelationInsert itself.
 */
void
lf_table_insert(LfTable *t)
{
	Relation	rel = t->rel;
	TupleTableSlot *slot = t->newslot;

	if (t->info->row_triggers)
	{
		ExecSimpleRelationInsert(t->rri, t->estate, slot);
		return;
	}
	lf_table_check_new(t, slot);
	if (t->bistate == NULL)
		t->bistate = MemoryContextAllocZero(t->estate->es_query_cxt,
											sizeof(BulkInsertStateData));
	table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, t->bistate);
	if (t->rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(t->rri, slot, t->estate, false, false,
										NULL, NIL));
}

/*
 * Queue the row in t->newslot for insertion; lf_table_flush() (or
 * lf_table_close()) writes the queued rows with one multi-insert per page,
 * as COPY does, then their index entries.  A table with row triggers gets
 * the row inserted at once.
 */
#define LF_TABLE_BATCH 1000

void
lf_table_insert_later(LfTable *t)
{
	Relation	rel = t->rel;
	TupleTableSlot *slot = t->newslot;

	if (t->info->row_triggers)
	{
		lf_table_insert(t);
		return;
	}
	lf_table_check_new(t, slot);
	if (t->nbatch == t->nslots)
	{
		/* one more slot (made as needed: a single move needs one) */
		MemoryContext old = MemoryContextSwitchTo(t->estate->es_query_cxt);

		if (t->batch == NULL)
			t->batch = palloc(sizeof(TupleTableSlot *) * LF_TABLE_BATCH);
		t->batch[t->nslots++] = ExecAllocTableSlot(&t->estate->es_tupleTable,
												   t->slot->tts_tupleDescriptor,
												   table_slot_callbacks(rel));
		MemoryContextSwitchTo(old);
	}
	ExecCopySlot(t->batch[t->nbatch], slot);	/* (a copy of its own) */
	t->nbatch++;
	if (t->nbatch == LF_TABLE_BATCH)
		lf_table_flush(t);
}

/* write the queued rows */
void
lf_table_flush(LfTable *t)
{
	int			i;

	if (t->nbatch == 0)
		return;
	if (t->bistate == NULL)
		t->bistate = MemoryContextAllocZero(t->estate->es_query_cxt,
											sizeof(BulkInsertStateData));
	table_multi_insert(t->rel, t->batch, t->nbatch, GetCurrentCommandId(true), 0,
					   t->bistate);
	for (i = 0; i < t->nbatch; i++)
	{
		if (t->rri->ri_NumIndices > 0)
			list_free(ExecInsertIndexTuples(t->rri, t->batch[i], t->estate, false,
											false, NULL, NIL));
		ExecClearTuple(t->batch[i]);
		ResetPerTupleExprContext(t->estate);
	}
	t->nbatch = 0;
}

/* replace the row locked in t->slot by the row in t->newslot */
void
lf_table_update(LfTable *t)
{
	lf_table_update_ext(t, true);
}

/*
 * The same; generated: false when the caller knows that no column a
 * generated column depends on changed (the stored values are kept).  What
 * ExecSimpleRelationUpdate does, which a table with row triggers still uses.
 */
void
lf_table_update_ext(LfTable *t, bool generated)
{
	Relation	rel = t->rel;
	TupleTableSlot *slot = t->newslot;
	bool		update_indexes;

	if (t->info->row_triggers)
	{
		ExecSimpleRelationUpdate(t->rri, t->estate, t->epq, t->slot, slot);
		return;
	}
	CheckCmdReplicaIdentity(rel, CMD_UPDATE);
	if (rel->rd_att->constr)
	{
		if (generated && rel->rd_att->constr->has_generated_stored)
			ExecComputeStoredGenerated(t->rri, t->estate, slot, CMD_UPDATE);
		ExecConstraints(t->rri, slot, t->estate);
	}
	simple_table_tuple_update(rel, &t->slot->tts_tid, slot, t->estate->es_snapshot,
							  &update_indexes);
	if (t->rri->ri_NumIndices > 0 && update_indexes)
		list_free(ExecInsertIndexTuples(t->rri, slot, t->estate, true, false,
										NULL, NIL));
}

/*
 * Start the new row as a copy of the locked one (values stay valid while
 * t->slot keeps the row); the caller changes what it needs and stores it
 * with ExecStoreVirtualTuple().
 */
void
lf_table_copy_row(LfTable *t)
{
	int			natts = RelationGetDescr(t->rel)->natts;

	slot_getallattrs(t->slot);
	ExecClearTuple(t->newslot);
	memcpy(t->newslot->tts_values, t->slot->tts_values, natts * sizeof(Datum));
	memcpy(t->newslot->tts_isnull, t->slot->tts_isnull, natts * sizeof(bool));
}

/* start an empty new row: every column NULL */
void
lf_table_new_row(LfTable *t)
{
	int			natts = RelationGetDescr(t->rel)->natts;

	ExecClearTuple(t->newslot);
	memset(t->newslot->tts_isnull, true, natts * sizeof(bool));
}

/*
 * Index (0-based) of a column in the table's rows, ERROR if missing.  Column
 * names are compile-time constants: they are remembered by address.
 */
int
lf_table_col(LfTable *t, const char *colname)
{
	LfTableInfo *ti = t->info;
	AttrNumber	a;
	int			i;

	for (i = 0; i < ti->ncols; i++)
		if (ti->colname[i] == colname)
			return ti->colnum[i];
	a = get_attnum(RelationGetRelid(t->rel), colname);
	if (a == InvalidAttrNumber || a > RelationGetDescr(t->rel)->natts)
		elog(ERROR, "column \"%s\" of lead_funnel.%s does not exist",
			 colname, RelationGetRelationName(t->rel));
	if (ti->ncols < LF_TABLE_MAXCOLS)
	{
		ti->colname[ti->ncols] = colname;
		ti->colnum[ti->ncols] = a - 1;
		ti->ncols++;
	}
	return a - 1;
}
