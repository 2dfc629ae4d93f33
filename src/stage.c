/*-------------------------------------------------------------------------
 *
 * stage.c
 *	  The lead_funnel.stage base type.
 *
 * A stage is one byte, passed by value.  The byte holds a code from 1 to 9
 * (see lead_funnel.h); the codes are part of the on-disk format and must
 * never change, because pg_upgrade copies data files as they are.  Their
 * numeric order is the type's total order: the funnel stages by depth, then
 * recycled, disqualified and lost.
 *
 * Text input is case-insensitive, ignores surrounding blanks and accepts a
 * few aliases.  The binary format is the lowercase name, like the binary
 * format of enums, so it does not expose the codes; binary input runs the
 * same checks as text input because it is just as untrusted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "lead_funnel.h"

typedef struct LfStageInfo
{
	const char *name;			/* canonical name, also the output */
	const char *label;			/* label for people */
	int			depth;			/* 0 = off the funnel */
} LfStageInfo;

static const LfStageInfo lf_stages[LF_STAGE_COUNT] = {
	{NULL, NULL, 0},
	{"prospect", "Prospect", 1},
	{"mql", "MQL", 2},
	{"sal", "SAL", 3},
	{"sql", "SQL", 4},
	{"opportunity", "Opportunity", 5},
	{"customer", "Customer", 6},
	{"recycled", "Recycled", 0},
	{"disqualified", "Disqualified", 0},
	{"lost", "Lost", 0},
};

typedef struct LfStageAlias
{
	const char *name;
	LfStage		stage;
} LfStageAlias;

static const LfStageAlias lf_aliases[] = {
	{"marketing qualified lead", LF_STAGE_MQL},
	{"sales accepted lead", LF_STAGE_SAL},
	{"sales qualified lead", LF_STAGE_SQL},
	{"opp", LF_STAGE_OPPORTUNITY},
	{"won", LF_STAGE_CUSTOMER},
	{"nurture", LF_STAGE_RECYCLED},
};

#define LF_STAGE_MAXLEN 32		/* longer than any name or alias */

#define LF_STAGE_HINT \
	"Valid stages are prospect, mql, sal, sql, opportunity, customer, " \
	"recycled, disqualified and lost."

/* ---- parsing ---- */

static inline bool
lf_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

/*
 * Parse len bytes of str (not necessarily terminated) as a stage name or
 * alias.  Sets *ok to false and returns LF_STAGE_INVALID when it is none.
 */
LfStage
lf_stage_parse(const char *str, int len, bool *ok)
{
	char		buf[LF_STAGE_MAXLEN + 1];
	int			start = 0;
	int			end = len;
	int			i;

	*ok = false;
	while (start < end && lf_is_blank(str[start]))
		start++;
	while (end > start && lf_is_blank(str[end - 1]))
		end--;
	if (end - start == 0 || end - start > LF_STAGE_MAXLEN)
		return LF_STAGE_INVALID;

	for (i = start; i < end; i++)
	{
		unsigned char c = (unsigned char) str[i];

		/* ASCII only: no name contains anything else */
		if (c >= 0x80 || c == '\0')
			return LF_STAGE_INVALID;
		buf[i - start] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	buf[end - start] = '\0';

	for (i = 1; i < LF_STAGE_COUNT; i++)
	{
		if (strcmp(buf, lf_stages[i].name) == 0)
		{
			*ok = true;
			return (LfStage) i;
		}
	}
	for (i = 0; i < lengthof(lf_aliases); i++)
	{
		if (strcmp(buf, lf_aliases[i].name) == 0)
		{
			*ok = true;
			return lf_aliases[i].stage;
		}
	}
	return LF_STAGE_INVALID;
}

/* parse a C string or raise 22P02 quoting it */
LfStage
lf_stage_from_cstring(const char *str)
{
	bool		ok;
	LfStage		s = lf_stage_parse(str, strlen(str), &ok);

	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type stage: \"%s\"", str),
				 errhint(LF_STAGE_HINT)));
	return s;
}

const char *
lf_stage_name(LfStage s)
{
	if (!lf_stage_is_valid(s))
		elog(ERROR, "invalid stage code %d", (int) s);
	return lf_stages[s].name;
}

/* every entry point that receives a stored value checks it */
static inline LfStage
lf_stage_check(Datum d)
{
	LfStage		s = DatumGetLfStage(d);

	if (!lf_stage_is_valid(s))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid stage code %d", (int) s)));
	return s;
}

/* ---- input/output ---- */

PG_FUNCTION_INFO_V1(lf_stage_in);
Datum
lf_stage_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_LFSTAGE(lf_stage_from_cstring(PG_GETARG_CSTRING(0)));
}

PG_FUNCTION_INFO_V1(lf_stage_out);
Datum
lf_stage_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(pstrdup(lf_stage_name(lf_stage_check(PG_GETARG_DATUM(0)))));
}

PG_FUNCTION_INFO_V1(lf_stage_recv);
Datum
lf_stage_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *data = pq_getmsgbytes(buf, len);
	bool		ok;
	LfStage		s = lf_stage_parse(data, len, &ok);

	if (!ok)
	{
		/* quote at most a short, printable prefix of the untrusted bytes */
		char		shown[LF_STAGE_MAXLEN + 1];
		int			n = Min(len, LF_STAGE_MAXLEN);
		int			i;

		for (i = 0; i < n; i++)
			shown[i] = (data[i] >= 0x20 && data[i] < 0x7f) ? data[i] : '?';
		shown[n] = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid binary input for type stage: \"%s\"", shown),
				 errhint(LF_STAGE_HINT)));
	}
	PG_RETURN_LFSTAGE(s);
}

PG_FUNCTION_INFO_V1(lf_stage_send);
Datum
lf_stage_send(PG_FUNCTION_ARGS)
{
	const char *name = lf_stage_name(lf_stage_check(PG_GETARG_DATUM(0)));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, name, strlen(name));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---- comparison ---- */

#define LF_STAGE_CMP_FN(fname, op) \
PG_FUNCTION_INFO_V1(fname); \
Datum \
fname(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL(PG_GETARG_LFSTAGE(0) op PG_GETARG_LFSTAGE(1)); \
}

LF_STAGE_CMP_FN(lf_stage_eq, ==)
LF_STAGE_CMP_FN(lf_stage_ne, !=)
LF_STAGE_CMP_FN(lf_stage_lt, <)
LF_STAGE_CMP_FN(lf_stage_le, <=)
LF_STAGE_CMP_FN(lf_stage_gt, >)
LF_STAGE_CMP_FN(lf_stage_ge, >=)

PG_FUNCTION_INFO_V1(lf_stage_cmp);
Datum
lf_stage_cmp(PG_FUNCTION_ARGS)
{
	LfStage		a = PG_GETARG_LFSTAGE(0);
	LfStage		b = PG_GETARG_LFSTAGE(1);

	PG_RETURN_INT32(a < b ? -1 : (a > b ? 1 : 0));
}

PG_FUNCTION_INFO_V1(lf_stage_larger);
Datum
lf_stage_larger(PG_FUNCTION_ARGS)
{
	LfStage		a = PG_GETARG_LFSTAGE(0);
	LfStage		b = PG_GETARG_LFSTAGE(1);

	PG_RETURN_LFSTAGE(a > b ? a : b);
}

PG_FUNCTION_INFO_V1(lf_stage_smaller);
Datum
lf_stage_smaller(PG_FUNCTION_ARGS)
{
	LfStage		a = PG_GETARG_LFSTAGE(0);
	LfStage		b = PG_GETARG_LFSTAGE(1);

	PG_RETURN_LFSTAGE(a < b ? a : b);
}

PG_FUNCTION_INFO_V1(lf_stage_hash);
Datum
lf_stage_hash(PG_FUNCTION_ARGS)
{
	return hash_uint32((uint32) PG_GETARG_LFSTAGE(0));
}

PG_FUNCTION_INFO_V1(lf_stage_hash_extended);
Datum
lf_stage_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_uint32_extended((uint32) PG_GETARG_LFSTAGE(0),
								PG_GETARG_INT64(1));
}

/* ---- functions ---- */

PG_FUNCTION_INFO_V1(lf_stage_depth);
Datum
lf_stage_depth(PG_FUNCTION_ARGS)
{
	LfStage		s = lf_stage_check(PG_GETARG_DATUM(0));

	if (lf_stages[s].depth == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(lf_stages[s].depth);
}

PG_FUNCTION_INFO_V1(lf_stage_label);
Datum
lf_stage_label(PG_FUNCTION_ARGS)
{
	LfStage		s = lf_stage_check(PG_GETARG_DATUM(0));

	PG_RETURN_TEXT_P(cstring_to_text(lf_stages[s].label));
}

PG_FUNCTION_INFO_V1(lf_stage_is_open_fn);
Datum
lf_stage_is_open_fn(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lf_stage_is_open(lf_stage_check(PG_GETARG_DATUM(0))));
}

PG_FUNCTION_INFO_V1(lf_stage_from_text);
Datum
lf_stage_from_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_LFSTAGE(lf_stage_from_cstring(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

PG_FUNCTION_INFO_V1(lf_stage_to_text);
Datum
lf_stage_to_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(lf_stage_name(lf_stage_check(PG_GETARG_DATUM(0)))));
}

/* all stages in order, for the stages view */
PG_FUNCTION_INFO_V1(lf_stage_all);
Datum
lf_stage_all(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;

	if (SRF_IS_FIRSTCALL())
		funcctx = SRF_FIRSTCALL_INIT();
	funcctx = SRF_PERCALL_SETUP();
	if (funcctx->call_cntr < LF_STAGE_COUNT - 1)
	{
		/* SRF_RETURN_NEXT increments call_cntr before using its argument */
		Datum		next = LfStageGetDatum(funcctx->call_cntr + 1);

		SRF_RETURN_NEXT(funcctx, next);
	}
	SRF_RETURN_DONE(funcctx);
}
