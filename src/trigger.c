/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  The generic trigger on attached CRM tables, and backfill().
 *
 * attach() (attach.sql) validates its arguments and creates
 *
 *	  AFTER INSERT OR UPDATE OF <status and option columns> ON <crm table>
 *	  FOR EACH ROW EXECUTE FUNCTION lead_funnel.crm_trigger(
 *		  key_column, status_column, status_map, options)
 *
 * The trigger takes its configuration from its arguments (so pg_dump and
 * restore carry it with the trigger).  Per trigger OID we cache the parsed
 * status map, the options and the column numbers, resolved by name against
 * the table's current tuple descriptor; the cache entry is dropped when the
 * table's relcache entry is invalidated (ALTER TABLE, DROP COLUMN, ...), so a
 * changed table is resolved again and never read with stale column numbers.
 *
 * The trigger runs with the rights of the extension's owner: it switches the
 * user id around its work (SECURITY_LOCAL_USERID_CHANGE), so a CRM user needs
 * no rights on the ledger, and it records the CRM user as the actor.  All SQL
 * it runs is prepared once under a search path of pg_catalog only, and values
 * are passed as parameters.
 *
 * The row trigger only turns the row into a change (lf_row_change) and
 * buffers it; the statement trigger lead_funnel_flush applies the
 * statement's changes through lf_apply_changes(), the same core as move(),
 * when the statement ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "executor/executor.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/numeric.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "lead_funnel.h"

/* columns an attachment can read, besides key and status */
typedef enum LfOptCol
{
	LF_COL_OWNER,
	LF_COL_TEAM,
	LF_COL_CAMPAIGN,
	LF_COL_SEGMENT,
	LF_COL_REASON,
	LF_COL_AMOUNT,
	LF_NUM_OPTCOLS
} LfOptCol;

static const char *const lf_optcol_names[LF_NUM_OPTCOLS] = {
	"owner_column", "team_column", "campaign_column", "segment_column",
	"reason_column", "amount_column"
};

typedef struct LfMapEntry
{
	char	   *status;
	LfStage		stage;
} LfMapEntry;

typedef struct LfAttach
{
	Oid			tgoid;			/* hash key */
	bool		valid;
	Oid			relid;
	MemoryContext cxt;
	char	   *source;			/* "crm:schema.table" */
	char	   *table_name;		/* schema.table for messages (the attached
								 * table, also for its partitions) */
	bool		has_flush;		/* the relation has lead_funnel_flush */
	bool		key_fixed_style;	/* key's text form depends on settings */
	AttrNumber	key_att;
	AttrNumber	status_att;
	AttrNumber	opt_att[LF_NUM_OPTCOLS];	/* InvalidAttrNumber = not set */
	int			nattrs;			/* attributes option */
	AttrNumber *attr_att;
	char	  **attr_name;
	char	   *key_prefix;
	bool		record_invalid; /* on_invalid = record */
	bool		ignore_unmapped;	/* on_unmapped = ignore */
	int			nmap;
	LfMapEntry *map;
	int			nout;			/* output functions, by attribute number - 1 */
	FmgrInfo   *out;
	bool	   *out_set;
	bool	   *out_varlena;
} LfAttach;

static HTAB *lf_attach_hash = NULL;

static void
lf_attach_invalidate(Oid relid)
{
	HASH_SEQ_STATUS status;
	LfAttach   *entry;

	if (lf_attach_hash == NULL)
		return;
	hash_seq_init(&status, lf_attach_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
	}
}

/* ---- configuration ---- */

static AttrNumber
lf_find_column(Relation rel, const char *name, const char *what, bool required)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	if (!required)
		return InvalidAttrNumber;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" (%s) of attached table \"%s\" does not exist",
					name, what, RelationGetRelationName(rel)),
			 errhint("Detach the table and attach it again with the current column names.")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

static Jsonb *
lf_parse_jsonb(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

/* the string value of a top-level key of a jsonb object, or NULL */
static char *
lf_jsonb_string(Jsonb *jb, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* a relation's trigger of that name, or NULL */
static Trigger *
lf_find_trigger(Relation rel, const char *name)
{
	int			i;

	for (i = 0; rel->trigdesc && i < rel->trigdesc->numtriggers; i++)
	{
		if (strcmp(rel->trigdesc->triggers[i].tgname, name) == 0)
			return &rel->trigdesc->triggers[i];
	}
	return NULL;
}

/*
 * Whether a type's text form can depend on session settings (DateStyle,
 * TimeZone, IntervalStyle, extra_float_digits, bytea_output, lc_monetary):
 * anything but the built-in types known not to.
 */
static bool
lf_type_text_depends_on_settings(Oid typid)
{
	switch (getBaseType(typid))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
		case UUIDOID:
		case BOOLOID:
		case OIDOID:
		case CHAROID:
			return false;
		default:
			return true;
	}
}

/*
 * "schema.table" of the attached table.  On a partition the trigger is a
 * clone of the one attach() created on an ancestor: name that ancestor,
 * whichever partition the row landed in.
 */
static char *
lf_attached_table_name(Relation rel, Trigger *trigger)
{
	Oid			attached = RelationGetRelid(rel);

	if (trigger->tgisclone && rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));
		ListCell   *lc;

		foreach(lc, ancestors)
		{
			Relation	anc = table_open(lfirst_oid(lc), AccessShareLock);
			Trigger    *t = lf_find_trigger(anc, "lead_funnel_status");
			bool		original = (t != NULL && !t->tgisclone);

			table_close(anc, AccessShareLock);
			if (original)
			{
				attached = lfirst_oid(lc);
				break;
			}
		}
	}
	return psprintf("%s.%s", get_namespace_name(get_rel_namespace(attached)),
					get_rel_name(attached));
}

/*
 * Build the configuration of one trigger.  attach() validated everything
 * when it created the trigger; here a mismatch can only come from a table
 * changed later (a column dropped or renamed), reported clearly.
 */
static void
lf_attach_build(LfAttach *a, Relation rel, Trigger *trigger)
{
	MemoryContext old;
	Jsonb	   *map;
	Jsonb	   *opts;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			i;
	char	   *s;

	if (trigger->tgnargs != 4)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on \"%s\" has %d arguments, expected 4",
						trigger->tgname, RelationGetRelationName(rel), trigger->tgnargs),
				 errhint("Create it with lead_funnel.attach().")));

	if (a->cxt)
		MemoryContextReset(a->cxt);
	else
		a->cxt = AllocSetContextCreate(CacheMemoryContext, "lead_funnel attachment",
									   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(a->cxt);

	a->relid = RelationGetRelid(rel);
	a->nout = RelationGetDescr(rel)->natts;
	a->out = palloc0(sizeof(FmgrInfo) * Max(a->nout, 1));
	a->out_set = palloc0(sizeof(bool) * Max(a->nout, 1));
	a->out_varlena = palloc0(sizeof(bool) * Max(a->nout, 1));
	a->table_name = lf_attached_table_name(rel, trigger);
	{
		Trigger    *flush = lf_find_trigger(rel, "lead_funnel_flush");

		a->has_flush = (flush != NULL && !TRIGGER_FOR_ROW(flush->tgtype) &&
						flush->tgenabled != TRIGGER_DISABLED);
	}
	a->source = psprintf("crm:%s", a->table_name);
	a->key_att = lf_find_column(rel, trigger->tgargs[0], "key column", true);
	a->key_fixed_style = lf_type_text_depends_on_settings(
		TupleDescAttr(RelationGetDescr(rel), a->key_att - 1)->atttypid);
	a->status_att = lf_find_column(rel, trigger->tgargs[1], "status column", true);

	/* status map: {"CRM status": "stage", ...} */
	map = lf_parse_jsonb(trigger->tgargs[2]);
	a->nmap = 0;
	a->map = palloc(sizeof(LfMapEntry) * Max(1, JB_ROOT_COUNT(map)));
	it = JsonbIteratorInit(&map->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			char	   *status = pnstrdup(v.val.string.val, v.val.string.len);

			tok = JsonbIteratorNext(&it, &v, true);
			if (tok != WJB_VALUE || v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("status map of \"%s\" maps \"%s\" to a value that is not a string",
								a->table_name, status)));
			a->map[a->nmap].status = status;
			a->map[a->nmap].stage =
				lf_stage_from_cstring(pnstrdup(v.val.string.val, v.val.string.len));
			a->nmap++;
		}
	}

	/* options */
	opts = lf_parse_jsonb(trigger->tgargs[3]);
	for (i = 0; i < LF_NUM_OPTCOLS; i++)
	{
		s = lf_jsonb_string(opts, lf_optcol_names[i]);
		a->opt_att[i] = s ? lf_find_column(rel, s, lf_optcol_names[i], true) : InvalidAttrNumber;
	}
	a->key_prefix = lf_jsonb_string(opts, "key_prefix");
	s = lf_jsonb_string(opts, "on_invalid");
	a->record_invalid = (s && strcmp(s, "record") == 0);
	s = lf_jsonb_string(opts, "on_unmapped");
	a->ignore_unmapped = (s && strcmp(s, "ignore") == 0);

	a->nattrs = 0;
	a->attr_att = NULL;
	a->attr_name = NULL;
	{
		JsonbValue	k;
		JsonbValue *arr;

		k.type = jbvString;
		k.val.string.val = "attributes";
		k.val.string.len = strlen("attributes");
		arr = findJsonbValueFromContainer(&opts->root, JB_FOBJECT, &k);
		if (arr && arr->type == jbvBinary)
		{
			int			n = JsonContainerSize(arr->val.binary.data);

			a->attr_att = palloc(sizeof(AttrNumber) * Max(n, 1));
			a->attr_name = palloc(sizeof(char *) * Max(n, 1));
			for (i = 0; i < n; i++)
			{
				JsonbValue *e = getIthJsonbValueFromContainer(arr->val.binary.data, i);

				if (e == NULL || e->type != jbvString)
					continue;
				a->attr_name[a->nattrs] = pnstrdup(e->val.string.val, e->val.string.len);
				a->attr_att[a->nattrs] = lf_find_column(rel, a->attr_name[a->nattrs],
														"attribute", true);
				a->nattrs++;
			}
		}
	}
	MemoryContextSwitchTo(old);
	a->valid = true;
}

static LfAttach *
lf_attach_get(Relation rel, Trigger *trigger)
{
	LfAttach   *a;
	bool		found;

	if (lf_attach_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(LfAttach);
		ctl.hcxt = CacheMemoryContext;
		lf_attach_hash = hash_create("lead_funnel attachments", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		lf_register_relcache_hook(lf_attach_invalidate);
	}
	a = hash_search(lf_attach_hash, &trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		a->valid = false;
		a->cxt = NULL;
		a->relid = RelationGetRelid(rel);
	}
	if (!a->valid)
	{
		PG_TRY();
		{
			lf_attach_build(a, rel, trigger);
		}
		PG_CATCH();
		{
			a->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return a;
}

/* ---- reading a CRM row ---- */

/*
 * Column value as text (its type's output function, looked up once per
 * attachment), or NULL.
 */
static char *
lf_column_text(LfAttach *a, HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	Datum		d;
	bool		isnull;

	if (attnum == InvalidAttrNumber)
		return NULL;
	if (attnum > a->nout)
		return SPI_getvalue(tuple, desc, attnum);	/* (not seen at attach time) */
	d = heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		return NULL;
	if (!a->out_set[attnum - 1])
	{
		Oid			foid;
		bool		isvarlena;

		getTypeOutputInfo(TupleDescAttr(desc, attnum - 1)->atttypid, &foid, &isvarlena);
		fmgr_info_cxt(foid, &a->out[attnum - 1], a->cxt);
		a->out_varlena[attnum - 1] = isvarlena;
		a->out_set[attnum - 1] = true;
	}
	if (a->out_varlena[attnum - 1])
		d = PointerGetDatum(PG_DETOAST_DATUM(d));	/* as SPI_getvalue does */
	return OutputFunctionCall(&a->out[attnum - 1], d);
}

/*
 * The key as text.  A key whose text form depends on settings (a date, a
 * timestamp, a float, ...) is written with fixed ones, as pg_dump does, so
 * that one CRM row is one lead whatever the session's DateStyle or
 * TimeZone.  (An error leaves the settings to the abort, which resets them.)
 */
static char *
lf_key_text(LfAttach *a, HeapTuple tuple, TupleDesc desc)
{
	int			nest;
	char	   *s;

	if (!a->key_fixed_style)
		return lf_column_text(a, tuple, desc, a->key_att);
	nest = NewGUCNestLevel();
	(void) set_config_option("datestyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("timezone", "UTC", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "1", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	s = lf_column_text(a, tuple, desc, a->key_att);
	AtEOXact_GUC(true, nest);
	return s;
}

static bool
lf_column_changed(HeapTuple oldtup, HeapTuple newtup, TupleDesc desc,
				  AttrNumber attnum)
{
	Form_pg_attribute att;
	bool		onull;
	bool		nnull;
	Datum		o;
	Datum		n;

	if (attnum == InvalidAttrNumber)
		return false;
	o = heap_getattr(oldtup, attnum, desc, &onull);
	n = heap_getattr(newtup, attnum, desc, &nnull);
	if (onull || nnull)
		return onull != nnull;
	/* binary equality: a false "changed" only costs a no-op move */
	att = TupleDescAttr(desc, attnum - 1);
	return !datumIsEqual(o, n, att->attbyval, att->attlen);
}

static bool
lf_map_status(LfAttach *a, const char *status, LfStage *stage)
{
	int			i;

	for (i = 0; i < a->nmap; i++)
	{
		if (strcmp(a->map[i].status, status) == 0)
		{
			*stage = a->map[i].stage;
			return true;
		}
	}
	return false;
}

static char *
lf_mapped_list(LfAttach *a)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < a->nmap; i++)
		appendStringInfo(&buf, "%s\"%s\"", i ? ", " : "", a->map[i].status);
	return buf.data;
}

/* the lead attributes of the attributes option as a jsonb object */
static Jsonb *
lf_row_attributes(LfAttach *a, HeapTuple tuple, TupleDesc desc)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	int			i;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < a->nattrs; i++)
	{
		JsonbValue	k;
		JsonbValue	v;
		bool		isnull;
		Datum		d = SPI_getbinval(tuple, desc, a->attr_att[i], &isnull);
		Oid			typid = SPI_gettypeid(desc, a->attr_att[i]);

		k.type = jbvString;
		k.val.string.val = a->attr_name[i];
		k.val.string.len = strlen(a->attr_name[i]);
		pushJsonbValue(&state, WJB_KEY, &k);
		if (isnull)
			v.type = jbvNull;
		else if (typid == BOOLOID)
		{
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(d);
		}
		else if (typid == INT2OID || typid == INT4OID || typid == INT8OID ||
				 typid == NUMERICOID || typid == FLOAT4OID || typid == FLOAT8OID)
		{
			char	   *txt = lf_column_text(a, tuple, desc, a->attr_att[i]);

			if (strcmp(txt, "NaN") == 0 || strstr(txt, "Infinity") != NULL)
			{
				v.type = jbvString;
				v.val.string.val = txt;
				v.val.string.len = strlen(txt);
			}
			else
			{
				v.type = jbvNumeric;
				v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																	CStringGetDatum(txt),
																	ObjectIdGetDatum(InvalidOid),
																	Int32GetDatum(-1)));
			}
		}
		else
		{
			char	   *txt = lf_column_text(a, tuple, desc, a->attr_att[i]);

			v.type = jbvString;
			v.val.string.val = txt;
			v.val.string.len = strlen(txt);
		}
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ---- turning a CRM row into a change ---- */

/* soft changes: a problem found before the core becomes a violation */
static bool
lf_row_violation(LfChange *c, int sqlerrcode, char *message)
{
	c->violation = message;
	c->violation_code = sqlerrcode;
	return true;
}

/*
 * Build the change of one CRM row: the status change (when the status
 * changed and is mapped) and the side columns (owner, team, campaign,
 * segment, fit score).  Returns false when there is nothing to record.
 * An unmapped status is an error, or (on_invalid = record) recorded as a
 * violation right away, or (on_unmapped = ignore) skipped.
 */
static bool
lf_row_change(LfAttach *a, TupleDesc desc, HeapTuple oldtup, HeapTuple newtup,
			  const char *actor, bool backfill, LfChange *c)
{
	char	   *rawkey;
	char	   *status;
	bool		status_changed;
	bool		side_changed = false;
	char	   *opt[LF_NUM_OPTCOLS];
	int			i;

	memset(c, 0, sizeof(*c));
	rawkey = lf_key_text(a, newtup, desc);
	if (rawkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("key column of attached table \"%s\" is null", a->table_name),
				 errhint("Every row of an attached table needs a key to be tracked as a lead.")));
	c->lead_key = a->key_prefix ? psprintf("%s%s", a->key_prefix, rawkey) : rawkey;
	c->actor = actor;
	c->occurred_at = lf_event_time();
	c->time_is_now = !lf_event_time_is_set();
	c->source = backfill ? "backfill" : a->source;
	c->soft = a->record_invalid && !backfill;
	c->side_on_noop = true;
	c->force_entry = backfill;
	c->entry_only = backfill;
	c->crm_table = a->table_name;
	status = lf_column_text(a, newtup, desc, a->status_att);
	c->crm_status = status;

	if (oldtup && lf_column_changed(oldtup, newtup, desc, a->key_att))
	{
		char	   *oldkey = lf_key_text(a, oldtup, desc);

		/*
		 * The key is the lead: taking the new key for a new lead would
		 * leave the old one open for ever.
		 */
		if (!a->record_invalid)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the key of a row of attached table \"%s\" cannot change", a->table_name),
					 errdetail("Key \"%s\" was changed to \"%s\".", oldkey ? oldkey : "", rawkey),
					 errhint("A lead keeps its key: insert a new row for a new lead (and move or disqualify the old one).")));
		/* recorded with the lead that lost its key */
		c->lead_key = a->key_prefix ? psprintf("%s%s", a->key_prefix, oldkey) : oldkey;
		return lf_row_violation(c, ERRCODE_FEATURE_NOT_SUPPORTED,
								psprintf("the key of a row of attached table \"%s\" changed from \"%s\" to \"%s\"",
										 a->table_name, oldkey ? oldkey : "", rawkey));
	}
	if (c->lead_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key column of attached table \"%s\" is empty", a->table_name),
				 errhint("Every row of an attached table needs a key to be tracked as a lead (or attach with a \"key_prefix\").")));
	status_changed = (oldtup == NULL) ||
		lf_column_changed(oldtup, newtup, desc, a->status_att);

	for (i = 0; i < LF_NUM_OPTCOLS; i++)
	{
		opt[i] = lf_column_text(a, newtup, desc, a->opt_att[i]);
		if (oldtup && i != LF_COL_REASON && i != LF_COL_AMOUNT &&
			lf_column_changed(oldtup, newtup, desc, a->opt_att[i]))
			side_changed = true;
	}
	c->owner = opt[LF_COL_OWNER];
	c->team = opt[LF_COL_TEAM];
	c->campaign = opt[LF_COL_CAMPAIGN];
	c->segment = opt[LF_COL_SEGMENT];
	c->reason = opt[LF_COL_REASON];
	if (c->team && !lf_team_known(c->team))
	{
		if (!c->soft)
			lf_check_team(c->team); /* the error, with the known teams */
		return lf_row_violation(c, ERRCODE_FOREIGN_KEY_VIOLATION,
								psprintf("team \"%s\" does not exist", c->team));
	}
	if (opt[LF_COL_AMOUNT] != NULL)
	{
		Numeric		amount;

		amount = DatumGetNumeric(DirectFunctionCall3(numeric_in,
													 CStringGetDatum(opt[LF_COL_AMOUNT]),
													 ObjectIdGetDatum(InvalidOid),
													 Int32GetDatum(-1)));
		if (!lf_deal_amount_valid(amount))	/* the rule of record_deal() */
		{
			char	   *message = psprintf("deal amount %s of lead \"%s\" must be a finite number of at least 0",
										   opt[LF_COL_AMOUNT], c->lead_key);

			if (!c->soft)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg_internal("%s", message),
						 errdetail("Amount column of attached table \"%s\".", a->table_name)));
			return lf_row_violation(c, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, message);
		}
		c->has_amount = true;
		c->amount = NumericGetDatum(amount);
	}

	if (a->nattrs > 0)
	{
		bool		attrs_changed = (oldtup == NULL);

		for (i = 0; i < a->nattrs && !attrs_changed; i++)
			attrs_changed = lf_column_changed(oldtup, newtup, desc, a->attr_att[i]);
		if (attrs_changed || status_changed)
		{
			bool		isnull = false;
			Numeric		score = lf_fit_score(lf_row_attributes(a, newtup, desc),
											 "default", &isnull);

			c->has_fit = true;
			c->fit_isnull = isnull;
			c->fit = isnull ? (Datum) 0 : NumericGetDatum(score);
			side_changed = side_changed || attrs_changed;
		}
	}

	if (status_changed && status != NULL)
	{
		LfStage		stage;

		if (lf_map_status(a, status, &stage))
		{
			c->has_move = true;
			c->to_stage = stage;
		}
		else if (!a->ignore_unmapped)
		{
			char	   *message = psprintf("status \"%s\" of attached table \"%s\" is not mapped to a stage",
										   status, a->table_name);

			if (!c->soft)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg_internal("%s", message),
						 errdetail("Lead \"%s\".", c->lead_key),
						 errhint("Mapped statuses are %s. Add the status to the map (detach and attach again) or attach with \"on_unmapped\": \"ignore\".",
								 lf_mapped_list(a))));
			return lf_row_violation(c, ERRCODE_INVALID_PARAMETER_VALUE, message);
		}
	}
	if (backfill && !c->has_move)
		return false;
	return c->has_move || side_changed;
}

/* ---- the user id switch ---- */

static Oid	lf_actor_cache_oid = InvalidOid;
static char lf_actor_cache_name[NAMEDATALEN];
static bool lf_actor_cache_registered = false;

/* a role renamed (or any pg_authid change): look the name up again */
static void
lf_actor_cache_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	lf_actor_cache_oid = InvalidOid;
}

static const char *
lf_actor_name(Oid userid)
{
	if (!lf_actor_cache_registered)
	{
		CacheRegisterSyscacheCallback(AUTHOID, lf_actor_cache_reset, (Datum) 0);
		lf_actor_cache_registered = true;
	}
	if (userid != lf_actor_cache_oid)
	{
		char	   *name = GetUserNameFromId(userid, false);

		strlcpy(lf_actor_cache_name, name, NAMEDATALEN);
		lf_actor_cache_oid = userid;
	}
	return lf_actor_cache_name;
}

/* ---- entry points ---- */

/* (run as the owner, through lf_as_owner) */
static void
lf_flush_buffer(void *arg)
{
	lf_buffer_flush();
}

#define LF_BACKFILL_CHUNK 10000

PG_FUNCTION_INFO_V1(lf_crm_trigger);

Datum
lf_crm_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	LfAttach   *a;
	HeapTuple volatile oldtup = NULL;
	HeapTuple	newtup;
	Oid			save_userid;
	int			save_sec;
	const char *actor;
	LfChange	change;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"crm_trigger\" must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"crm_trigger\" must be fired AFTER INSERT OR UPDATE FOR EACH ROW"),
				 errhint("Use lead_funnel.attach() to install it.")));

	rel = trigdata->tg_relation;
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		oldtup = trigdata->tg_trigtuple;
		newtup = trigdata->tg_newtuple;
	}
	else
		newtup = trigdata->tg_trigtuple;

	a = lf_attach_get(rel, trigdata->tg_trigger);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	actor = lf_actor_name(save_userid);
	if (!lf_row_change(a, RelationGetDescr(rel), oldtup, newtup, actor, false, &change))
		return PointerGetDatum(NULL);
	if (a->has_flush)
	{
		lf_buffer_add(&change);
		return PointerGetDatum(NULL);
	}

	/*
	 * No statement trigger will apply a buffer: a partition created after
	 * the table was attached, written to directly.  Apply the row now.
	 */
	lf_as_owner(lf_apply_one, &change);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(lf_crm_flush);

/*
 * AFTER INSERT OR UPDATE ... FOR EACH STATEMENT on an attached table:
 * apply the changes its row trigger buffered, set-based.
 */
Datum
lf_crm_flush(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"crm_flush\" must be called as a trigger")));
	if (!lf_buffer_pending())
		return PointerGetDatum(NULL);

	lf_as_owner(lf_flush_buffer, NULL);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(lf_backfill);

typedef struct LfBackfill
{
	LfChange   *chunk;
	int			n;
	int64		entered;
	const char *actor;
	MemoryContext rowcxt;
} LfBackfill;

static void
lf_backfill_apply(LfBackfill *b)
{
	LfApplyResult res;
	MemoryContext old;

	if (b->n == 0)
		return;
	old = MemoryContextSwitchTo(b->rowcxt);
	lf_apply_changes(b->chunk, b->n, false, &res);
	MemoryContextSwitchTo(old);
	b->entered += res.nentered;
	b->n = 0;
	MemoryContextReset(b->rowcxt);	/* the rows' strings */
}

/* read one relation with storage (a plain table or a leaf partition) */
static void
lf_backfill_rel(Relation rel, LfAttach *a, LfBackfill *b)
{
	TableScanDesc scan;
	TupleTableSlot *slot;

	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		should_free;
		HeapTuple	tup = ExecFetchSlotHeapTuple(slot, false, &should_free);
		MemoryContext old;

		old = MemoryContextSwitchTo(b->rowcxt);
		if (lf_row_change(a, RelationGetDescr(rel), NULL, tup, b->actor, true, &b->chunk[b->n]))
			b->n++;
		MemoryContextSwitchTo(old);
		if (should_free)
			heap_freetuple(tup);
		if (b->n == LF_BACKFILL_CHUNK)
			lf_backfill_apply(b);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * backfill(crm_table regclass) RETURNS bigint: enter every row of an
 * attached table whose lead does not exist yet at its mapped stage.  The
 * table is read with a plain scan (its own tuple descriptor, so dropped
 * columns do not shift anything) after checking the caller may read it; a
 * partitioned table is read partition by partition, each with its own
 * descriptor and its clone of the trigger.
 */
Datum
lf_backfill(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	Trigger    *trigger;
	List	   *rels;
	Oid			save_userid;
	int			save_sec;
	LfBackfill	b;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table with OID %u does not exist", relid)));
	rel = table_open(relid, AccessShareLock);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (pg_class_aclcheck(relid, save_userid, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", RelationGetRelationName(rel))));
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot backfill table \"%s\" with row-level security", RelationGetRelationName(rel)),
				 errhint("Backfill as a role that bypasses row-level security.")));
	trigger = lf_find_trigger(rel, "lead_funnel_status");
	if (trigger == NULL || (rel->rd_rel->relkind != RELKIND_RELATION &&
							rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s.%s\" is not attached",
						get_namespace_name(RelationGetNamespace(rel)),
						RelationGetRelationName(rel)),
				 errhint("Attach it with lead_funnel.attach() first.")));
	/* the relations that hold rows: the table, or its leaf partitions */
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		rels = find_all_inheritors(relid, AccessShareLock, NULL);
	else
		rels = list_make1_oid(relid);

	b.actor = lf_actor_name(save_userid);
	b.n = 0;
	b.entered = 0;
	b.chunk = palloc(sizeof(LfChange) * LF_BACKFILL_CHUNK);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	b.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "lead_funnel backfill row",
									 ALLOCSET_DEFAULT_SIZES);
	SetUserIdAndSecContext(lf_extension_owner(),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		ListCell   *lc;

		foreach(lc, rels)
		{
			Relation	part = (lfirst_oid(lc) == relid) ? rel :
				table_open(lfirst_oid(lc), AccessShareLock);
			Trigger    *t = lf_find_trigger(part, "lead_funnel_status");

			if (part->rd_rel->relkind == RELKIND_RELATION && t != NULL)
				lf_backfill_rel(part, lf_attach_get(part, t), &b);
			else if (part->rd_rel->relkind == RELKIND_FOREIGN_TABLE)
				ereport(WARNING,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("backfill() does not read foreign partition \"%s\"",
								RelationGetRelationName(part)),
						 errdetail("Its rows are recorded when they are written, not by backfill().")));
			if (part != rel)
				table_close(part, AccessShareLock);
		}
		lf_backfill_apply(&b);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	SPI_finish();
	table_close(rel, AccessShareLock);
	PG_RETURN_INT64(b.entered);
}
