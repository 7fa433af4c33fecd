/* SQL keywords of the MySQL, PostgreSQL, MSSQL, Oracle, SQLite and DB2 dialects that the
 * detector needs to tell apart, and SQL function names. Both tables are sorted (byte order of
 * the upper-case names) for binary search; a unit test checks the order. */
#include <pthread.h>
#include <string.h>

#include "sqli_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

#define C(x) KS_SQLI_KW_##x
#define F_0 0
#define F_FUNC SQLI_KWF_FUNC
#define F_UNARY SQLI_KWF_UNARY
#define F_BARE_ST SQLI_KWF_BARE_ST

static const struct sqli_kw kw_table[] = {
    {"ALL", C(CLAUSE), F_0, KW_ALL},
    {"ALTER", C(STMT), F_0, KW_ALTER},
    {"ANALYZE", C(STMT), F_0, KW_X},
    {"AND", C(LOGIC), F_0, KW_AND},
    {"ANY", C(CLAUSE), F_0, KW_ANY},
    {"ARRAY", C(OTHER), F_0, KW_ARRAY},
    {"AS", C(CLAUSE), F_0, KW_AS},
    {"ASC", C(CLAUSE), F_0, KW_ASC},
    {"ATTACH", C(STMT), F_0, KW_ATTACH},
    {"BACKUP", C(STMT), F_0, KW_BACKUP},
    {"BEGIN", C(STMT), F_0, KW_BEGIN},
    {"BETWEEN", C(OPWORD), F_0, KW_BETWEEN},
    {"BINARY", C(OTHER), F_UNARY, KW_BINARY},
    {"BULK", C(STMT), F_0, KW_BULK},
    {"BY", C(CLAUSE), F_0, KW_BY},
    {"CALL", C(STMT), F_0, KW_CALL},
    {"CASE", C(OTHER), F_0, KW_CASE},
    {"CAST", C(OTHER), F_FUNC, KW_X},
    {"CHAR", C(OTHER), F_FUNC, KW_X},
    {"COLLATE", C(OPWORD), F_0, KW_COLLATE},
    {"COMMENT", C(OTHER), F_0, KW_X},
    {"COMMIT", C(STMT), F_0, KW_X},
    {"CONNECT", C(CLAUSE), F_0, KW_X},
    {"CONSTRAINT", C(OTHER), F_0, KW_X},
    {"CONVERT", C(OTHER), F_FUNC, KW_X},
    {"COPY", C(STMT), F_0, KW_COPY},
    {"CREATE", C(STMT), F_0, KW_CREATE},
    {"CROSS", C(CLAUSE), F_0, KW_CROSS},
    {"CURRENT", C(OTHER), F_0, KW_CURRENT},
    {"CURRENT_DATABASE", C(LITERAL), F_FUNC, KW_X},
    {"CURRENT_DATE", C(LITERAL), F_FUNC, KW_X},
    {"CURRENT_ROLE", C(LITERAL), F_0, KW_X},
    {"CURRENT_SCHEMA", C(LITERAL), F_FUNC, KW_X},
    {"CURRENT_TIME", C(LITERAL), F_FUNC, KW_X},
    {"CURRENT_TIMESTAMP", C(LITERAL), F_FUNC, KW_X},
    {"CURRENT_USER", C(LITERAL), F_FUNC, KW_X},
    {"DATA", C(OTHER), F_0, KW_X},
    {"DATABASE", C(OTHER), F_FUNC, KW_X},
    {"DATABASE_NAME", C(OTHER), F_FUNC, KW_X},
    {"DBCC", C(STMT), F_BARE_ST, KW_DBCC},
    {"DEALLOCATE", C(STMT), F_0, KW_DEALLOCATE},
    {"DECIMAL", C(OTHER), F_FUNC, KW_X},
    {"DECLARE", C(STMT), F_BARE_ST, KW_DECLARE},
    {"DEFAULT", C(LITERAL), F_0, KW_DEFAULT},
    {"DELAY", C(OTHER), F_0, KW_DELAY},
    {"DELETE", C(STMT), F_0, KW_DELETE},
    {"DESC", C(CLAUSE), F_0, KW_DESC},
    {"DESCRIBE", C(STMT), F_0, KW_X},
    {"DISTINCT", C(CLAUSE), F_0, KW_DISTINCT},
    {"DIV", C(OPWORD), F_0, KW_DIV},
    {"DO", C(STMT), F_0, KW_DO},
    {"DROP", C(STMT), F_BARE_ST, KW_DROP},
    {"DUAL", C(OTHER), F_0, KW_DUAL},
    {"DUMPFILE", C(OTHER), F_0, KW_DUMPFILE},
    {"ELSE", C(OTHER), F_0, KW_ELSE},
    {"END", C(OTHER), F_0, KW_END},
    {"ESCAPE", C(OPWORD), F_0, KW_ESCAPE},
    {"EXCEPT", C(CLAUSE), F_0, KW_EXCEPT},
    {"EXEC", C(STMT), F_BARE_ST, KW_EXEC},
    {"EXECUTE", C(STMT), F_BARE_ST, KW_EXECUTE},
    {"EXISTS", C(OTHER), F_0, KW_EXISTS},
    {"EXPLAIN", C(STMT), F_0, KW_EXPLAIN},
    {"EXTERNAL", C(OTHER), F_0, KW_X},
    {"FALSE", C(LITERAL), F_0, KW_FALSE},
    {"FETCH", C(CLAUSE), F_0, KW_FETCH},
    {"FIRST", C(OTHER), F_0, KW_FIRST},
    {"FLOAT", C(OTHER), F_FUNC, KW_X},
    {"FOR", C(CLAUSE), F_0, KW_FOR},
    {"FROM", C(CLAUSE), F_0, KW_FROM},
    {"FULL", C(CLAUSE), F_0, KW_FULL},
    {"FUNCTION", C(OTHER), F_0, KW_X},
    {"GLOB", C(OPWORD), F_0, KW_GLOB},
    {"GOTO", C(STMT), F_0, KW_GOTO},
    {"GRANT", C(STMT), F_0, KW_GRANT},
    {"GROUP", C(CLAUSE), F_0, KW_GROUP},
    {"HANDLER", C(STMT), F_0, KW_HANDLER},
    {"HAVING", C(CLAUSE), F_0, KW_HAVING},
    {"HIGH_PRIORITY", C(OTHER), F_0, KW_X},
    {"IF", C(STMT), F_FUNC, KW_IF},
    {"ILIKE", C(OPWORD), F_0, KW_ILIKE},
    {"IMMEDIATE", C(OTHER), F_0, KW_X},
    {"IN", C(OPWORD), F_0, KW_IN},
    {"INDEX", C(OTHER), F_0, KW_X},
    {"INFILE", C(OTHER), F_0, KW_X},
    {"INNER", C(CLAUSE), F_0, KW_INNER},
    {"INSERT", C(STMT), F_FUNC, KW_INSERT},
    {"INT", C(OTHER), F_0, KW_X},
    {"INTEGER", C(OTHER), F_0, KW_X},
    {"INTERSECT", C(CLAUSE), F_0, KW_INTERSECT},
    {"INTERVAL", C(OTHER), F_0, KW_INTERVAL},
    {"INTO", C(CLAUSE), F_0, KW_INTO},
    {"IS", C(OPWORD), F_0, KW_IS},
    {"JOIN", C(CLAUSE), F_0, KW_JOIN},
    {"KEY", C(OTHER), F_0, KW_X},
    {"KILL", C(STMT), F_0, KW_KILL},
    {"LANGUAGE", C(OTHER), F_0, KW_X},
    {"LAST", C(OTHER), F_0, KW_LAST},
    {"LATERAL", C(OTHER), F_0, KW_LATERAL},
    {"LEFT", C(CLAUSE), F_FUNC, KW_LEFT},
    {"LEVEL", C(LITERAL), F_0, KW_X},
    {"LIKE", C(OPWORD), F_FUNC, KW_LIKE},
    {"LIMIT", C(CLAUSE), F_0, KW_LIMIT},
    {"LISTEN", C(STMT), F_0, KW_X},
    {"LOAD", C(STMT), F_0, KW_LOAD},
    {"LOCALTIME", C(LITERAL), F_FUNC, KW_X},
    {"LOCALTIMESTAMP", C(LITERAL), F_FUNC, KW_X},
    {"LOCK", C(OTHER), F_0, KW_LOCK},
    {"MATCH", C(OPWORD), F_FUNC, KW_MATCH},
    {"MERGE", C(STMT), F_0, KW_MERGE},
    {"MINUS", C(CLAUSE), F_0, KW_MINUS},
    {"MOD", C(OPWORD), F_FUNC, KW_MOD},
    {"MODE", C(OTHER), F_0, KW_MODE},
    {"NATURAL", C(CLAUSE), F_0, KW_NATURAL},
    {"NCHAR", C(OTHER), F_FUNC, KW_X},
    {"NEXT", C(OTHER), F_0, KW_NEXT},
    {"NOT", C(LOGIC), F_UNARY, KW_NOT},
    {"NOTIFY", C(STMT), F_0, KW_X},
    {"NOWAIT", C(OTHER), F_0, KW_X},
    {"NULL", C(LITERAL), F_0, KW_NULL},
    {"NULLS", C(OTHER), F_0, KW_NULLS},
    {"NUMBER", C(OTHER), F_FUNC, KW_X},
    {"NVARCHAR", C(OTHER), F_FUNC, KW_X},
    {"OFFSET", C(CLAUSE), F_0, KW_OFFSET},
    {"ON", C(CLAUSE), F_0, KW_ON},
    {"ONLY", C(OTHER), F_0, KW_ONLY},
    {"OPEN", C(STMT), F_0, KW_OPEN},
    {"OPENQUERY", C(OTHER), F_FUNC, KW_OPENQUERY},
    {"OPTIMIZE", C(STMT), F_0, KW_X},
    {"OR", C(LOGIC), F_0, KW_OR},
    {"ORDER", C(CLAUSE), F_0, KW_ORDER},
    {"OUTER", C(CLAUSE), F_0, KW_OUTER},
    {"OUTFILE", C(OTHER), F_0, KW_OUTFILE},
    {"OUTPUT", C(OTHER), F_0, KW_X},
    {"OVER", C(OTHER), F_0, KW_OVER},
    {"PARTITION", C(OTHER), F_0, KW_PARTITION},
    {"PRAGMA", C(STMT), F_0, KW_PRAGMA},
    {"PREPARE", C(STMT), F_0, KW_PREPARE},
    {"PRIMARY", C(OTHER), F_0, KW_X},
    {"PRINT", C(STMT), F_0, KW_PRINT},
    {"PRIOR", C(OTHER), F_0, KW_X},
    {"PROCEDURE", C(CLAUSE), F_0, KW_PROCEDURE},
    {"PROCEDURE_ANALYSE", C(OTHER), F_FUNC, KW_X},
    {"QUALIFY", C(CLAUSE), F_0, KW_X},
    {"RAISERROR", C(STMT), F_BARE_ST, KW_RAISERROR},
    {"RECONFIGURE", C(STMT), F_BARE_ST, KW_RECONFIGURE},
    {"REFERENCES", C(OTHER), F_0, KW_X},
    {"REGEXP", C(OPWORD), F_0, KW_REGEXP},
    {"REINDEX", C(STMT), F_0, KW_X},
    {"RELEASE", C(STMT), F_0, KW_X},
    {"RENAME", C(STMT), F_0, KW_RENAME},
    {"REPLACE", C(STMT), F_FUNC, KW_REPLACE},
    {"RESTORE", C(STMT), F_0, KW_RESTORE},
    {"RETURN", C(STMT), F_0, KW_RETURN},
    {"RETURNING", C(CLAUSE), F_0, KW_X},
    {"RETURNS", C(OTHER), F_0, KW_X},
    {"REVOKE", C(STMT), F_0, KW_REVOKE},
    {"RIGHT", C(CLAUSE), F_FUNC, KW_RIGHT},
    {"RLIKE", C(OPWORD), F_0, KW_RLIKE},
    {"ROLLBACK", C(STMT), F_0, KW_X},
    {"ROW", C(OTHER), F_FUNC, KW_ROW},
    {"ROWNUM", C(LITERAL), F_0, KW_ROWNUM},
    {"ROWS", C(OTHER), F_0, KW_ROWS},
    {"SAVEPOINT", C(STMT), F_0, KW_X},
    {"SCHEMA", C(OTHER), F_FUNC, KW_X},
    {"SELECT", C(STMT), F_0, KW_SELECT},
    {"SESSION_USER", C(LITERAL), F_FUNC, KW_X},
    {"SET", C(STMT), F_0, KW_SET},
    {"SHARE", C(OTHER), F_0, KW_SHARE},
    {"SHOW", C(STMT), F_0, KW_SHOW},
    {"SHUTDOWN", C(STMT), F_BARE_ST, KW_SHUTDOWN},
    {"SIGNED", C(OTHER), F_0, KW_X},
    {"SIMILAR", C(OPWORD), F_0, KW_SIMILAR},
    {"SOME", C(CLAUSE), F_0, KW_SOME},
    {"SOUNDS", C(OPWORD), F_0, KW_SOUNDS},
    {"SQL_CACHE", C(OTHER), F_0, KW_X},
    {"SQL_CALC_FOUND_ROWS", C(OTHER), F_0, KW_X},
    {"SQL_NO_CACHE", C(OTHER), F_0, KW_X},
    {"START", C(CLAUSE), F_0, KW_X},
    {"STRAIGHT_JOIN", C(CLAUSE), F_0, KW_X},
    {"STRICT", C(OTHER), F_0, KW_X},
    {"SYSDATE", C(LITERAL), F_FUNC, KW_X},
    {"SYSTEM_USER", C(LITERAL), F_FUNC, KW_X},
    {"SYSTIMESTAMP", C(LITERAL), F_0, KW_X},
    {"TABLE", C(OTHER), F_0, KW_TABLE},
    {"TEXT", C(OTHER), F_0, KW_X},
    {"THEN", C(OTHER), F_0, KW_THEN},
    {"TIME", C(OTHER), F_FUNC, KW_TIME},
    {"TO", C(OTHER), F_0, KW_TO},
    {"TOP", C(CLAUSE), F_0, KW_TOP},
    {"TRAN", C(OTHER), F_0, KW_X},
    {"TRANSACTION", C(OTHER), F_0, KW_X},
    {"TRIGGER", C(OTHER), F_0, KW_X},
    {"TRUE", C(LITERAL), F_0, KW_TRUE},
    {"TRUNCATE", C(STMT), F_FUNC, KW_TRUNCATE},
    {"UNION", C(CLAUSE), F_0, KW_UNION},
    {"UNKNOWN", C(LITERAL), F_0, KW_UNKNOWN},
    {"UNSIGNED", C(OTHER), F_0, KW_X},
    {"UPDATE", C(STMT), F_0, KW_UPDATE},
    {"USE", C(STMT), F_0, KW_USE},
    {"USER", C(OTHER), F_FUNC, KW_X},
    {"USING", C(CLAUSE), F_0, KW_USING},
    {"UTC_DATE", C(LITERAL), F_FUNC, KW_X},
    {"UTC_TIME", C(LITERAL), F_FUNC, KW_X},
    {"UTC_TIMESTAMP", C(LITERAL), F_FUNC, KW_X},
    {"VACUUM", C(STMT), F_0, KW_X},
    {"VALUES", C(CLAUSE), F_FUNC, KW_VALUES},
    {"VARCHAR", C(OTHER), F_FUNC, KW_X},
    {"VIEW", C(OTHER), F_0, KW_X},
    {"WAITFOR", C(STMT), F_BARE_ST, KW_WAITFOR},
    {"WHEN", C(OTHER), F_0, KW_WHEN},
    {"WHERE", C(CLAUSE), F_0, KW_WHERE},
    {"WHILE", C(STMT), F_0, KW_WHILE},
    {"WINDOW", C(CLAUSE), F_0, KW_X},
    {"WITH", C(STMT), F_0, KW_WITH},
    {"XML", C(OTHER), F_0, KW_X},
    {"XOR", C(LOGIC), F_0, KW_XOR},
};

/* Function names of the dialects (MySQL, PostgreSQL, MSSQL, Oracle, SQLite, DB2) that appear in
 * queries, and in particular those injections use. */
static const char *const func_table[] = {
    "ABS",
    "ACOS",
    "ADDDATE",
    "AES_DECRYPT",
    "AES_ENCRYPT",
    "ARRAY_AGG",
    "ASCII",
    "ASIN",
    "ATAN",
    "ATAN2",
    "AVG",
    "BENCHMARK",
    "BIN",
    "BIT_AND",
    "BIT_COUNT",
    "BIT_LENGTH",
    "BIT_OR",
    "BIT_XOR",
    "CEIL",
    "CEILING",
    "CHAR",
    "CHARACTER_LENGTH",
    "CHARINDEX",
    "CHARSET",
    "CHAR_LENGTH",
    "CHOOSE",
    "CHR",
    "COALESCE",
    "COERCIBILITY",
    "COLLATION",
    "COLUMNPROPERTY",
    "COL_LENGTH",
    "COL_NAME",
    "COMPRESS",
    "CONCAT",
    "CONCAT_WS",
    "CONNECTION_ID",
    "CONV",
    "CONVERT",
    "CONVERT_TZ",
    "COS",
    "COT",
    "COUNT",
    "CRC32",
    "CRYPT_KEY",
    "CTXSYS",
    "CURDATE",
    "CURRENT_DATABASE",
    "CURRENT_SCHEMA",
    "CURRENT_SETTING",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "CURTIME",
    "DATABASE",
    "DATALENGTH",
    "DATE",
    "DATEADD",
    "DATEDIFF",
    "DATENAME",
    "DATEPART",
    "DATE_FORMAT",
    "DAY",
    "DBMS_LOCK",
    "DBMS_PIPE",
    "DBMS_XMLGEN",
    "DB_ID",
    "DB_NAME",
    "DECODE",
    "DEGREES",
    "DES_DECRYPT",
    "DES_ENCRYPT",
    "DIFFERENCE",
    "ELT",
    "ENCODE",
    "ENCRYPT",
    "EXP",
    "EXPORT_SET",
    "EXTRACT",
    "EXTRACTVALUE",
    "FIELD",
    "FILE_NAME",
    "FIND_IN_SET",
    "FLOOR",
    "FORMAT",
    "FOUND_ROWS",
    "FROM_BASE64",
    "GENERATE_SERIES",
    "GEOMETRYCOLLECTION",
    "GETDATE",
    "GET_HOST_ADDRESS",
    "GET_LOCK",
    "GREATEST",
    "GROUP_CONCAT",
    "GTID_SUBSET",
    "HAS_DBACCESS",
    "HEX",
    "HOST_NAME",
    "HOUR",
    "IF",
    "IFNULL",
    "IIF",
    "INET_ATON",
    "INET_NTOA",
    "INET_SERVER_ADDR",
    "INSERT",
    "INSTR",
    "ISNULL",
    "IS_MEMBER",
    "IS_SRVROLEMEMBER",
    "JSON_EXTRACT",
    "JSON_KEYS",
    "LAST_INSERT_ID",
    "LCASE",
    "LEAST",
    "LEFT",
    "LEN",
    "LENGTH",
    "LIKE",
    "LINESTRING",
    "LN",
    "LOAD_EXTENSION",
    "LOAD_FILE",
    "LOCALTIMESTAMP",
    "LOCATE",
    "LOG",
    "LOG10",
    "LOG2",
    "LOWER",
    "LO_IMPORT",
    "LPAD",
    "LTRIM",
    "MAKE_SET",
    "MAX",
    "MD5",
    "MID",
    "MIN",
    "MINUTE",
    "MOD",
    "MONTH",
    "MULTILINESTRING",
    "MULTIPOINT",
    "MULTIPOLYGON",
    "NAME_CONST",
    "NCHAR",
    "NOW",
    "NULLIF",
    "NVL",
    "NVL2",
    "OBJECT_ID",
    "OBJECT_NAME",
    "OCT",
    "OCTET_LENGTH",
    "OLD_PASSWORD",
    "OPENDATASOURCE",
    "OPENQUERY",
    "OPENROWSET",
    "ORD",
    "PASSWORD",
    "PATINDEX",
    "PG_LS_DIR",
    "PG_READ_FILE",
    "PG_SLEEP",
    "PI",
    "POLYGON",
    "POSITION",
    "POW",
    "POWER",
    "PRINTF",
    "QUARTER",
    "QUOTE",
    "QUOTENAME",
    "RADIANS",
    "RAND",
    "RANDOM",
    "RANDOMBLOB",
    "RAWTOHEX",
    "RECEIVE_MESSAGE",
    "REGEXP_LIKE",
    "REGEXP_REPLACE",
    "REGEXP_SUBSTR",
    "REGEXP_SUBSTRING",
    "RELEASE_LOCK",
    "REPEAT",
    "REPLACE",
    "REPLICATE",
    "REVERSE",
    "RIGHT",
    "ROUND",
    "ROW",
    "ROWNUM",
    "ROW_COUNT",
    "RPAD",
    "RTRIM",
    "SCHEMA",
    "SCHEMA_NAME",
    "SECOND",
    "SEC_TO_TIME",
    "SERVERPROPERTY",
    "SESSION_USER",
    "SHA",
    "SHA1",
    "SHA2",
    "SIGN",
    "SIN",
    "SLEEP",
    "SOUNDEX",
    "SPACE",
    "SP_EXECUTESQL",
    "SP_OACREATE",
    "SP_PASSWORD",
    "SQLITE_VERSION",
    "SQL_VARIANT_PROPERTY",
    "SQRT",
    "STDDEV",
    "STR",
    "STRCMP",
    "STRING_AGG",
    "STUFF",
    "ST_LATFROMGEOHASH",
    "ST_LONGFROMGEOHASH",
    "ST_POINTFROMGEOHASH",
    "SUBSTR",
    "SUBSTRING",
    "SUBSTRING_INDEX",
    "SUM",
    "SUSER_NAME",
    "SUSER_SNAME",
    "SYSDATE",
    "SYSTEM_USER",
    "SYS_CONTEXT",
    "SYS_GUID",
    "TAN",
    "TIME",
    "TIMESTAMP",
    "TOP",
    "TO_BASE64",
    "TO_CHAR",
    "TO_DATE",
    "TO_NUMBER",
    "TRANSLATE",
    "TRIM",
    "TRUNCATE",
    "TYPEOF",
    "UCASE",
    "UNCOMPRESS",
    "UNHEX",
    "UNICODE",
    "UPDATEXML",
    "UPPER",
    "USER",
    "USER_ID",
    "USER_NAME",
    "UTL_HTTP",
    "UTL_INADDR",
    "UUID",
    "VALUES",
    "VERSION",
    "WEEK",
    "XMLAGG",
    "XMLELEMENT",
    "XMLTYPE",
    "XP_CMDSHELL",
    "XP_DIRTREE",
    "XP_REGREAD",
    "YEAR",
    "ZEROBLOB",
};

/* Functions that read system state, files or the network, delay, or raise errors carrying
 * data: what an injection calls and an ordinary value does not mention. */
static const char *const dangerous_table[] = {
    "ASCII",
    "BENCHMARK",
    "CAST",
    "CHAR",
    "CHR",
    "CONCAT",
    "CONCAT_WS",
    "CONVERT",
    "COUNT",
    "CTXSYS",
    "DBMS_LOCK",
    "DBMS_PIPE",
    "DBMS_XMLGEN",
    "ELT",
    "EXP",
    "EXTRACTVALUE",
    "GENERATE_SERIES",
    "GET_HOST_ADDRESS",
    "GET_LOCK",
    "GROUP_CONCAT",
    "GTID_SUBSET",
    "HEX",
    "IF",
    "IIF",
    "LOAD_EXTENSION",
    "LOAD_FILE",
    "LO_IMPORT",
    "MID",
    "NAME_CONST",
    "NCHAR",
    "OPENDATASOURCE",
    "OPENROWSET",
    "ORD",
    "PG_LS_DIR",
    "PG_READ_FILE",
    "PG_SLEEP",
    "RANDOMBLOB",
    "RECEIVE_MESSAGE",
    "SLEEP",
    "SP_EXECUTESQL",
    "SP_OACREATE",
    "SUBSTR",
    "SUBSTRING",
    "SYS_CONTEXT",
    "UNHEX",
    "UPDATEXML",
    "UTL_HTTP",
    "UTL_INADDR",
    "WAITFOR",
    "XP_CMDSHELL",
    "XP_DIRTREE",
    "XP_REGREAD",
};

/* Functions that tell about the server: version() user() database(). */
static const char *const info_table[] = {
    "CONNECTION_ID", "CURRENT_DATABASE", "CURRENT_SCHEMA", "CURRENT_USER",   "DATABASE",
    "DB_NAME",       "FOUND_ROWS",       "HOST_NAME",      "LAST_INSERT_ID", "SCHEMA",
    "SESSION_USER",  "SQLITE_VERSION",   "SUSER_NAME",     "SUSER_SNAME",    "SYSTEM_USER",
    "USER",          "USER_NAME",        "VERSION",
};

/* A hash index over the sorted tables, built once: the tokenizer looks up every word, and a
 * binary search with strcmp was a third of the detector's time. */
#define HBITS 11
#define HSIZE (1u << HBITS)
#define WF_FUNC 0x01u
#define WF_DANGEROUS 0x02u
#define WF_INFO 0x04u

struct slot {
    const char *name; /* upper case; NULL = empty */
    uint64_t k1, k2;  /* the first and the last 8 bytes as upper8() reads them */
    uint8_t len;
    uint8_t flags;
    int16_t kw; /* index in kw_table, -1 if not a keyword */
};

static struct slot htab[HSIZE];
/* Bit len of flt[first][last] is set when some table word has that length and those first
 * and last letters (26 = any other byte): most words of ordinary text are rejected by it
 * before hashing. */
static uint64_t flt[27][27];
static pthread_once_t htab_once = PTHREAD_ONCE_INIT;
static int htab_ready;

/* n <= 8 bytes of w as one number with 'a'..'z' upper-cased (and nothing else changed), the
 * missing bytes zero: a word of up to 16 bytes is then compared with two integer compares.
 * SWAR: a byte b < 0x80 is a lower-case letter when b | 0x80 minus 'a' keeps its top bit and
 * minus '{' loses it. */
static inline uint64_t upper8(const uint8_t *w, size_t n)
{
    const uint64_t hi = 0x8080808080808080ull;
    uint64_t x = 0;
    if (n == 8)
        memcpy(&x, w, 8);
    else
        for (size_t i = 0; i < n; i++)
            x |= (uint64_t)w[i] << (8 * i);
    uint64_t a = x | hi;
    uint64_t lower = (a - 0x6161616161616161ull) & ~(a - 0x7b7b7b7b7b7b7b7bull) & ~x & hi;
    return x - (lower >> 2);
}

static inline uint32_t keys(const uint8_t *w, size_t len, uint64_t *k1, uint64_t *k2)
{
    *k1 = upper8(w, len < 8 ? len : 8);
    *k2 = len > 8 ? upper8(w + len - 8, 8) : 0;
    uint64_t h = (*k1 * 0x9e3779b97f4a7c15ull) ^ (*k2 * 0xc2b2ae3d27d4eb4full) ^ len;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h >> 32);
}

static unsigned letter(uint8_t c)
{
    c = (uint8_t)(c | 0x20);
    return c >= 'a' && c <= 'z' ? (unsigned)(c - 'a') : 26u;
}

static struct slot *slot_for(const char *name)
{
    size_t len = strlen(name);
    if (len < 64)
        flt[letter((uint8_t)name[0])][letter((uint8_t)name[len - 1])] |= 1ull << len;
    uint64_t k1, k2;
    uint32_t i = keys((const uint8_t *)name, len, &k1, &k2) & (HSIZE - 1);
    while (htab[i].name && strcmp(htab[i].name, name) != 0)
        i = (i + 1) & (HSIZE - 1);
    if (!htab[i].name) {
        htab[i].name = name;
        htab[i].k1 = k1;
        htab[i].k2 = k2;
        htab[i].len = (uint8_t)len;
        htab[i].kw = -1;
    }
    return &htab[i];
}

static void htab_build(void)
{
    for (size_t i = 0; i < N_OF(kw_table); i++)
        slot_for(kw_table[i].name)->kw = (int16_t)i;
    for (size_t i = 0; i < N_OF(func_table); i++)
        slot_for(func_table[i])->flags |= WF_FUNC;
    for (size_t i = 0; i < N_OF(dangerous_table); i++)
        slot_for(dangerous_table[i])->flags |= WF_DANGEROUS;
    for (size_t i = 0; i < N_OF(info_table); i++)
        slot_for(info_table[i])->flags |= WF_INFO;
    __atomic_store_n(&htab_ready, 1, __ATOMIC_RELEASE);
}

static const struct slot *lookup(const uint8_t *w, size_t len)
{
    if (len == 0 || len > 40)
        return NULL;
    if (!__atomic_load_n(&htab_ready, __ATOMIC_ACQUIRE))
        pthread_once(&htab_once, htab_build);
    if (!((flt[letter(w[0])][letter(w[len - 1])] >> len) & 1))
        return NULL;
    uint64_t k1, k2;
    uint32_t i = keys(w, len, &k1, &k2) & (HSIZE - 1);
    for (; htab[i].name; i = (i + 1) & (HSIZE - 1)) {
        const struct slot *sl = &htab[i];
        if (sl->len != len || sl->k1 != k1 || sl->k2 != k2)
            continue;
        /* the first and last 8 bytes agree; longer words compare their middle */
        size_t k = 8;
        for (; k + 8 < len; k++) {
            uint8_t c = w[k];
            if (c >= 'a' && c <= 'z')
                c -= 32;
            if (c != (uint8_t)sl->name[k])
                break;
        }
        if (k + 8 >= len)
            return sl;
    }
    return NULL;
}

const struct sqli_kw *sqli_word(const uint8_t *w, size_t len, uint16_t *func_flags)
{
    const struct slot *sl = lookup(w, len);
    uint8_t f = sl ? sl->flags : 0;
    *func_flags = (uint16_t)((f & WF_FUNC ? KS_SQLI_TF_KNOWN_FUNC : 0) |
                             (f & WF_DANGEROUS ? KS_SQLI_TF_DANGEROUS_FUNC : 0) |
                             (f & WF_INFO ? KS_SQLI_TF_INFO_FUNC : 0));
    return sl && sl->kw >= 0 ? &kw_table[sl->kw] : NULL;
}

const struct sqli_kw *sqli_kw_find(const uint8_t *w, size_t len)
{
    const struct slot *sl = lookup(w, len);
    return sl && sl->kw >= 0 ? &kw_table[sl->kw] : NULL;
}

bool sqli_func_known(const uint8_t *w, size_t len)
{
    const struct slot *sl = lookup(w, len);
    return sl && (sl->flags & WF_FUNC);
}

bool sqli_func_dangerous(const uint8_t *w, size_t len)
{
    const struct slot *sl = lookup(w, len);
    return sl && (sl->flags & WF_DANGEROUS);
}

bool sqli_func_info(const uint8_t *w, size_t len)
{
    const struct slot *sl = lookup(w, len);
    return sl && (sl->flags & WF_INFO);
}

static bool sorted(const char *const *tab, size_t n, size_t stride)
{
    for (size_t i = 1; i < n; i++) {
        const char *a = *(const char *const *)((const char *)tab + (i - 1) * stride);
        const char *b = *(const char *const *)((const char *)tab + i * stride);
        if (strcmp(a, b) >= 0)
            return false;
    }
    return true;
}

bool sqli_tables_sorted(void)
{
    return sorted(&kw_table[0].name, N_OF(kw_table), sizeof kw_table[0]) &&
           sorted(func_table, N_OF(func_table), sizeof func_table[0]) &&
           sorted(dangerous_table, N_OF(dangerous_table), sizeof dangerous_table[0]) &&
           sorted(info_table, N_OF(info_table), sizeof info_table[0]);
}
