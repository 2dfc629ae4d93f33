/*-------------------------------------------------------------------------
 *
 * scoring.c
 *	  Scoring models and rules, fit_score() and the decay arithmetic.
 *
 * Rules are checked when they are written.  A BEFORE ROW trigger on
 * scoring_rule runs the same compiler that the cache uses (operator known,
 * numbers parse, lists not empty, regexes compile), so a rule that is in the
 * table always compiles and fit_score() never fails on a rule.
 *
 * The cache.  One per backend, built lazily from scoring_model, scoring_rule
 * and event_type into a child of CacheMemoryContext and registered with
 * lf_register_cache() for each of the three tables; a relcache invalidation
 * of any of them (sent by their lf_config_changed statement triggers) marks
 * it stale.  Each model holds its fit rules compiled: numbers parsed into
 * Numerics, `in` lists split and trimmed, lowercase forms precomputed, regexes
 * compiled with PostgreSQL's regex engine (on PostgreSQL 15 the engine
 * mallocs, so every regex_t is freed by a reset callback of the cache
 * context).  Rules are grouped by attribute, so each attribute is looked up
 * once per call (a binary search in the jsonb object).  When every fit
 * rule's points are small integers the sum is an int64.
 *
 * The cache is marked valid before it is read and is read with a fresh
 * snapshot, so a change committed by another session either is seen by the
 * build or arrives as an invalidation after it; either way the next
 * statement sees it (in a parallel worker the query's snapshot is used).
 * fit_score() keeps the model it used in fn_extra together with the cache's
 * generation counter, so the common case makes no lookup at all.
 *
 * Decisions (documented in the README):
 *	- attribute = a top-level key; missing key or JSON null matches no rule.
 *	- `exists` matches any present non-null value, arrays and objects too;
 *	  every other operator never matches an array or object.
 *	- `<` `<=` `>` `>=` are numeric only: they match a JSON number or a string
 *	  that reads as a number; anything else scores nothing.
 *	- `=` `<>` `in` compare numerically when both sides read as numbers, else
 *	  as text, case-insensitively (lower() of the database's collation);
 *	  booleans compare as 'true' / 'false'.
 *	- `~*` matches the text form (numbers as written by numeric_out).
 *	- a non-object jsonb is an error (22023).
 *
 * decayed() computes value * 2^(-(at - as_of) / half_life), multiplied in
 * numeric and rounded to 10 decimal places.  For a whole number k of
 * half-lives the factor is built exactly in numeric (2^-k = 5^k / 10^k,
 * 2^k for growth), so the result is exact before the rounding whatever the
 * value's size; otherwise it is pow() in float8, converted with the 17
 * significant digits that identify the double (float8_numeric keeps 15).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/formatting.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include <float.h>
#include <math.h>

#include "lead_funnel.h"

/* ---- compiled rules ---- */

typedef enum LfOp
{
	LF_OP_EQ,
	LF_OP_NE,
	LF_OP_LT,
	LF_OP_LE,
	LF_OP_GT,
	LF_OP_GE,
	LF_OP_IN,
	LF_OP_RE,
	LF_OP_EXISTS
} LfOp;

static const struct
{
	const char *name;
	LfOp		op;
}			lf_ops[] =
{
	{"=", LF_OP_EQ},
	{"<>", LF_OP_NE},
	{"<", LF_OP_LT},
	{"<=", LF_OP_LE},
	{">", LF_OP_GT},
	{">=", LF_OP_GE},
	{"in", LF_OP_IN},
	{"~*", LF_OP_RE},
	{"exists", LF_OP_EXISTS},
};

#define LF_VALID_OPS "=, <>, <, <=, >, >=, in, ~* and exists"

/* a literal of a rule: its text, lowercase text and number (if it is one) */
typedef struct LfOperand
{
	char	   *lower;
	int			lowerlen;
	Numeric		num;			/* NULL when the text is not a number */
} LfOperand;

typedef struct LfFitRule
{
	int			rule_id;
	LfOp		op;
	int			nitems;			/* operands: 1, or the `in` list length */
	LfOperand  *items;
	regex_t    *re;				/* for ~* */
	Numeric		points;
	int64		ipoints;		/* points when the model is integral */
} LfFitRule;

/* the fit rules of a model that test one attribute */
typedef struct LfAttrGroup
{
	char	   *key;
	int			keylen;
	int			first;			/* index into LfModel.fit */
	int			nrules;
} LfAttrGroup;

typedef struct LfEventPoints
{
	char	   *event_type;
	Numeric		points;			/* sum of the engagement rules' points */
} LfEventPoints;

typedef struct LfModel
{
	char	   *name;
	int			namelen;
	Interval	half_life;
	Numeric		threshold;
	bool		auto_mql;
	int			nfit;
	LfFitRule  *fit;
	int			ngroups;
	LfAttrGroup *groups;
	bool		integral;		/* every fit points value fits ipoints */
	int			nevents;
	LfEventPoints *events;
	struct LfModel *next;
} LfModel;

static Datum datumCopyInto(Datum d, MemoryContext cxt);

/* ---- the per-backend cache ---- */

static MemoryContext scoring_cxt = NULL;
static LfModel *scoring_models = NULL;
static char **scoring_event_types = NULL;
static int	scoring_nevent_types = 0;
static bool scoring_valid = false;
static bool scoring_registered = false;
static uint64 scoring_generation = 0;
static Oid	scoring_model_relid = InvalidOid;
static Oid	scoring_rule_relid = InvalidOid;
static Oid	scoring_event_relid = InvalidOid;

static SPIPlanPtr plan_models = NULL;
static SPIPlanPtr plan_rules = NULL;
static SPIPlanPtr plan_events = NULL;
static SPIPlanPtr plan_event_exists = NULL;

/* points at most this large (in magnitude) are summed as int64 */
#define LF_MAX_IPOINTS		INT64CONST(1000000000000)
#define LF_MAX_IRULES		1000000

/* ---- numbers ---- */

/* ASCII blanks only, whatever the server's locale */
#define lf_isspace(c) \
	((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r' || \
	 (c) == '\f' || (c) == '\v')

/*
 * Does s[0..len) read as a finite number?  If so and out is not NULL, set
 * *out to it.  The syntax is numeric_in's without NaN and Infinity; digits
 * and exponent are bounded so that numeric_in cannot fail on it.
 */
static bool
lf_parse_number(const char *s, int len, Numeric *out)
{
	int			i = 0;
	int			digits = 0;
	int			expdigits = 0;
	char	   *cstr;

	while (i < len && lf_isspace(s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < len && isdigit((unsigned char) s[i]))
		i++, digits++;
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && isdigit((unsigned char) s[i]))
			i++, digits++;
	}
	if (digits == 0 || digits > 1000)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < len && isdigit((unsigned char) s[i]))
			i++, expdigits++;
		if (expdigits == 0 || expdigits > 3)
			return false;
	}
	while (i < len && lf_isspace(s[i]))
		i++;
	if (i != len)
		return false;
	if (out)
	{
		cstr = pnstrdup(s, len);
		*out = DatumGetNumeric(DirectFunctionCall3(numeric_in,
												   CStringGetDatum(cstr),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
		pfree(cstr);
	}
	return true;
}

static inline int
lf_numeric_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* points as int64 when they are an integer of at most LF_MAX_IPOINTS */
static bool
lf_points_integral(Numeric points, int64 *result)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out,
														NumericGetDatum(points)));
	char	   *end;
	char	   *dot = strchr(s, '.');
	int64		v;

	if (dot)
	{
		char	   *p;

		for (p = dot + 1; *p; p++)
			if (*p != '0')
				return false;
		*dot = '\0';
	}
	if (strlen(s) > 14)
		return false;
	errno = 0;
	v = strtoi64(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > LF_MAX_IPOINTS || v < -LF_MAX_IPOINTS)
		return false;
	*result = v;
	return true;
}

/* ---- regexes ---- */

static void
lf_regex_free_callback(void *arg)
{
	pg_regfree((regex_t *) arg);
}

/*
 * Compile pattern as a case-insensitive advanced regex.  The regex_t lives in
 * cxt and is freed (pg_regfree) when cxt is reset or deleted.  A pattern
 * that does not compile is reported against the rule.
 */
static regex_t *
lf_regex_compile(const char *pattern, int rule_id, MemoryContext cxt)
{
	int			len = strlen(pattern);
	pg_wchar   *wpat = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(pattern, wpat, len);
	regex_t    *re = MemoryContextAlloc(cxt, sizeof(regex_t));
	MemoryContextCallback *cb;
	int			rc;

	rc = pg_regcomp(re, wpat, wlen, REG_ADVANCED | REG_ICASE | REG_NOSUB,
					DEFAULT_COLLATION_OID);
	pfree(wpat);
	if (rc != REG_OKAY)
	{
		char		msg[256];

		pg_regerror(rc, re, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid scoring rule %d: invalid regular expression \"%s\": %s",
						rule_id, pattern, msg)));
	}
	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	cb->func = lf_regex_free_callback;
	cb->arg = re;
	MemoryContextRegisterResetCallback(cxt, cb);
	return re;
}

static bool
lf_regex_match(regex_t *re, const char *s, int len)
{
	pg_wchar   *ws = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(s, ws, len);
	int			rc = pg_regexec(re, ws, wlen, 0, NULL, 0, NULL, 0);

	pfree(ws);
	if (rc == REG_NOMATCH)
		return false;
	if (rc != REG_OKAY)
	{
		char		msg[256];

		pg_regerror(rc, re, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("regular expression failed: %s", msg)));
	}
	return true;
}

/* ---- the rule compiler (shared by the trigger and the cache) ---- */

static void
lf_operand_init(LfOperand *o, const char *s, int len)
{
	o->lower = str_tolower(s, len, DEFAULT_COLLATION_OID);
	o->lowerlen = strlen(o->lower);
	if (!lf_parse_number(s, len, &o->num))
		o->num = NULL;
}

/*
 * Compile a fit rule into *r, allocating in cxt.  Reports every problem
 * (unknown operator, missing or superfluous value, non-numeric bound, empty
 * list, bad regex) naming the rule.  attribute and op are not NULL.
 */
static void
lf_compile_fit_rule(int rule_id, const char *op, const char *value,
					LfFitRule *r, MemoryContext cxt)
{
	MemoryContext old;
	int			i;
	bool		found = false;

	memset(r, 0, sizeof(*r));
	r->rule_id = rule_id;
	for (i = 0; i < lengthof(lf_ops); i++)
	{
		if (strcmp(op, lf_ops[i].name) == 0)
		{
			r->op = lf_ops[i].op;
			found = true;
			break;
		}
	}
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid scoring rule %d: unknown operator \"%s\"",
						rule_id, op),
				 errhint("Valid operators are " LF_VALID_OPS ".")));

	if (r->op == LF_OP_EXISTS)
	{
		if (value != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid scoring rule %d: operator \"exists\" takes no value",
							rule_id),
					 errhint("Set value to NULL.")));
		return;
	}
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid scoring rule %d: operator \"%s\" needs a value",
						rule_id, op)));

	old = MemoryContextSwitchTo(cxt);
	switch (r->op)
	{
		case LF_OP_LT:
		case LF_OP_LE:
		case LF_OP_GT:
		case LF_OP_GE:
			if (!lf_parse_number(value, strlen(value), NULL))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid scoring rule %d: operator \"%s\" needs a number, not \"%s\"",
								rule_id, op, value)));
			/* FALLTHROUGH */
		case LF_OP_EQ:
		case LF_OP_NE:
			r->nitems = 1;
			r->items = palloc(sizeof(LfOperand));
			lf_operand_init(&r->items[0], value, strlen(value));
			break;
		case LF_OP_IN:
			{
				const char *p = value;
				int			n = 1;
				const char *c;

				for (c = value; *c; c++)
					if (*c == ',')
						n++;
				r->items = palloc(n * sizeof(LfOperand));
				r->nitems = 0;
				for (;;)
				{
					const char *end = strchr(p, ',');
					const char *stop = end ? end : p + strlen(p);
					const char *b = p;
					const char *e = stop;

					while (b < e && lf_isspace(*b))
						b++;
					while (e > b && lf_isspace(e[-1]))
						e--;
					if (b == e)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("invalid scoring rule %d: empty element in list \"%s\" of operator \"in\"",
										rule_id, value),
								 errhint("Write a comma-separated list of values, e.g. 'DE, AT, CH'.")));
					lf_operand_init(&r->items[r->nitems++], b, e - b);
					if (!end)
						break;
					p = end + 1;
				}
				break;
			}
		case LF_OP_RE:
			r->re = lf_regex_compile(value, rule_id, cxt);
			break;
		case LF_OP_EXISTS:
			break;
	}
	MemoryContextSwitchTo(old);
}

/* ---- building the cache ---- */

static void
lf_scoring_reset(void)
{
	scoring_valid = false;
}

static void
lf_scoring_prepare(void)
{
	if (plan_models == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT model, half_life, mql_threshold, auto_mql"
									"  FROM lead_funnel.scoring_model", 0, NULL);

		if (p == NULL || SPI_keepplan(p))
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		plan_models = p;
	}
	if (plan_rules == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT rule_id, model, dimension, attribute, op,"
									" value, event_type, points"
									"  FROM lead_funnel.scoring_rule"
									" ORDER BY model COLLATE pg_catalog.\"C\", dimension COLLATE pg_catalog.\"C\","
									"       attribute COLLATE pg_catalog.\"C\", event_type COLLATE pg_catalog.\"C\","
									"       rule_id", 0, NULL);

		if (p == NULL || SPI_keepplan(p))
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		plan_rules = p;
	}
	if (plan_events == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT event_type FROM lead_funnel.event_type",
									0, NULL);

		if (p == NULL || SPI_keepplan(p))
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		plan_events = p;
	}
}

static char *
lf_spi_text(HeapTuple tup, TupleDesc desc, int col, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

static LfModel *
lf_find_model(const char *name, int len)
{
	LfModel    *m;

	for (m = scoring_models; m; m = m->next)
		if (m->namelen == len && memcmp(m->name, name, len) == 0)
			return m;
	return NULL;
}

/* read the three tables into cxt; runs connected to SPI */
static void
lf_scoring_load(MemoryContext cxt)
{
	SPITupleTable *tt;
	uint64		i;
	uint64		n;
	int			rc;

	/* event types */
	rc = SPI_execute_plan(plan_events, NULL, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	tt = SPI_tuptable;
	scoring_nevent_types = (int) SPI_processed;
	scoring_event_types = MemoryContextAlloc(cxt, sizeof(char *) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
		scoring_event_types[i] = lf_spi_text(tt->vals[i], tt->tupdesc, 1, cxt);

	/* models */
	rc = SPI_execute_plan(plan_models, NULL, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	tt = SPI_tuptable;
	for (i = 0; i < SPI_processed; i++)
	{
		LfModel    *m = MemoryContextAllocZero(cxt, sizeof(LfModel));
		bool		isnull;
		Datum		d;

		m->name = lf_spi_text(tt->vals[i], tt->tupdesc, 1, cxt);
		m->namelen = strlen(m->name);
		d = SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull);
		if (!isnull)
			m->half_life = *DatumGetIntervalP(d);
		d = SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull);
		m->threshold = isnull ? NULL :
			DatumGetNumeric(datumCopyInto(d, cxt));
		d = SPI_getbinval(tt->vals[i], tt->tupdesc, 4, &isnull);
		m->auto_mql = !isnull && DatumGetBool(d);
		m->integral = true;
		m->next = scoring_models;
		scoring_models = m;
	}

	/* rules, sorted by model, dimension, attribute / event type */
	rc = SPI_execute_plan(plan_rules, NULL, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	tt = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n;)
	{
		char	   *model = lf_spi_text(tt->vals[i], tt->tupdesc, 2, cxt);
		char	   *dimension = lf_spi_text(tt->vals[i], tt->tupdesc, 3, cxt);
		LfModel    *m = lf_find_model(model, strlen(model));
		uint64		j;
		uint64		k;
		int			cnt;

		/* the run of rules of this model and dimension */
		for (j = i + 1; j < n; j++)
		{
			char	   *m2 = SPI_getvalue(tt->vals[j], tt->tupdesc, 2);
			char	   *d2 = SPI_getvalue(tt->vals[j], tt->tupdesc, 3);

			if (strcmp(m2, model) != 0 || strcmp(d2, dimension) != 0)
				break;
		}
		cnt = (int) (j - i);
		if (m == NULL)
			elog(ERROR, "scoring rule of unknown model \"%s\"", model);

		if (strcmp(dimension, "fit") == 0)
		{
			m->fit = MemoryContextAllocZero(cxt, sizeof(LfFitRule) * cnt);
			m->groups = MemoryContextAllocZero(cxt, sizeof(LfAttrGroup) * cnt);
			m->integral = (cnt <= LF_MAX_IRULES);
			for (k = i; k < j; k++)
			{
				LfFitRule  *r = &m->fit[m->nfit];
				bool		isnull;
				int			rule_id = DatumGetInt32(SPI_getbinval(tt->vals[k], tt->tupdesc, 1, &isnull));
				char	   *attribute = lf_spi_text(tt->vals[k], tt->tupdesc, 4, cxt);
				char	   *op = lf_spi_text(tt->vals[k], tt->tupdesc, 5, cxt);
				char	   *value = lf_spi_text(tt->vals[k], tt->tupdesc, 6, cxt);
				Datum		pts = SPI_getbinval(tt->vals[k], tt->tupdesc, 8, &isnull);

				if (attribute == NULL || op == NULL)
					continue;	/* the trigger rejects this; ignore if bypassed */
				lf_compile_fit_rule(rule_id, op, value, r, cxt);
				r->points = DatumGetNumeric(datumCopyInto(pts, cxt));
				if (m->integral && !lf_points_integral(r->points, &r->ipoints))
					m->integral = false;
				if (m->ngroups == 0 ||
					strcmp(m->groups[m->ngroups - 1].key, attribute) != 0)
				{
					LfAttrGroup *g = &m->groups[m->ngroups++];

					g->key = attribute;
					g->keylen = strlen(attribute);
					g->first = m->nfit;
				}
				m->groups[m->ngroups - 1].nrules++;
				m->nfit++;
			}
		}
		else
		{
			m->events = MemoryContextAllocZero(cxt, sizeof(LfEventPoints) * cnt);
			for (k = i; k < j; k++)
			{
				bool		isnull;
				char	   *et = SPI_getvalue(tt->vals[k], tt->tupdesc, 7);
				Datum		pts = SPI_getbinval(tt->vals[k], tt->tupdesc, 8, &isnull);
				LfEventPoints *e;

				if (et == NULL)
					continue;
				if (m->nevents > 0 &&
					strcmp(m->events[m->nevents - 1].event_type, et) == 0)
				{
					e = &m->events[m->nevents - 1];
					e->points = DatumGetNumeric(DirectFunctionCall2(numeric_add,
																	NumericGetDatum(e->points),
																	pts));
				}
				else
				{
					e = &m->events[m->nevents++];
					e->event_type = MemoryContextStrdup(cxt, et);
					e->points = DatumGetNumeric(pts);
				}
			}
			for (k = 0; k < m->nevents; k++)
				m->events[k].points = DatumGetNumeric(datumCopyInto(NumericGetDatum(m->events[k].points),
																	cxt));
		}
		i = j;
	}
}

/* copy a varlena datum into cxt */
static Datum
datumCopyInto(Datum d, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	/*
	 * A plain copy of a varlena keeps a short (1-byte) header, and
	 * DatumGetNumeric() of that makes yet another copy in whatever context
	 * is current: detoast (expand) it into cxt right here instead.
	 */
	Datum		r = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));

	MemoryContextSwitchTo(old);
	return r;
}

/* (re)build the cache */
static void
lf_scoring_build(void *arg)
{
	MemoryContext cxt;
	volatile bool pushed = false;

	if (!scoring_registered)
	{
		lf_register_cache(&scoring_model_relid, lf_scoring_reset);
		lf_register_cache(&scoring_rule_relid, lf_scoring_reset);
		lf_register_cache(&scoring_event_relid, lf_scoring_reset);
		scoring_registered = true;
	}

	scoring_model_relid = lf_relation_oid("scoring_model");
	scoring_rule_relid = lf_relation_oid("scoring_rule");
	scoring_event_relid = lf_relation_oid("event_type");

	cxt = AllocSetContextCreate(CacheMemoryContext, "lead_funnel scoring cache",
								ALLOCSET_SMALL_SIZES);
	if (scoring_cxt)
		MemoryContextDelete(scoring_cxt);
	scoring_cxt = NULL;
	scoring_models = NULL;
	scoring_event_types = NULL;
	scoring_nevent_types = 0;
	scoring_generation++;

	/* valid from now on: an invalidation arriving during the build resets it */
	scoring_valid = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		lf_scoring_prepare();
		if (!IsInParallelMode())
		{
			PushActiveSnapshot(GetLatestSnapshot());
			pushed = true;
		}
		lf_scoring_load(cxt);
		if (pushed)
			PopActiveSnapshot();
		pushed = false;
		SPI_finish();
	}
	PG_CATCH();
	{
		scoring_valid = false;
		scoring_models = NULL;
		scoring_event_types = NULL;
		scoring_nevent_types = 0;
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	scoring_cxt = cxt;
}

/*
 * The rules are read as the extension's owner: the CRM trigger scores the
 * attributes of CRM users who have no right on the scoring tables.  (Not in
 * a parallel worker, which runs as its leader and cannot prepare our plans:
 * fit_score() in a parallel query is called by a role that may read them.)
 */
static void
lf_scoring_ensure(void)
{
	if (scoring_valid)
		return;
	if (IsInParallelMode())
		lf_scoring_build(NULL);
	else
		lf_as_owner(lf_scoring_build, NULL);
}

static LfModel *
lf_scoring_model(const char *name, int len, bool missing_ok)
{
	LfModel    *m;

	lf_scoring_ensure();
	m = lf_find_model(name, len);
	if (m == NULL && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("scoring model \"%.*s\" does not exist", len, name),
				 errhint("Scoring models are rows of lead_funnel.scoring_model.")));
	return m;
}

/* ---- evaluation ---- */

/* one attribute's value, with its text and number forms computed lazily */
typedef struct LfValue
{
	JsonbValue *jv;
	const char *text;
	int			len;
	bool		have_text;
	char	   *lower;
	int			lowerlen;
	bool		have_lower;
	Numeric		num;
	bool		have_num;
} LfValue;

static inline void
lf_value_text(LfValue *v)
{
	if (v->have_text)
		return;
	switch (v->jv->type)
	{
		case jbvString:
			v->text = v->jv->val.string.val;
			v->len = v->jv->val.string.len;
			break;
		case jbvBool:
			v->text = v->jv->val.boolean ? "true" : "false";
			v->len = strlen(v->text);
			break;
		case jbvNumeric:
			v->text = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(v->jv->val.numeric)));
			v->len = strlen(v->text);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", v->jv->type);
	}
	v->have_text = true;
}

static inline void
lf_value_lower(LfValue *v)
{
	int			i;
	bool		ascii = true;
	char	   *p;

	if (v->have_lower)
		return;
	lf_value_text(v);
	for (i = 0; i < v->len; i++)
		if (IS_HIGHBIT_SET(v->text[i]))
		{
			ascii = false;
			break;
		}
	if (ascii)
	{
		p = palloc(v->len + 1);
		for (i = 0; i < v->len; i++)
			p[i] = pg_ascii_tolower(v->text[i]);
		p[v->len] = '\0';
		v->lower = p;
		v->lowerlen = v->len;
	}
	else
	{
		v->lower = str_tolower(v->text, v->len, DEFAULT_COLLATION_OID);
		v->lowerlen = strlen(v->lower);
	}
	v->have_lower = true;
}

static inline Numeric
lf_value_number(LfValue *v)
{
	if (!v->have_num)
	{
		if (v->jv->type == jbvNumeric)
			v->num = v->jv->val.numeric;
		else if (v->jv->type != jbvString ||
				 !lf_parse_number(v->jv->val.string.val, v->jv->val.string.len, &v->num))
			v->num = NULL;
		v->have_num = true;
	}
	return v->num;
}

/* = : numerically when both sides are numbers, else case-insensitive text */
static inline bool
lf_value_equals(LfValue *v, LfOperand *o)
{
	if (o->num)
	{
		Numeric		n = lf_value_number(v);

		if (n)
			return lf_numeric_cmp(n, o->num) == 0;
	}
	lf_value_lower(v);
	return v->lowerlen == o->lowerlen && memcmp(v->lower, o->lower, o->lowerlen) == 0;
}

static bool
lf_rule_matches(LfFitRule *r, LfValue *v)
{
	Numeric		n;
	int			i;

	if (r->op == LF_OP_EXISTS)
		return true;
	if (v->jv->type == jbvBinary)
		return false;			/* arrays and objects: only exists */

	switch (r->op)
	{
		case LF_OP_EQ:
			return lf_value_equals(v, &r->items[0]);
		case LF_OP_NE:
			return !lf_value_equals(v, &r->items[0]);
		case LF_OP_LT:
		case LF_OP_LE:
		case LF_OP_GT:
		case LF_OP_GE:
			n = lf_value_number(v);
			if (n == NULL)
				return false;
			i = lf_numeric_cmp(n, r->items[0].num);
			switch (r->op)
			{
				case LF_OP_LT:
					return i < 0;
				case LF_OP_LE:
					return i <= 0;
				case LF_OP_GT:
					return i > 0;
				default:
					return i >= 0;
			}
		case LF_OP_IN:
			for (i = 0; i < r->nitems; i++)
				if (lf_value_equals(v, &r->items[i]))
					return true;
			return false;
		case LF_OP_RE:
			lf_value_text(v);
			return lf_regex_match(r->re, v->text, v->len);
		case LF_OP_EXISTS:
			return true;
	}
	return false;
}

static Numeric
lf_model_fit_score(LfModel *m, Jsonb *attrs)
{
	int64		isum = 0;
	Numeric		nsum = NULL;
	int			g;

	if (!JB_ROOT_IS_OBJECT(attrs) || JB_ROOT_IS_SCALAR(attrs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lead attributes must be a jsonb object"),
				 errdetail("Fit scoring reads the top-level keys of an object such as {\"employees\": 250}.")));

	for (g = 0; g < m->ngroups; g++)
	{
		LfAttrGroup *grp = &m->groups[g];
		JsonbValue	buf;
		LfValue		v;
		int			k;

		v.jv = getKeyJsonValueFromContainer(&attrs->root, grp->key, grp->keylen, &buf);
		if (v.jv == NULL || v.jv->type == jbvNull)
			continue;
		v.have_text = v.have_lower = v.have_num = false;

		for (k = grp->first; k < grp->first + grp->nrules; k++)
		{
			LfFitRule  *r = &m->fit[k];

			if (!lf_rule_matches(r, &v))
				continue;
			if (m->integral)
				isum += r->ipoints;
			else if (nsum == NULL)
				nsum = r->points;
			else
				nsum = DatumGetNumeric(DirectFunctionCall2(numeric_add,
														   NumericGetDatum(nsum),
														   NumericGetDatum(r->points)));
		}
	}
	if (m->integral)
		return int64_to_numeric(isum);
	if (nsum == NULL)
		return int64_to_numeric(0);
	/* never hand out a pointer into the cache */
	return DatumGetNumeric(datumCopy(NumericGetDatum(nsum), false, -1));
}

/* ---- C API ---- */

/*
 * Fit score of attrs under model; *isnull set (and NULL returned) when attrs
 * is NULL.  Errors when the model does not exist or attrs is not an object.
 * The result is palloc'd in the current memory context.
 */
Numeric
lf_fit_score(Jsonb *attrs, const char *model, bool *isnull)
{
	LfModel    *m;

	if (attrs == NULL)
	{
		*isnull = true;
		return NULL;
	}
	*isnull = false;
	m = lf_scoring_model(model, strlen(model), false);
	return lf_model_fit_score(m, attrs);
}

/*
 * Look up a scoring model; false when it does not exist.  *threshold is a
 * palloc'd copy (in the current memory context).
 */
bool
lf_scoring_model_get(const char *model, Interval *half_life,
					 Numeric *threshold, bool *auto_mql)
{
	LfModel    *m = lf_scoring_model(model, strlen(model), true);

	if (m == NULL)
		return false;
	if (half_life)
		*half_life = m->half_life;
	if (threshold)
		*threshold = DatumGetNumeric(datumCopy(NumericGetDatum(m->threshold), false, -1));
	if (auto_mql)
		*auto_mql = m->auto_mql;
	return true;
}

/*
 * Points that one activity of event_type earns under model (the sum of its
 * engagement rules, 0 when none); false when event_type is not a row of
 * lead_funnel.event_type.  Errors when the model does not exist.  *points is
 * palloc'd in the current memory context.
 */
bool
lf_event_points(const char *model, const char *event_type, Numeric *points)
{
	LfModel    *m = lf_scoring_model(model, strlen(model), false);
	int			i;
	bool		known = false;

	for (i = 0; i < scoring_nevent_types; i++)
		if (strcmp(scoring_event_types[i], event_type) == 0)
		{
			known = true;
			break;
		}
	if (!known)
		return false;
	for (i = 0; i < m->nevents; i++)
		if (strcmp(m->events[i].event_type, event_type) == 0)
		{
			*points = DatumGetNumeric(datumCopy(NumericGetDatum(m->events[i].points),
												false, -1));
			return true;
		}
	*points = int64_to_numeric(0);
	return true;
}

/* ---- SQL functions ---- */

/* what fit_score() remembers per call site */
typedef struct LfFitCallCache
{
	uint64		generation;
	LfModel    *model;
	int			namelen;
	char		name[FLEXIBLE_ARRAY_MEMBER];
} LfFitCallCache;

PG_FUNCTION_INFO_V1(lf_fit_score_sql);

/* fit_score(attributes jsonb, model text) */
Datum
lf_fit_score_sql(PG_FUNCTION_ARGS)
{
	Jsonb	   *attrs = PG_GETARG_JSONB_P(0);
	text	   *model = PG_GETARG_TEXT_PP(1);
	const char *name = VARDATA_ANY(model);
	int			namelen = VARSIZE_ANY_EXHDR(model);
	LfFitCallCache *cc = (LfFitCallCache *) fcinfo->flinfo->fn_extra;

	lf_scoring_ensure();
	if (cc == NULL || cc->generation != scoring_generation ||
		cc->namelen != namelen || memcmp(cc->name, name, namelen) != 0)
	{
		LfModel    *m = lf_scoring_model(name, namelen, false);

		if (cc == NULL || cc->namelen < namelen)
			cc = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
									offsetof(LfFitCallCache, name) + namelen + 1);
		cc->generation = scoring_generation;
		cc->model = m;
		cc->namelen = namelen;
		memcpy(cc->name, name, namelen);
		fcinfo->flinfo->fn_extra = cc;
	}
	PG_RETURN_NUMERIC(lf_model_fit_score(cc->model, attrs));
}

/* base^k for base <= 5 and 0 <= k <= 27: fits int64 */
static inline int64
lf_int64_pow(int base, int k)
{
	int64		result = 1;

	while (k-- > 0)
		result *= base;
	return result;
}

/* base^k (base <= 5, k >= 0), exactly */
static Numeric
lf_numeric_pow(int base, int k)
{
	Numeric		result;
	Numeric		b;

	if (k <= 27)
		return int64_to_numeric(lf_int64_pow(base, k));
	result = int64_to_numeric(1);
	b = int64_to_numeric(base);
	for (;;)
	{
		if (k & 1)
			result = numeric_mul_opt_error(result, b, NULL);
		k >>= 1;
		if (k == 0)
			break;
		b = numeric_mul_opt_error(b, b, NULL);
	}
	return result;
}

/*
 * A positive finite float8 as numeric with 17 significant digits, the ones
 * "%.17g" prints (enough to identify the double; float8_numeric keeps 15).
 * The hot path of decayed(): for 1e-11 <= f < 1e16 the digits are computed
 * exactly in 128-bit integers, f = m * 2^e and f * 10^s = m * 5^s * 2^(e + s),
 * rounded half to even; otherwise, or without 128-bit integers, through the
 * text.
 */
static Numeric
lf_float8_numeric17(double f)
{
#ifdef HAVE_INT128
	if (f >= 1e-11 && f < 1e16)
	{
		int			e2;
		int64		m = (int64) ldexp(frexp(f, &e2), 53);	/* f = m * 2^(e2 - 53) */
		int			s = 16 - (int) floor(log10(f));
		int			tries;

		/* log10() may be off by one next to a power of ten: adjust s */
		for (tries = 0; tries < 3 && s >= 0 && s <= 27; tries++)
		{
			int			shift = -(e2 - 53 + s);
			uint128		p = (uint128) m * (uint128) lf_int64_pow(5, s);
			uint128		half;
			uint128		rem;
			int64		q;

			if (shift <= 0 || shift >= 127)
				break;
			/* round half to even, as printf does */
			half = (uint128) 1 << (shift - 1);
			rem = p & ((half << 1) - 1);
			q = (int64) (p >> shift);
			if (rem > half || (rem == half && (q & 1)))
				q++;
			if (q >= INT64CONST(100000000000000000))
				s--;
			else if (q < INT64CONST(10000000000000000))
				s++;
			else
				return int64_div_fast_to_numeric(q, s);
		}
	}
#endif
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), "%.17g", f);
		return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	}
}

/* log10(|value|) of a nonzero finite numeric (any size) */
static double
lf_numeric_log10_abs(Numeric value)
{
	Datum		ten = NumericGetDatum(int64_to_numeric(10));
	Datum		a = DirectFunctionCall1(numeric_abs, NumericGetDatum(value));
	Datum		l = DirectFunctionCall2(numeric_log, ten, a);

	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, l));
}

PG_FUNCTION_INFO_V1(lf_decayed);

/*
 * decayed(value, as_of, at, half_life) = value * 2^(-(at - as_of) / half_life)
 * rounded to 10 decimal places (trailing zeros removed); value itself when
 * at = as_of.  A day of the half-life counts 24 hours; at before as_of grows
 * the value symmetrically.
 */
Datum
lf_decayed(PG_FUNCTION_ARGS)
{
	Numeric		value = PG_GETARG_NUMERIC(0);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	Interval   *hl = PG_GETARG_INTERVAL_P(3);
	int64		hl_us;
	int64		diff;
	double		factor;
	Numeric		exact;
	Datum		result;

	if (hl->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must not contain months or years"),
				 errhint("Write the half-life in days, e.g. '30 days'.")));
	if (pg_mul_s64_overflow((int64) hl->day, USECS_PER_DAY, &hl_us) ||
		pg_add_s64_overflow(hl_us, hl->time, &hl_us) || hl_us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must be positive")));
	if (TIMESTAMP_NOT_FINITE(as_of) || TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cannot decay a value across an infinite timestamp")));
	if (pg_sub_s64_overflow(at, as_of, &diff))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interval out of range")));
	if (diff == 0 || numeric_is_nan(value))
		PG_RETURN_NUMERIC(value);

	factor = pow(2.0, -((double) diff / (double) hl_us));
	if (isinf(factor))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow"),
				 errdetail("Growing a value backwards over %.0f half-lives overflows.",
						   -((double) diff / (double) hl_us))));
	if (factor < DBL_MIN)
	{
		/*
		 * Past about 1022 half-lives the float8 factor loses its precision,
		 * past 1074 it is 0.  The result is 0 when the value is too small
		 * to leave anything at 10 decimal places; else whole half-lives are
		 * still exact (below), and anything else is refused rather than
		 * answered wrongly.
		 */
		double		halvings = (double) diff / (double) hl_us;

		if (lf_numeric_cmp(value, int64_to_numeric(0)) == 0 ||
			lf_numeric_log10_abs(value) - halvings * log10(2.0) < -11.0)
			PG_RETURN_NUMERIC(int64_to_numeric(0));
		/* 2^-k is written with k decimal places: numeric has at most 16383 */
		if (diff % hl_us != 0 || halvings > 16383)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value out of range: underflow"),
					 errdetail("Decaying a value of this size over %.1f half-lives is beyond float8 precision.",
							   halvings),
					 errhint("Decay over whole half-lives, or decay a smaller value.")));
	}

	if (diff % hl_us == 0)
	{
		/*
		 * A whole number k of half-lives, with the float8 factor neither 0
		 * nor infinite: -1023 <= k <= 1074.  2^-k = 5^k / 10^k, exactly.
		 */
		int			k = (int) (diff / hl_us);

		if (k > 27)
			exact = numeric_mul_opt_error(lf_numeric_pow(5, k),
										  int64_div_fast_to_numeric(1, k), NULL);
		else if (k > 0)
			exact = int64_div_fast_to_numeric(lf_int64_pow(5, k), k);
		else
			exact = lf_numeric_pow(2, -k);
	}
	else
		exact = lf_float8_numeric17(factor);
	result = NumericGetDatum(numeric_mul_opt_error(value, exact, NULL));
	result = DirectFunctionCall2(numeric_round, result, Int32GetDatum(10));
	result = DirectFunctionCall1(numeric_trim_scale, result);
	PG_RETURN_DATUM(result);
}

/* ---- triggers ---- */

static bool
lf_tuple_text(HeapTuple tup, TupleDesc desc, const char *col, char **out)
{
	int			attno = SPI_fnumber(desc, col);
	bool		isnull;
	Datum		d;

	if (attno <= 0)
		elog(ERROR, "column \"%s\" not found", col);
	d = heap_getattr(tup, attno, desc, &isnull);
	*out = isnull ? NULL : TextDatumGetCString(d);
	return !isnull;
}

static bool
lf_event_type_exists(const char *event_type)
{
	Datum		arg = CStringGetTextDatum(event_type);
	Oid			argtype = TEXTOID;
	bool		found;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (plan_event_exists == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("SELECT 1 FROM lead_funnel.event_type"
									" WHERE event_type OPERATOR(pg_catalog.=) $1",
									1, &argtype);

		if (p == NULL || SPI_keepplan(p))
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		plan_event_exists = p;
	}
	rc = SPI_execute_plan(plan_event_exists, &arg, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

#define RULE_ERROR(msg, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_CHECK_VIOLATION), \
			 errmsg("invalid scoring rule %d: " msg, rule_id, ##__VA_ARGS__)))

PG_FUNCTION_INFO_V1(lf_scoring_rule_check);

/*
 * BEFORE INSERT OR UPDATE FOR EACH ROW on scoring_rule: reject a malformed
 * rule, naming it and the problem.  Structural problems (fields a dimension
 * needs or must not have, unknown event type) are 23514; a bad operator or
 * value is 22023 (2201B for a regex that does not compile).
 */
Datum
lf_scoring_rule_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	desc;
	volatile int rule_id = 0;
	char	   *dimension;
	char	   *attribute;
	char	   *op;
	char	   *value;
	char	   *event_type;
	bool		isnull;
	Datum		d;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"scoring_rule_check\" must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	tup = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	desc = trigdata->tg_relation->rd_att;

	d = heap_getattr(tup, SPI_fnumber(desc, "rule_id"), desc, &isnull);
	if (!isnull)
		rule_id = DatumGetInt32(d);

	if (!lf_tuple_text(tup, desc, "dimension", &dimension))
		return PointerGetDatum(tup);	/* NOT NULL reports it */
	lf_tuple_text(tup, desc, "attribute", &attribute);
	lf_tuple_text(tup, desc, "op", &op);
	lf_tuple_text(tup, desc, "value", &value);
	lf_tuple_text(tup, desc, "event_type", &event_type);

	if (strcmp(dimension, "fit") == 0)
	{
		LfFitRule	r;
		MemoryContext cxt;

		if (attribute == NULL || attribute[0] == '\0')
			RULE_ERROR("a fit rule needs an attribute");
		if (op == NULL)
			RULE_ERROR("a fit rule needs an operator");
		if (event_type != NULL)
			RULE_ERROR("a fit rule has no event type");
		cxt = AllocSetContextCreate(CurrentMemoryContext, "scoring rule check",
									ALLOCSET_SMALL_SIZES);
		PG_TRY();
		{
			lf_compile_fit_rule(rule_id, op, value, &r, cxt);
		}
		PG_FINALLY();
		{
			MemoryContextDelete(cxt);	/* frees a compiled regex */
		}
		PG_END_TRY();
	}
	else if (strcmp(dimension, "engagement") == 0)
	{
		if (event_type == NULL)
			RULE_ERROR("an engagement rule needs an event type");
		if (attribute != NULL || op != NULL || value != NULL)
			RULE_ERROR("an engagement rule has no attribute, operator or value");
		if (!lf_event_type_exists(event_type))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("invalid scoring rule %d: unknown event type \"%s\"",
							rule_id, event_type),
					 errhint("Event types are rows of lead_funnel.event_type.")));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("invalid scoring rule %d: unknown dimension \"%s\"",
						rule_id, dimension),
				 errhint("The dimension is fit or engagement.")));

	return PointerGetDatum(tup);
}

PG_FUNCTION_INFO_V1(lf_scoring_model_check);

/*
 * BEFORE INSERT OR UPDATE FOR EACH ROW on scoring_model: the half-life must be
 * a positive duration without months (a month has no fixed length).
 */
Datum
lf_scoring_model_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	Interval   *hl;
	char	   *model;
	int64		us;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"scoring_model_check\" must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));

	tup = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	desc = trigdata->tg_relation->rd_att;

	d = heap_getattr(tup, SPI_fnumber(desc, "half_life"), desc, &isnull);
	if (isnull)
		return PointerGetDatum(tup);	/* NOT NULL reports it */
	hl = DatumGetIntervalP(d);
	if (!lf_tuple_text(tup, desc, "model", &model))
		model = "";

	if (hl->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("half-life of scoring model \"%s\" must not contain months or years",
						model),
				 errdetail("A month has no fixed length."),
				 errhint("Write the half-life in days, e.g. '30 days'.")));
	if (pg_mul_s64_overflow((int64) hl->day, USECS_PER_DAY, &us) ||
		pg_add_s64_overflow(us, hl->time, &us) || us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("half-life of scoring model \"%s\" must be positive", model)));
	return PointerGetDatum(tup);
}

