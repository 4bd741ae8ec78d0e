// A small RAII layer over the SQLite C API for app/storage: prepared statements with typed binds
// and column reads, and SQLite failures turned into gemma::Error values naming the statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "core/status.h"

namespace gemdesk::storage {

// "what: SQLite says <errmsg>"; corrupt_file for SQLITE_CORRUPT / SQLITE_NOTADB, else internal.
gemma::Error sqlite_error(sqlite3 * db, int rc, const std::string & what);

// Runs SQL (one or more statements, no results).
gemma::Status sqlite_exec(sqlite3 * db, const char * sql, const std::string & what);

class Stmt {
public:
    Stmt(sqlite3 * db, const char * sql);  // check ok() / error() before use
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt &) = delete;
    Stmt & operator=(const Stmt &) = delete;

    bool ok() const { return rc_ == SQLITE_OK; }
    gemma::Error error(const std::string & what) const { return sqlite_error(db_, rc_, what); }

    // Binds are 1-based like SQLite's.
    Stmt & bind(int i, int64_t v);
    Stmt & bind(int i, const std::string & v);

    // True while rows come; false at the end or on failure (then check done_ok()).
    bool step();
    bool done_ok() const { return rc_ == SQLITE_DONE || rc_ == SQLITE_ROW || rc_ == SQLITE_OK; }
    // Runs a statement without results.
    gemma::Status run(const std::string & what);

    int64_t col_int(int i) const { return sqlite3_column_int64(stmt_, i); }
    std::string col_text(int i) const;

private:
    sqlite3 * db_;
    sqlite3_stmt * stmt_ = nullptr;
    int rc_;
};

}  // namespace gemdesk::storage
