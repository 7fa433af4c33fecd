/* Unit tests of the sqli module: tokenizer per dialect, contexts, decoder, named signatures,
 * benign prose, and the accuracy on the developer corpus (skipped when absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>

#include "kansoku/ks_sqli.h"
#include "sqli/sqli_int.h"

static struct ks_sqli_token toks[256];

static size_t tok(const char *s, enum ks_sqli_ctx ctx)
{
    return ks_sqli_tokenize((const uint8_t *)s, strlen(s), ctx, toks, 256, NULL);
}

/* "type type ..." of the tokens of s, comments included. */
static const char *types(const char *s, enum ks_sqli_ctx ctx)
{
    static char buf[1024];
    size_t n = tok(s, ctx), o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof buf - 16; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? " " : "",
                              ks_sqli_tok_type_name(toks[i].type));
    return buf;
}

/* A detector with the rules file (NULL: the project's) and the database cache dir (NULL:
 * none). */
static struct ks_sqli *detector_in(const char *rules, const char *cache_dir)
{
    struct ks_sqli_config cfg;
    ks_sqli_config_default(&cfg);
    char path[4096];
    const char *src = getenv("KS_SRCDIR");
    snprintf(path, sizeof path, "%s/data/sqli/rules.conf", src ? src : ".");
    cfg.rules_path = rules ? rules : path;
    cfg.db_cache_dir = cache_dir;
    struct ks_sqli *s = NULL;
    assert_int_equal(ks_sqli_new(&cfg, &s), KS_OK);
    return s;
}

static struct ks_sqli *detector(const char *rules)
{
    return detector_in(rules, NULL);
}

static struct ks_sqli *det;

static int setup(void **state)
{
    (void)state;
    det = detector(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ks_sqli_free(det);
    return 0;
}

/* Whether v (GET query value) is an injection; *sigs gets "A,B". */
static int check_m(const char *v, enum ks_sqli_method m, enum ks_sqli_field f, const char *path,
                   char *sigs, size_t cap)
{
    struct ks_sqli_value val = {
        .data = (const uint8_t *)v, .len = strlen(v), .method = m, .field = f, .path = path};
    struct ks_sqli_result r;
    int hit = ks_sqli_check(det, &val, &r);
    if (sigs) {
        size_t o = 0;
        sigs[0] = '\0';
        for (unsigned i = 0; i < r.nhits && o + 1 < cap; i++)
            o += (size_t)snprintf(sigs + o, cap - o, "%s%s", i ? "," : "",
                                  ks_sqli_sig_name(det, r.hits[i].sig));
    }
    return hit;
}

static int check(const char *v)
{
    return check_m(v, KS_SQLI_M_GET, KS_SQLI_F_QUERY, NULL, NULL, 0);
}

static bool has_sig(const char *v, enum ks_sqli_method m, const char *sig)
{
    char sigs[512];
    check_m(v, m, KS_SQLI_F_QUERY, NULL, sigs, sizeof sigs);
    return strstr(sigs, sig) != NULL;
}

/* ---- tables and tokenizer ---- */

static void keyword_tables_are_sorted(void **state)
{
    (void)state;
    assert_true(sqli_tables_sorted());
    assert_non_null(sqli_kw_find((const uint8_t *)"uNiOn", 5));
    assert_null(sqli_kw_find((const uint8_t *)"unions", 6));
    assert_true(sqli_func_known((const uint8_t *)"pg_sleep", 8));
}

static void tokenizer_mysql_comments_and_backticks(void **state)
{
    (void)state;
    assert_string_equal(types("1#c\n2", KS_SQLI_CTX_BARE), "number comment number");
    assert_string_equal(types("a -- x", KS_SQLI_CTX_BARE), "ident comment");
    assert_string_equal(types("`t``x` /* c */", KS_SQLI_CTX_BARE), "qident comment");
    /* the body of a bang comment is code */
    assert_string_equal(types("/*!50000union*/ select", KS_SQLI_CTX_BARE), "keyword keyword");
    assert_string_equal(types("'a\\'b'", KS_SQLI_CTX_BARE), "string");
    assert_string_equal(types("@@version @x", KS_SQLI_CTX_BARE), "var var");
    assert_string_equal(types("a <=> b := 1", KS_SQLI_CTX_BARE),
                        "ident operator ident operator number");
    assert_string_equal(types("6and'1'", KS_SQLI_CTX_BARE), "number keyword string");
}

static void tokenizer_postgresql_dollar_quotes_and_casts(void **state)
{
    (void)state;
    assert_string_equal(types("$$a'b$$", KS_SQLI_CTX_BARE), "string");
    assert_string_equal(types("$tag$x$tag$ || 'y'", KS_SQLI_CTX_BARE), "string operator string");
    assert_string_equal(types("1::text", KS_SQLI_CTX_BARE), "number operator keyword");
    assert_string_equal(types("E'\\n' $1", KS_SQLI_CTX_BARE), "string var");
}

static void tokenizer_mssql_brackets_and_unicode_strings(void **state)
{
    (void)state;
    assert_string_equal(types("[dbo].[users]", KS_SQLI_CTX_BARE), "qident dot qident");
    assert_string_equal(types("N'x''y'", KS_SQLI_CTX_BARE), "string");
    assert_string_equal(types("master..xp_cmdshell", KS_SQLI_CTX_BARE), "ident dot dot ident");
}

static void tokenizer_oracle_q_quotes_and_dollar_names(void **state)
{
    (void)state;
    assert_string_equal(types("q'[it's]'", KS_SQLI_CTX_BARE), "string");
    assert_string_equal(types("rdb$fields v$version", KS_SQLI_CTX_BARE), "ident ident");
}

static void tokenizer_sqlite_and_db2_literals(void **state)
{
    (void)state;
    assert_string_equal(types("X'4142' 0x1F 0b101", KS_SQLI_CTX_BARE), "number number number");
    assert_string_equal(types("1e5 .5 1. 1.5e-3", KS_SQLI_CTX_BARE), "number number number number");
    assert_string_equal(types("3rd 70s", KS_SQLI_CTX_BARE), "ident ident");
    assert_string_equal(types("randomblob(1)", KS_SQLI_CTX_BARE), "function lparen number rparen");
    assert_true(toks[0].flags & KS_SQLI_TF_KNOWN_FUNC);
}

static void tokenizer_quote_context_closes_at_first_quote(void **state)
{
    (void)state;
    assert_string_equal(types("abc' or 1=1", KS_SQLI_CTX_SQUOTE),
                        "string keyword number operator number");
    assert_int_equal(toks[0].len, 4);
    assert_string_equal(types("it''s fine", KS_SQLI_CTX_SQUOTE), "string");
    assert_true(toks[0].flags & KS_SQLI_TF_UNTERMINATED);
    assert_string_equal(types("x\" and \"y", KS_SQLI_CTX_DQUOTE), "string keyword string");
    assert_string_equal(types("col` desc", KS_SQLI_CTX_BACKTICK), "string keyword");
}

static void tokenizer_stops_at_capacity(void **state)
{
    (void)state;
    struct ks_sqli_token t[3];
    size_t rest;
    const char *s = "a b c d e";
    assert_int_equal(ks_sqli_tokenize((const uint8_t *)s, 9, KS_SQLI_CTX_BARE, t, 3, &rest), 3);
    assert_true(rest < 9);
}

/* ---- generic detector per context ---- */

static void bare_context_injections(void **state)
{
    (void)state;
    assert_true(check("1 or 1=1"));
    assert_true(check("-1 union select 1,2,version()--"));
    assert_true(check("1 and sleep(5)"));
    assert_true(check("1;drop table users--"));
    assert_true(check("case when 1=1 then 1 else 0 end"));
}

static void quote_contexts_injections(void **state)
{
    (void)state;
    assert_true(check("x' or 'a'='a"));
    assert_true(check("admin'--"));
    assert_true(check("1\" and \"1\"=\"1"));
    assert_true(check("a` and 1=1 -- "));
    assert_true(check("1%' and 2716=(select count(*) from sysusers)--"));
}

static void paren_and_numeric_contexts_injections(void **state)
{
    (void)state;
    assert_true(check("1) or (1=1"));
    assert_true(check("1')) as x where 1=1 and sleep(5)--"));
    assert_true(check(" ORDER BY 5--"));
    assert_true(check(" UNION ALL SELECT NULL,NULL#"));
    assert_true(check(" AND 1=1 AND 'a'='a"));
}

static void stacked_and_mssql_statements(void **state)
{
    (void)state;
    assert_true(check("1'; waitfor delay '0:0:5'--"));
    assert_true(check("1; exec master..xp_cmdshell 'dir'"));
    assert_true(check("1';declare @s varchar(8000) set @s=cast(0x41 as varchar(8000)) exec(@s)--"));
}

static void benign_prose_with_sql_words_is_not_flagged(void **state)
{
    (void)state;
    assert_false(check("Please select the best option from the list"));
    assert_false(check("10 OR LESS"));
    assert_false(check("1950 or 1960"));
    assert_false(check("Rock 'n' roll and more"));
    assert_false(check("O'Reilly union selected a few friends"));
    assert_false(check("DO OR NOT DO"));
    assert_false(check("WHERE IS GEORGE"));
    assert_false(check("salt and pepper and oil and vinegar"));
    assert_false(check("I'm having true friends"));
    assert_false(check("delete my account; thanks"));
}

static void benign_names_numbers_mails_dates_are_not_flagged(void **state)
{
    (void)state;
    assert_false(check("maria del carmen"));
    assert_false(check("c/ del ferrocarril, 152,"));
    assert_false(check("buffet@aou.com.tn"));
    assert_false(check("2011-12-01"));
    assert_false(check("01/DEC/2011:20:45:25"));
    assert_false(check("+34 91 555 12 12"));
    assert_false(check("3.14"));
    assert_false(check(""));
}

static void span_covers_the_injected_part(void **state)
{
    (void)state;
    const char *v = "abc' or 1=1--";
    struct ks_sqli_value val = {.data = (const uint8_t *)v, .len = strlen(v)};
    struct ks_sqli_result r;
    assert_int_equal(ks_sqli_check(det, &val, &r), 1);
    const struct ks_sqli_hit *h = NULL;
    for (unsigned i = 0; i < r.nhits; i++)
        if (strcmp(ks_sqli_sig_name(det, r.hits[i].sig), "SQL_Injection") == 0)
            h = &r.hits[i];
    assert_non_null(h);
    assert_int_equal(h->start, 4);
    assert_int_equal(h->end, strlen(v));
    assert_int_equal(r.context, KS_SQLI_CTX_SQUOTE);
}

/* ---- named signatures ---- */

static void sig_union_select(void **state)
{
    (void)state;
    assert_true(has_sig("1 UNION/**/ALL+SELECT 1", KS_SQLI_M_GET, "HTTP_GET_SQL_UnionSelect"));
    assert_true(has_sig("1 union(select 1)", KS_SQLI_M_GET, "HTTP_GET_SQL_UnionSelect"));
    assert_false(has_sig("credit union selection", KS_SQLI_M_GET, "HTTP_GET_SQL_UnionSelect"));
    assert_false(has_sig("1 union select 1", KS_SQLI_M_POST, "HTTP_GET_SQL_UnionSelect"));
}

static void sig_group_by_and_convert_int(void **state)
{
    (void)state;
    assert_true(has_sig("' group by x having 1=1--", KS_SQLI_M_GET, "HTTP_GET_GroupBy"));
    assert_false(has_sig("group-bye party", KS_SQLI_M_GET, "HTTP_GET_GroupBy"));
    assert_true(has_sig("1 and 1=convert(int,(select @@version))", KS_SQLI_M_GET,
                        "HTTP_GET_SQL_Convert_Int"));
    assert_false(has_sig("convert(varchar,1)", KS_SQLI_M_GET, "HTTP_GET_SQL_Convert_Int"));
}

static void sig_post_select_count(void **state)
{
    (void)state;
    assert_true(has_sig("1 and (select count(*) from sysobjects)>0", KS_SQLI_M_POST,
                        "HTTP_POST_SQL_Select_Count"));
    assert_false(has_sig("1 and (select count(*) from sysobjects)>0", KS_SQLI_M_GET,
                         "HTTP_POST_SQL_Select_Count"));
    assert_false(
        has_sig("select the count of items", KS_SQLI_M_POST, "HTTP_POST_SQL_Select_Count"));
}

static void sig_1equal1_cast_char(void **state)
{
    (void)state;
    assert_true(has_sig("x' or 1=1--", KS_SQLI_M_GET, "URL_Data_SQL_1equal1"));
    assert_true(has_sig("x' and '1'='1", KS_SQLI_M_GET, "URL_Data_SQL_1equal1"));
    assert_true(has_sig("\") or (\"1\"=\"1", KS_SQLI_M_GET, "URL_Data_SQL_1equal1"));
    assert_false(has_sig("x or 1=10", KS_SQLI_M_GET, "URL_Data_SQL_1equal1"));
    assert_true(has_sig("set @s=cast(0x44 as nvarchar(4000))", KS_SQLI_M_GET,
                        "URL_Data_SQL_Cast_parentheses"));
    assert_false(has_sig("the cast of the film", KS_SQLI_M_GET, "URL_Data_SQL_Cast_parentheses"));
    assert_true(has_sig("char(124)+char(113)", KS_SQLI_M_GET, "URL_Data_SQL_char"));
    assert_true(has_sig("nchar( 65)", KS_SQLI_M_GET, "URL_Data_SQL_char"));
    assert_false(has_sig("char(x)", KS_SQLI_M_GET, "URL_Data_SQL_char"));
}

static void sig_jet_overflow_needs_an_asp_path(void **state)
{
    (void)state;
    char v[400];
    memcpy(v, "1 and name='", 12);
    memset(v + 12, 'A', 300);
    v[312] = '\0';
    char sigs[512];
    check_m(v, KS_SQLI_M_GET, KS_SQLI_F_QUERY, "/shop/item.asp", sigs, sizeof sigs);
    assert_non_null(strstr(sigs, "SQL_Jet_Query_Overflow"));
    check_m(v, KS_SQLI_M_GET, KS_SQLI_F_QUERY, "/shop/item.php", sigs, sizeof sigs);
    assert_null(strstr(sigs, "SQL_Jet_Query_Overflow"));
    v[100] = '\0'; /* short token */
    check_m(v, KS_SQLI_M_GET, KS_SQLI_F_QUERY, "/shop/item.asp", sigs, sizeof sigs);
    assert_null(strstr(sigs, "SQL_Jet_Query_Overflow"));
}

static void sig_executable_transfer_checks_the_pe_header(void **state)
{
    (void)state;
    uint8_t pe[256] = {'M', 'Z'};
    pe[0x3C] = 0x80;
    memcpy(pe + 0x80, "PE\0\0", 4);
    struct ks_sqli_value v = {.data = pe, .len = sizeof pe, .field = KS_SQLI_F_BODY};
    struct ks_sqli_result r;
    assert_int_equal(ks_sqli_check(det, &v, &r), 1);
    assert_string_equal(ks_sqli_sig_name(det, r.hits[0].sig), "HTTP_Executable_Transfer");
    pe[0x81] = 'X'; /* "MZ" alone is not enough */
    assert_int_equal(ks_sqli_check(det, &v, &r), 0);
    pe[0x81] = 'E';
    v.field = KS_SQLI_F_QUERY; /* only in bodies */
    assert_int_equal(ks_sqli_check(det, &v, &r), 0);
}

static void sig_own_additions(void **state)
{
    (void)state;
    assert_true(has_sig("1 and sleep(5)", KS_SQLI_M_GET, "SQL_Time_Delay"));
    assert_false(has_sig("sleep (8 hours)", KS_SQLI_M_GET, "SQL_Time_Delay"));
    assert_true(has_sig("from information_schema.tables", KS_SQLI_M_GET, "SQL_Schema_Enumeration"));
    assert_true(
        has_sig("union select load_file('/etc/passwd')", KS_SQLI_M_GET, "SQL_System_Access"));
    assert_true(
        has_sig("and extractvalue(1,concat(0x7e,version()))", KS_SQLI_M_GET, "SQL_Error_Based"));
}

static void rules_file_errors_are_reported(void **state)
{
    (void)state;
    char path[] = "/tmp/ks_sqli_rulesXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("rule Bad_Rule : (unclosed\n", f);
    fclose(f);
    struct ks_sqli_config cfg;
    ks_sqli_config_default(&cfg);
    cfg.rules_path = path;
    struct ks_sqli *s = NULL;
    assert_int_equal(ks_sqli_new(&cfg, &s), KS_EFORMAT);
    assert_null(s);
    cfg.rules_path = "/nonexistent/rules.conf";
    assert_int_equal(ks_sqli_new(&cfg, &s), KS_EIO);
    remove(path);
}

static void user_rules_extend_the_signatures(void **state)
{
    (void)state;
    char path[] = "/tmp/ks_sqli_rulesXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("# mine\ndefine W [a-z]+\nrule My_Probe field=cookie : \\bprobe_{W}\\b\n", f);
    fclose(f);
    struct ks_sqli_config cfg;
    ks_sqli_config_default(&cfg);
    cfg.rules_path = path;
    struct ks_sqli *s = NULL;
    assert_int_equal(ks_sqli_new(&cfg, &s), KS_OK);
    assert_int_equal(ks_sqli_sig_count(s), 2);
    struct ks_sqli_value v = {
        .data = (const uint8_t *)"x probe_abc", .len = 11, .field = KS_SQLI_F_COOKIE};
    struct ks_sqli_result r;
    assert_int_equal(ks_sqli_check(s, &v, &r), 1);
    assert_string_equal(ks_sqli_sig_name(s, r.hits[0].sig), "My_Probe");
    assert_int_equal(r.hits[0].start, 2);
    v.field = KS_SQLI_F_QUERY;
    assert_int_equal(ks_sqli_check(s, &v, &r), 0);
    ks_sqli_free(s);
    remove(path);
}

/* ---- decoder ---- */

static const char *dec(const char *in, unsigned flags)
{
    static uint8_t out[512];
    size_t n = ks_sqli_decode((const uint8_t *)in, strlen(in), out, sizeof out - 1, flags, NULL);
    out[n] = '\0';
    return (const char *)out;
}

static void decode_percent_plus_and_mixed_case(void **state)
{
    (void)state;
    assert_string_equal(dec("%27%20or%201%3d1", 0), "' or 1=1");
    assert_string_equal(dec("a+b", KS_SQLI_DEC_PLUS), "a b");
    assert_string_equal(dec("a+b", 0), "a+b");
    assert_string_equal(dec("%2F%2f", 0), "//");
}

static void decode_u_escapes_and_fullwidth(void **state)
{
    (void)state;
    assert_string_equal(dec("%u0027", 0), "'");
    assert_string_equal(dec("%uFF07or", 0), "'or"); /* full-width apostrophe, IIS best fit */
    assert_string_equal(dec("%u00e9", 0), "\xc3\xa9");
}

static void decode_double_encoding_only_when_asked(void **state)
{
    (void)state;
    assert_string_equal(dec("%2527", 0), "%27");
    assert_string_equal(dec("%2527", KS_SQLI_DEC_MULTI), "'");
    assert_string_equal(dec("%252527", KS_SQLI_DEC_MULTI), "'");
    assert_string_equal(dec("%25252527", KS_SQLI_DEC_MULTI), "%27"); /* three passes at most */
}

static void decode_overlong_utf8_and_nul(void **state)
{
    (void)state;
    assert_string_equal(dec("%C0%A7", 0), "'");
    assert_string_equal(dec("%e0%80%a7x", 0), "'x");
    assert_string_equal(dec("un%00ion", 0), "union");
    struct ks_sqli_decode_stats st;
    uint8_t out[16];
    ks_sqli_decode((const uint8_t *)"%c0%af%00", 9, out, sizeof out, 0, &st);
    assert_int_equal(st.overlong, 1);
    assert_int_equal(st.nul, 1);
}

static void decode_invalid_percent_is_kept_and_counted(void **state)
{
    (void)state;
    struct ks_sqli_decode_stats st;
    uint8_t out[16];
    size_t n = ks_sqli_decode((const uint8_t *)"%zz%2", 5, out, sizeof out, 0, &st);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "%zz%2", 5);
    assert_int_equal(st.invalid_pct, 2);
    /* a short buffer is never overrun */
    n = ks_sqli_decode((const uint8_t *)"abcdef", 6, out, 3, 0, NULL);
    assert_int_equal(n, 3);
}

/* ---- robustness ---- */

static void binary_garbage_and_deep_nesting_are_handled(void **state)
{
    (void)state;
    uint8_t buf[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    struct ks_sqli_value v = {.data = buf, .len = sizeof buf};
    struct ks_sqli_result r;
    ks_sqli_check(det, &v, &r);
    memset(buf, '(', sizeof buf);
    ks_sqli_check(det, &v, &r);
    struct ks_sqli_stats st;
    ks_sqli_stats(det, &st);
    assert_true(st.values >= 2);
}

/* ---- the developer corpus ---- */

static void corpus_meets_detection_and_false_positive_targets(void **state)
{
    (void)state;
    const char *td = getenv("KS_TESTDATA");
    static const char *const files[] = {"libinjection_sqli.tsv", "httpparams_sqli.tsv",
                                        "payloadlists_sqli.tsv", "httpparams_norm.tsv",
                                        "libinjection_false_positives.tsv"};
    uint64_t pos = 0, neg = 0, tp = 0, fp = 0;
    char *line = malloc(1 << 20);
    uint8_t *val = malloc(1 << 20);
    assert_non_null(line);
    assert_non_null(val);
    int found = 0;
    for (size_t fi = 0; fi < sizeof files / sizeof files[0]; fi++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/sqli/%s", td ? td : "", files[fi]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        found++;
        while (fgets(line, 1 << 20, f)) {
            size_t len = strcspn(line, "\n");
            if (len < 2 || line[1] != '\t')
                continue;
            size_t o = 0;
            for (size_t i = 2; i < len; i++) { /* \\ \t \n \r \xHH */
                if (line[i] == '\\' && i + 1 < len) {
                    char c = line[i + 1];
                    if (c == '\\' || c == 't' || c == 'n' || c == 'r') {
                        val[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : '\\';
                        i++;
                        continue;
                    }
                    if (c == 'x' && i + 3 < len) {
                        char hx[3] = {line[i + 2], line[i + 3], 0};
                        val[o++] = (uint8_t)strtoul(hx, NULL, 16);
                        i += 3;
                        continue;
                    }
                }
                val[o++] = (uint8_t)line[i];
            }
            struct ks_sqli_value v = {
                .data = val, .len = o, .method = KS_SQLI_M_GET, .field = KS_SQLI_F_QUERY};
            struct ks_sqli_result r;
            int hit = ks_sqli_check(det, &v, &r);
            if (line[0] == '1') {
                pos++;
                tp += (uint64_t)hit;
            } else {
                neg++;
                fp += (uint64_t)hit;
            }
        }
        fclose(f);
    }
    free(line);
    free(val);
    if (found < 5)
        skip(); /* the corpus (KS_TESTDATA/sqli) is not here */
    double det_rate = (double)tp / (double)pos, fp_rate = (double)fp / (double)neg;
    printf("# corpus: %llu attacks, detection %.2f%%; %llu benign, false positives %.3f%%\n",
           (unsigned long long)pos, det_rate * 100, (unsigned long long)neg, fp_rate * 100);
    assert_true(det_rate >= 0.98);
    assert_true(fp_rate <= 0.0005);
}

/* ---- speed paths: pre-filter, leading word boundaries, inert values ---- */

static struct ks_sqli *rules_from(const char *text)
{
    char path[] = "/tmp/ks_sqli_rulesXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    struct ks_sqli_config cfg;
    ks_sqli_config_default(&cfg);
    cfg.rules_path = path;
    cfg.no_generic = true;
    struct ks_sqli *s = NULL;
    assert_int_equal(ks_sqli_new(&cfg, &s), KS_OK);
    remove(path);
    return s;
}

static int check_str(struct ks_sqli *s, const char *v, struct ks_sqli_result *r)
{
    struct ks_sqli_value val = {.data = (const uint8_t *)v, .len = strlen(v)};
    return ks_sqli_check(s, &val, r);
}

static void prefilter_skips_values_without_required_literals(void **state)
{
    (void)state;
    struct ks_sqli *s = rules_from("rule A : \\bunion\\s+(?:all\\s+)?select\\b\n"
                                   "rule B : (?:sleep|delay)\\s*\\(\\d\n");
    struct ks_sqli_result r;
    struct ks_sqli_stats st;
    assert_int_equal(check_str(s, "plain words only", &r), 0);
    assert_int_equal(check_str(s, "a union of two", &r), 0);
    ks_sqli_stats(s, &st);
    assert_int_equal(st.scanned, 0);
    assert_int_equal(check_str(s, "1 UNION ALL SELECT 2", &r), 1);
    assert_int_equal(check_str(s, "x DELAY(5", &r), 1);
    ks_sqli_stats(s, &st);
    assert_int_equal(st.scanned, 2);
    ks_sqli_free(s);
}

static void rule_without_literal_turns_the_prefilter_off(void **state)
{
    (void)state;
    struct ks_sqli *s = rules_from("rule A : [0-9]{5}\n");
    struct ks_sqli_result r;
    struct ks_sqli_stats st;
    assert_int_equal(check_str(s, "id 12345", &r), 1);
    assert_int_equal(check_str(s, "nothing", &r), 0);
    ks_sqli_stats(s, &st);
    assert_int_equal(st.scanned, 2);
    ks_sqli_free(s);
}

static void optional_items_are_not_required_literals(void **state)
{
    (void)state;
    /* 'n?' and the optional group must not be taken as required */
    struct ks_sqli *s = rules_from("rule A : n?char(?:set)?\\(\n");
    struct ks_sqli_result r;
    assert_int_equal(check_str(s, "char(", &r), 1);
    assert_int_equal(check_str(s, "NCHAR(", &r), 1);
    assert_int_equal(check_str(s, "charset(", &r), 1);
    ks_sqli_free(s);
}

static void leading_word_boundary_is_checked_at_the_start(void **state)
{
    (void)state;
    struct ks_sqli *s = rules_from("rule A : \\bor\\s+1=1\n");
    struct ks_sqli_result r;
    assert_int_equal(check_str(s, "for 1=1", &r), 0);
    assert_int_equal(check_str(s, "x or 1=1", &r), 1);
    assert_int_equal(r.hits[0].start, 2);
    assert_int_equal(check_str(s, "or 1=1", &r), 1);
    /* the leftmost start fails the boundary, a later one has it */
    assert_int_equal(check_str(s, "xor or 1=1", &r), 1);
    assert_int_equal(r.hits[0].start, 4);
    ks_sqli_free(s);
}

static void path_rules_are_scanned_only_for_matching_paths(void **state)
{
    (void)state;
    struct ks_sqli *s = rules_from("rule J path=.asp : a{8}\nrule K : zz\n");
    struct ks_sqli_result r;
    struct ks_sqli_value v = {.data = (const uint8_t *)"aaaaaaaaa", .len = 9};
    assert_int_equal(ks_sqli_check(s, &v, &r), 0);
    v.path = "/x/index.php";
    assert_int_equal(ks_sqli_check(s, &v, &r), 0);
    v.path = "/x/Default.ASP";
    assert_int_equal(ks_sqli_check(s, &v, &r), 1);
    assert_string_equal(ks_sqli_sig_name(s, r.hits[0].sig), "J");
    ks_sqli_free(s);
}

/* ---- the compiled-database cache ---- */

/* The signatures and span found for one union-select value. */
static void union_select_verdict(struct ks_sqli *s, char *out, size_t cap)
{
    struct ks_sqli_result r;
    assert_int_equal(check_str(s, "1 UNION/**/ALL SELECT name,pass FROM users--", &r), 1);
    size_t o = (size_t)snprintf(out, cap, "%u-%u", r.hits[0].start, r.hits[0].end);
    for (unsigned i = 0; i < r.nhits && o + 1 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, ",%s", ks_sqli_sig_name(s, r.hits[i].sig));
}

static void expect_dbs(struct ks_sqli *s, uint32_t compiled, uint32_t cached)
{
    struct ks_sqli_stats st;
    ks_sqli_stats(s, &st);
    assert_int_equal(st.dbs_compiled, compiled);
    assert_int_equal(st.dbs_cached, cached);
}

/* Overwrites one byte in the middle of every cache file in dir; returns how many. */
static int damage_cache_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4608];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "r+b");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, size / 2, SEEK_SET);
        int c = fgetc(f);
        fseek(f, size / 2, SEEK_SET);
        fputc(c ^ 0x5a, f);
        fclose(f);
        n++;
    }
    closedir(d);
    return n;
}

static void compiled_databases_are_cached_and_checked(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/ks-sqli-cache-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char dir[4200], want[512], got[512];
    snprintf(dir, sizeof dir, "%s/a/b", tmpl); /* created on first use */
    struct ks_sqli *s = detector_in(NULL, dir);
    expect_dbs(s, 2, 0); /* the main and the path database, compiled and stored */
    union_select_verdict(s, want, sizeof want);
    ks_sqli_free(s);

    s = detector_in(NULL, dir);
    expect_dbs(s, 0, 2);
    union_select_verdict(s, got, sizeof got);
    assert_string_equal(got, want);
    ks_sqli_free(s);

    /* damaged files fail their checksum: compiled again and replaced */
    assert_int_equal(damage_cache_files(dir), 2);
    s = detector_in(NULL, dir);
    expect_dbs(s, 2, 0);
    union_select_verdict(s, got, sizeof got);
    assert_string_equal(got, want);
    ks_sqli_free(s);
    s = detector_in(NULL, dir);
    expect_dbs(s, 0, 2);
    ks_sqli_free(s);

    /* a cache that cannot be written is no error */
    char file[4200], below[4300];
    snprintf(file, sizeof file, "%s/plain", tmpl);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(below, sizeof below, "%s/cache", file);
    s = detector_in(NULL, below);
    expect_dbs(s, 2, 0);
    union_select_verdict(s, got, sizeof got);
    assert_string_equal(got, want);
    ks_sqli_free(s);

    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    assert_int_equal(system(cmd), 0);
}

/* Comments between tokens are skipped by the parser but still count where the grammar looks
 * at the token just before the position ("word/ ** /func(" is not "word func("). */
static void comments_between_tokens_do_not_change_the_verdict(void **state)
{
    (void)state;
    assert_int_equal(check("1/**/union/**/select/**/1,2,3--"), 1);
    assert_int_equal(check("1 union select 1,2,3--"), 1);
    assert_int_equal(check("admin'/**/or/**/'1'='1"), 1);
    assert_int_equal(check("x'/*c*/and/*c*/sleep(5)#"), 1);
    assert_int_equal(check("see /* the manual */ for details"), 0);
}

static int check_mf(struct ks_sqli *s, const char *v, enum ks_sqli_method m, enum ks_sqli_field f)
{
    struct ks_sqli_result r;
    struct ks_sqli_value val = {
        .data = (const uint8_t *)v, .len = strlen(v), .method = m, .field = f};
    return ks_sqli_check(s, &val, &r);
}

/* Rules whose method= or field= cannot hold for a value are left out of the database its
 * class is scanned with; the verdicts are those of the whole database. */
static void each_class_of_value_scans_only_the_rules_that_apply(void **state)
{
    (void)state;
    struct ks_sqli *s = rules_from("rule P method=POST : \\bselect\\s+count\\b\n"
                                   "rule B field=body : \\bunion\\s+select\\b\n"
                                   "rule A : \\bsleep\\s*\\(\\d\n");
    struct ks_sqli_stats st;
    ks_sqli_stats(s, &st);
    assert_int_equal(st.dbs_compiled, 1);
    assert_int_equal(check_mf(s, "1 and select count(*)", KS_SQLI_M_GET, KS_SQLI_F_QUERY), 0);
    assert_int_equal(check_mf(s, "1 union select 2", KS_SQLI_M_GET, KS_SQLI_F_QUERY), 0);
    assert_int_equal(check_mf(s, "1 and sleep(5)", KS_SQLI_M_GET, KS_SQLI_F_QUERY), 1);
    ks_sqli_stats(s, &st);
    assert_int_equal(st.dbs_compiled, 2); /* A alone, for GET queries */
    assert_int_equal(check_mf(s, "x sleep(1)", KS_SQLI_M_GET, KS_SQLI_F_COOKIE), 1);
    ks_sqli_stats(s, &st);
    assert_int_equal(st.dbs_compiled, 2); /* GET cookies: the same rules, the same database */
    assert_int_equal(check_mf(s, "1 and select count(*)", KS_SQLI_M_POST, KS_SQLI_F_QUERY), 1);
    assert_int_equal(check_mf(s, "1 union select 2", KS_SQLI_M_POST, KS_SQLI_F_BODY), 1);
    assert_int_equal(check_mf(s, "1 union select 2", KS_SQLI_M_UNKNOWN, KS_SQLI_F_UNKNOWN), 1);
    ks_sqli_stats(s, &st);
    assert_int_equal(st.dbs_compiled, 3); /* + P and A; POST bodies and unknowns use all */
    ks_sqli_free(s);
}

static void word_only_values_are_inert_for_the_generic_detector(void **state)
{
    (void)state;
    static const char *const v[] = {"1union",  "6and",       "information",
                                    "0x1Fand", "abc_def9",   "hello world again",
                                    "1or",     "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct ks_sqli_value val = {.data = (const uint8_t *)v[i], .len = strlen(v[i])};
        struct ks_sqli_result r;
        assert_int_equal(ks_sqli_check(det, &val, &r), 0);
    }
    struct ks_sqli_stats st;
    ks_sqli_stats(det, &st);
    assert_true(st.generic_inert >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keyword_tables_are_sorted),
        cmocka_unit_test(tokenizer_mysql_comments_and_backticks),
        cmocka_unit_test(tokenizer_postgresql_dollar_quotes_and_casts),
        cmocka_unit_test(tokenizer_mssql_brackets_and_unicode_strings),
        cmocka_unit_test(tokenizer_oracle_q_quotes_and_dollar_names),
        cmocka_unit_test(tokenizer_sqlite_and_db2_literals),
        cmocka_unit_test(tokenizer_quote_context_closes_at_first_quote),
        cmocka_unit_test(tokenizer_stops_at_capacity),
        cmocka_unit_test(bare_context_injections),
        cmocka_unit_test(quote_contexts_injections),
        cmocka_unit_test(paren_and_numeric_contexts_injections),
        cmocka_unit_test(stacked_and_mssql_statements),
        cmocka_unit_test(benign_prose_with_sql_words_is_not_flagged),
        cmocka_unit_test(benign_names_numbers_mails_dates_are_not_flagged),
        cmocka_unit_test(span_covers_the_injected_part),
        cmocka_unit_test(sig_union_select),
        cmocka_unit_test(sig_group_by_and_convert_int),
        cmocka_unit_test(sig_post_select_count),
        cmocka_unit_test(sig_1equal1_cast_char),
        cmocka_unit_test(sig_jet_overflow_needs_an_asp_path),
        cmocka_unit_test(sig_executable_transfer_checks_the_pe_header),
        cmocka_unit_test(sig_own_additions),
        cmocka_unit_test(rules_file_errors_are_reported),
        cmocka_unit_test(user_rules_extend_the_signatures),
        cmocka_unit_test(decode_percent_plus_and_mixed_case),
        cmocka_unit_test(decode_u_escapes_and_fullwidth),
        cmocka_unit_test(decode_double_encoding_only_when_asked),
        cmocka_unit_test(decode_overlong_utf8_and_nul),
        cmocka_unit_test(decode_invalid_percent_is_kept_and_counted),
        cmocka_unit_test(binary_garbage_and_deep_nesting_are_handled),
        cmocka_unit_test(prefilter_skips_values_without_required_literals),
        cmocka_unit_test(rule_without_literal_turns_the_prefilter_off),
        cmocka_unit_test(optional_items_are_not_required_literals),
        cmocka_unit_test(leading_word_boundary_is_checked_at_the_start),
        cmocka_unit_test(path_rules_are_scanned_only_for_matching_paths),
        cmocka_unit_test(word_only_values_are_inert_for_the_generic_detector),
        cmocka_unit_test(compiled_databases_are_cached_and_checked),
        cmocka_unit_test(each_class_of_value_scans_only_the_rules_that_apply),
        cmocka_unit_test(comments_between_tokens_do_not_change_the_verdict),
        cmocka_unit_test(corpus_meets_detection_and_false_positive_targets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
