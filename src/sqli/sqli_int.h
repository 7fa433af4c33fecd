/* Internal interfaces of the sqli module: keyword and function tables, the generic detector,
 * the rules file. */
#ifndef KS_SQLI_INT_H
#define KS_SQLI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kansoku/ks_sqli.h"

/* Keyword ids the detector's grammar refers to; every other keyword is KW_X. */
enum sqli_kw_id {
    KW_X = 0,
    KW_ALL,
    KW_AND,
    KW_ANY,
    KW_AS,
    KW_ASC,
    KW_BEGIN,
    KW_BETWEEN,
    KW_BINARY,
    KW_BY,
    KW_CALL,
    KW_CASE,
    KW_COLLATE,
    KW_CREATE,
    KW_CROSS,
    KW_DECLARE,
    KW_DELAY,
    KW_DELETE,
    KW_DESC,
    KW_DISTINCT,
    KW_DIV,
    KW_DROP,
    KW_ELSE,
    KW_END,
    KW_ESCAPE,
    KW_EXCEPT,
    KW_EXEC,
    KW_EXISTS,
    KW_FALSE,
    KW_FETCH,
    KW_FIRST,
    KW_FOR,
    KW_FROM,
    KW_FULL,
    KW_GROUP,
    KW_HAVING,
    KW_IF,
    KW_ILIKE,
    KW_IN,
    KW_INNER,
    KW_INSERT,
    KW_INTERSECT,
    KW_INTO,
    KW_IS,
    KW_JOIN,
    KW_LEFT,
    KW_LIKE,
    KW_LIMIT,
    KW_MINUS,
    KW_MOD,
    KW_NATURAL,
    KW_NOT,
    KW_NULL,
    KW_OFFSET,
    KW_ON,
    KW_OR,
    KW_ORDER,
    KW_OUTER,
    KW_PROCEDURE,
    KW_REGEXP,
    KW_RIGHT,
    KW_RLIKE,
    KW_ROWS,
    KW_SELECT,
    KW_SET,
    KW_SHUTDOWN,
    KW_SIMILAR,
    KW_SOME,
    KW_SOUNDS,
    KW_TABLE,
    KW_THEN,
    KW_TIME,
    KW_TO,
    KW_TOP,
    KW_TRUE,
    KW_TRUNCATE,
    KW_UNION,
    KW_UNKNOWN,
    KW_UPDATE,
    KW_USING,
    KW_VALUES,
    KW_WAITFOR,
    KW_WHEN,
    KW_WHERE,
    KW_WITH,
    KW_XOR,
    KW_OUTFILE,
    KW_DUMPFILE,
    KW_LOAD,
    KW_GLOB,
    KW_MATCH,
    KW_EXECUTE,
    KW_REPLACE,
    KW_ALTER,
    KW_GRANT,
    KW_USE,
    KW_SHOW,
    KW_DO,
    KW_WHILE,
    KW_PRINT,
    KW_OPEN,
    KW_LOCK,
    KW_SHARE,
    KW_MODE,
    KW_ROWNUM,
    KW_DUAL,
    KW_INTERVAL,
    KW_NEXT,
    KW_ONLY,
    KW_OVER,
    KW_PARTITION,
    KW_LATERAL,
    KW_ARRAY,
    KW_ROW,
    KW_NULLS,
    KW_LAST,
    KW_DEFAULT,
    KW_CURRENT,
    KW_EXPLAIN,
    KW_HANDLER,
    KW_PREPARE,
    KW_DEALLOCATE,
    KW_RETURN,
    KW_GOTO,
    KW_RECONFIGURE,
    KW_BACKUP,
    KW_RESTORE,
    KW_KILL,
    KW_REVOKE,
    KW_DBCC,
    KW_RENAME,
    KW_PRAGMA,
    KW_ATTACH,
    KW_COPY,
    KW_RAISERROR,
    KW_MERGE,
    KW_BULK,
    KW_OPENQUERY,
    KW__COUNT
};

/* Keyword flags. */
#define SQLI_KWF_FUNC 0x01u    /* may also be a function name: LEFT( IF( INSERT( REPLACE( */
#define SQLI_KWF_UNARY 0x02u   /* unary prefix operator: NOT BINARY */
#define SQLI_KWF_BARE_ST 0x04u /* MSSQL-style statement allowed without ';' (WAITFOR EXEC) */

struct sqli_kw {
    const char *name; /* upper case */
    uint8_t cls;      /* enum ks_sqli_kw */
    uint8_t flags;
    uint16_t id; /* enum sqli_kw_id */
};

/* Looks a word up (any case, len < 32) in the sorted keyword table; NULL if absent. */
const struct sqli_kw *sqli_kw_find(const uint8_t *w, size_t len);
/* Both lookups at once: the keyword (or NULL) and whether the word names a SQL function. */
const struct sqli_kw *sqli_word(const uint8_t *w, size_t len, uint16_t *func_flags);
/* Whether a word (any case) is in the sorted table of SQL function names. */
bool sqli_func_known(const uint8_t *w, size_t len);
/* Whether a known function is one attackers use for timing, error or file/system access. */
bool sqli_func_dangerous(const uint8_t *w, size_t len);
/* Whether a function reports server identity: version() user() database() ... */
bool sqli_func_info(const uint8_t *w, size_t len);
/* For tests: are the tables sorted and free of duplicates? */
bool sqli_tables_sorted(void);

/* The generic detector: returns the evidence score of the best context (>= threshold means
 * injection), and fills *ctx, *start and *end with that context and the span decided on. tok
 * is scratch for cap tokens, idx for cap + 1 indices. overflow is set when a context had more
 * tokens than cap; inert when the value was too plain to parse (only words and numbers; the score
 * is then 0). */
int sqli_generic(const uint8_t *s, size_t len, struct ks_sqli_token *tok, uint32_t *idx, size_t cap,
                 int threshold, uint8_t *ctx, uint32_t *start, uint32_t *end, bool *overflow,
                 bool *inert);

/* The compiled-database cache (dbcache.c): the key of a database made of these patterns,
 * loading it (true: *db is ready) and storing it (false: not stored; never an error). */
struct hs_database;
uint64_t sqli_db_key(const char *const *pats, const unsigned *flags, const unsigned *ids,
                     unsigned n);
bool sqli_db_load(const char *dir, uint64_t key, struct hs_database **db);
bool sqli_db_store(const char *dir, uint64_t key, const struct hs_database *db);

#endif
