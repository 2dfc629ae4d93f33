-- make demo: what lead_funnel offers so far.
\pset footer off
\echo
\echo '== lead_funnel demo'
CREATE EXTENSION lead_funnel;
\echo
\echo '== the stages of the funnel'
SELECT * FROM lead_funnel.stages ORDER BY stage;
\echo
\echo '== stage input is forgiving about case, blanks and common aliases'
SELECT v AS typed, v::lead_funnel.stage AS stage
  FROM (VALUES ('Marketing Qualified Lead'), ('  SAL '), ('opp'), ('Won'), ('nurture')) AS t(v);
